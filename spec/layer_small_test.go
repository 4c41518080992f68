package spec

import (
	"fmt"
	"strings"
	"testing"
)

// TestExpandSmallKinds checks the activation layer (both spellings), swish and leaky_relu, and
// the global pooling kinds: their resolved settings and shapes, and the closed forms of a model
// using them against a count by hand.
func TestExpandSmallKinds(t *testing.T) {
	t.Parallel()
	models := expandSource(t, `
name: small
dataset: mnist
target: {min: 0.97}
sweep: {n: [2, 3]}
model:
  layers:
    - conv2d: {filters: n, kernel: 3, activation: swish}
    - activation: leaky_relu
    - conv2d: {filters: 2n, kernel: 3, stride: 2}
    - activation: {activation: swish, name: act}
    - global_avgpool2d: {}
    - dense: {units: 3n, activation: leaky_relu}
    - dense: {units: 10, activation: softmax}
`, mnist)
	m := models[0]
	var got []string
	for _, l := range m.Layers {
		got = append(got, fmt.Sprintf("%s %s %s %dx%d→%dx%d c=%s→%s vector=%v params=%s macs=%s weights=%d",
			l.Name, l.Kind, l.Activation, l.InH, l.InW, l.OutH, l.OutW, l.InC, l.OutC, l.Vector, l.Params(), l.MACs(), len(l.Weights())))
	}
	want := []string{
		"conv2d_1 conv2d swish 28x28→26x26 c=1→n vector=false params=10n macs=6084n weights=2",
		"activation_1 activation leaky_relu 26x26→26x26 c=n→n vector=false params=0 macs=0 weights=0",
		"conv2d_2 conv2d linear 26x26→12x12 c=n→2n vector=false params=18n² + 2n macs=2592n² weights=2",
		"act activation swish 12x12→12x12 c=2n→2n vector=false params=0 macs=0 weights=0",
		"global_avgpool2d_1 global_avgpool2d linear 12x12→0x0 c=2n→2n vector=true params=0 macs=0 weights=0",
		"dense_1 dense leaky_relu 0x0→0x0 c=2n→3n vector=true params=6n² + 3n macs=6n² weights=2",
		"dense_2 dense softmax 0x0→0x0 c=3n→10 vector=true params=30n + 10 macs=30n weights=2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("layers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The dense layer after the global pooling sees one value per channel: at n=3, 6 inputs.
	if v, ok := m.Layers[5].InC.Eval(map[string]int64{"n": 3}); !ok || v != 6 {
		t.Errorf("dense_1 has %d inputs at n=3, want 6", v)
	}
}

// TestActivationShorthandEqualsMapping checks that "- activation: relu" and
// "- activation: {activation: relu}" resolve alike, and that the max kind resolves as the
// average one.
func TestActivationShorthandEqualsMapping(t *testing.T) {
	t.Parallel()
	resolve := func(act, pool string) ResolvedLayer {
		ms := expandSource(t, "name: a\ndataset: mnist\ntarget: {min: 0.9}\nmodel:\n  layers:\n    - conv2d: {filters: 2, kernel: 3}\n    - activation: "+act+"\n    - "+pool+":\n    - dense: {units: 10}\n", mnist)
		l := ms[0].Layers[1]
		if p := ms[0].Layers[2]; !p.Vector || p.OutC.String() != "2" || p.Kind != LayerKind(pool) {
			t.Errorf("%s: vector %v, %s channels", pool, p.Vector, p.OutC)
		}
		return l
	}
	short, long := resolve("relu", "global_maxpool2d"), resolve("{activation: relu}", "global_avgpool2d")
	if fmt.Sprint(short) != fmt.Sprint(long) || short.Activation != "relu" {
		t.Errorf("shorthand %+v, mapping %+v", short, long)
	}
}

// TestExpandResidual checks residual blocks: inner layers resolved with nested paths and shared
// default names, the projection's stride, the closed forms (inner layers plus projection) and
// the weights (inner layers' in order, then the projection's).
func TestExpandResidual(t *testing.T) {
	t.Parallel()
	models := expandSource(t, `
name: res
dataset: mnist
target: {min: 0.97}
sweep: {n: [2, 3]}
model:
  layers:
    - conv2d: {filters: n, kernel: 3, padding: same}
    - residual:
        layers:
          - conv2d: {filters: n, kernel: 3, padding: same, activation: relu}
    - residual:
        name: down
        project: true
        layers:
          - conv2d: {filters: 2n, kernel: 3, padding: same, stride: 2}
          - residual:
              layers:
                - conv2d: {filters: 2n, kernel: 3, padding: same}
          - maxpool2d: {pool: 2, padding: same}
    - global_maxpool2d: {}
    - residual:
        project: true
        layers:
          - dense: {units: 3n, activation: swish}
    - dense: {units: 10, activation: softmax}
`, mnist)
	m := models[0]
	var got []string
	var walk func(ls []ResolvedLayer, indent string)
	walk = func(ls []ResolvedLayer, indent string) {
		for _, l := range ls {
			var ws []string
			for _, w := range l.Weights() {
				ws = append(ws, w.Name)
			}
			got = append(got, fmt.Sprintf("%s%s %s %s %dx%d→%dx%d c=%s→%s stride=%s params=%s macs=%s weights=%v",
				indent, l.Name, l.Kind, l.Path, l.InH, l.InW, l.OutH, l.OutW, l.InC, l.OutC, l.Stride, l.Params(), l.MACs(), ws))
			walk(l.Layers, indent+"  ")
		}
	}
	walk(m.Layers, "")
	want := []string{
		"conv2d_1 conv2d model.layers[0].conv2d 28x28→28x28 c=1→n stride=1×1 params=10n macs=7056n weights=[kernel bias]",
		"residual_1 residual model.layers[1].residual 28x28→28x28 c=n→n stride=0×0 params=9n² + n macs=7056n² weights=[conv2d_2/kernel conv2d_2/bias]",
		"  conv2d_2 conv2d model.layers[1].residual.layers[0].conv2d 28x28→28x28 c=n→n stride=1×1 params=9n² + n macs=7056n² weights=[kernel bias]",
		// The block halves the size twice (stride 2, then pooling): 28 → 14 → 7, so the
		// projection strides 4 (⌊27/4⌋+1 = 7). Its MACs: conv2d_3's 14·14·9·n·2n = 3528n²,
		// residual_3's 7056n² and the projection's 7·7·n·2n = 98n². A named block still counts
		// for the default names (Keras's counters), so the inner one is residual_3.
		"down residual model.layers[2].residual 28x28→7x7 c=n→2n stride=4×4 params=56n² + 6n macs=10682n² weights=[conv2d_3/kernel conv2d_3/bias residual_3/conv2d_4/kernel residual_3/conv2d_4/bias projection/kernel projection/bias]",
		"  conv2d_3 conv2d model.layers[2].residual.layers[0].conv2d 28x28→14x14 c=n→2n stride=2×2 params=18n² + 2n macs=3528n² weights=[kernel bias]",
		"  residual_3 residual model.layers[2].residual.layers[1].residual 14x14→14x14 c=2n→2n stride=0×0 params=36n² + 2n macs=7056n² weights=[conv2d_4/kernel conv2d_4/bias]",
		"    conv2d_4 conv2d model.layers[2].residual.layers[1].residual.layers[0].conv2d 14x14→14x14 c=2n→2n stride=1×1 params=36n² + 2n macs=7056n² weights=[kernel bias]",
		"  maxpool2d_1 maxpool2d model.layers[2].residual.layers[2].maxpool2d 14x14→7x7 c=2n→2n stride=2×2 params=0 macs=0 weights=[]",
		"global_maxpool2d_1 global_maxpool2d model.layers[3].global_maxpool2d 7x7→0x0 c=2n→2n stride=0×0 params=0 macs=0 weights=[]",
		"residual_4 residual model.layers[4].residual 0x0→0x0 c=2n→3n stride=1×1 params=12n² + 6n macs=12n² weights=[dense_1/kernel dense_1/bias projection/kernel projection/bias]",
		"  dense_1 dense model.layers[4].residual.layers[0].dense 0x0→0x0 c=2n→3n stride=0×0 params=6n² + 3n macs=6n² weights=[kernel bias]",
		"dense_2 dense model.layers[5].dense 0x0→0x0 c=3n→10 stride=0×0 params=30n + 10 macs=30n weights=[kernel bias]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("layers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p, ok := m.Layers[2].Projection()
	if !ok || p.Kind != KindConv2D || p.Stride != (Pair{4, 4}) || p.MACs().String() != "98n²" || p.Params().String() != "2n² + 2n" {
		t.Errorf("projection %v %s stride %s: params %s, MACs %s", ok, p.Kind, p.Stride, p.Params(), p.MACs())
	}
	if _, ok := m.Layers[1].Projection(); ok {
		t.Error("residual_1 has a projection without project: true")
	}
}

func TestProjectionStride(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, out, want int
		ok            bool
	}{
		{28, 28, 1, true}, {28, 14, 2, true}, {7, 4, 2, true}, {28, 7, 4, true}, {5, 1, 5, true}, {1, 1, 1, true},
		{14, 28, 0, false}, {10, 4, 3, true}, {6, 5, 0, false},
	}
	for _, tt := range tests {
		if s, ok := projectionStride(tt.in, tt.out); s != tt.want || ok != tt.ok {
			t.Errorf("projectionStride(%d, %d) = %d, %v; want %d, %v", tt.in, tt.out, s, ok, tt.want, tt.ok)
		}
	}
}
