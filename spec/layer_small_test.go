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
