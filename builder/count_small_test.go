package builder

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nnsweep/nnsweep/spec"
)

// independentLayers counts layers layer by layer with plain integers from the input h×w×c (vec
// once the data is a vector), as independentCount does, including the activation layer, global
// pooling and residual blocks (inner layers, then a 1×1 projection with bias whose stride makes
// the sizes match). It returns the counts and the shape after the layers.
func independentLayers(ls []spec.ResolvedLayer, vars map[string]int64, h, w, c, vec int64) (params, macs, oh, ow, oc, ovec int64) {
	for _, l := range ls {
		switch l.Kind {
		case spec.KindDense:
			u, _ := l.Width.Poly().Eval(vars)
			params += vec*u + map[bool]int64{true: u}[l.UseBias]
			macs += vec * u
			vec = u
		case spec.KindConv2D:
			f, _ := l.Width.Poly().Eval(vars)
			k := int64(l.Window.H * l.Window.W)
			params += k*c*f + map[bool]int64{true: f}[l.UseBias]
			nh := int64(spec.OutputSize(int(h), l.Window.H, l.Stride.H, l.Padding))
			nw := int64(spec.OutputSize(int(w), l.Window.W, l.Stride.W, l.Padding))
			macs += nh * nw * k * c * f
			h, w, c = nh, nw, f
		case spec.KindMaxPool2D, spec.KindAvgPool2D:
			h = int64(spec.OutputSize(int(h), l.Window.H, l.Stride.H, l.Padding))
			w = int64(spec.OutputSize(int(w), l.Window.W, l.Stride.W, l.Padding))
		case spec.KindFlatten:
			vec = h * w * c
		case spec.KindGlobalAvgPool2D, spec.KindGlobalMaxPool2D:
			vec = c
		case spec.KindResidual:
			p, m, nh, nw, nc, nvec := independentLayers(l.Layers, vars, h, w, c, vec)
			params, macs = params+p, macs+m
			if s, _ := l.Settings.(spec.ResidualSettings); s.Project {
				if nvec != vec || vec != 0 && h == 0 { // a vector block: a dense projection
					params += vec*nvec + nvec
					macs += vec * nvec
				} else {
					params += c*nc + nc
					macs += nh * nw * c * nc
				}
			}
			h, w, c, vec = nh, nw, nc, nvec
		}
		if vec != 0 {
			h, w = 0, 0
		}
	}
	return params, macs, h, w, c, vec
}

// randomResidualSpec writes a random valid architecture over n with residual blocks (identity
// ones of same-padded convolutions, projected ones that may downsample or widen, nested ones),
// activation layers, global pooling or flatten, and vector blocks.
func randomResidualSpec(rng *rand.Rand) string {
	width := func() string { return []string{"n", "2n", "n+1", "3", "2n+1"}[rng.IntN(5)] }
	act := func() string { return []string{"relu", "swish", "leaky_relu", "tanh", "linear"}[rng.IntN(5)] }
	s := "name: random\ndataset: mnist\ntarget: {min: 0.9}\nsweep: {n: [1, 2, 3, 5]}\nmodel:\n  layers:\n"
	s += fmt.Sprintf("    - conv2d: {filters: n, kernel: 3, stride: 2, padding: same, activation: %s}\n", act())
	var block func(indent string, depth int)
	block = func(indent string, depth int) {
		if depth > 0 || rng.IntN(2) == 0 { // identity: every inner conv keeps n channels and the size
			s += indent + "- residual:\n" + indent + "    layers:\n"
			for i := 1 + rng.IntN(2); i > 0; i-- {
				s += fmt.Sprintf("%s      - conv2d: {filters: n, kernel: %d, padding: same, activation: %s, use_bias: %v}\n", indent, 1+rng.IntN(3), act(), rng.IntN(3) > 0)
			}
			if depth < 2 && rng.IntN(2) == 0 {
				block(indent+"      ", depth+1)
			}
			return
		}
		s += indent + "- residual:\n" + indent + "    project: true\n" + indent + "    layers:\n"
		s += fmt.Sprintf("%s      - conv2d: {filters: %s, kernel: 3, stride: %d, padding: same, activation: %s}\n", indent, width(), 1+rng.IntN(2), act())
		if rng.IntN(2) == 0 {
			s += fmt.Sprintf("%s      - activation: %s\n", indent, act())
		}
		s += fmt.Sprintf("%s      - conv2d: {filters: n, kernel: 1}\n", indent)
	}
	for i := 1 + rng.IntN(2); i > 0; i-- {
		block("    ", 0)
	}
	s += []string{"    - global_avgpool2d: {}\n", "    - global_maxpool2d: {}\n", "    - flatten: {}\n"}[rng.IntN(3)]
	if rng.IntN(2) == 0 {
		s += fmt.Sprintf("    - residual:\n        project: %v\n        layers:\n          - dense: {units: %s, activation: %s}\n", true, width(), act())
	}
	return s + "    - dense: {units: 10, activation: softmax}\n"
}

// The closed forms of models with residual blocks and the new kinds equal a layer-by-layer count
// with plain integers, the weights hold as many values, the model's own rows add up to the total
// and each block's inner rows (and projection) add up to the block's.
func TestCountResidualProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(13, 17))
	for i := range 100 {
		src := randomResidualSpec(rng)
		for _, m := range expandSource(t, fmt.Sprintf("random-%d.yaml", i), []byte(src)) {
			c := Count(m)
			for _, p := range m.Points {
				pc, err := c.At(p)
				if err != nil {
					t.Fatal(err)
				}
				params, macs, _, _, _, _ := independentLayers(m.Layers, p.Map(), int64(m.Input.H), int64(m.Input.W), int64(m.Input.C), 0)
				if pc.Params != params || pc.MACs != macs {
					t.Fatalf("spec:\n%s\nat %s: closed form %d params, %d MACs; layer by layer %d, %d", src, p, pc.Params, pc.MACs, params, macs)
				}
				w, err := NewWeights(m, p, 1)
				if err != nil {
					t.Fatal(err)
				}
				if w.Count() != pc.Params {
					t.Fatalf("spec:\n%s\nat %s: weights hold %d values, closed form %d", src, p, w.Count(), pc.Params)
				}
				checkRowSums(t, src, pc.Layers)
			}
		}
	}
}

// checkRowSums checks that rows of each depth under a block add up to the block's parameters.
func checkRowSums(t *testing.T, src string, rows []LayerAt) {
	t.Helper()
	var top int64
	for i, r := range rows {
		if r.Depth == 0 {
			top += r.Params
		}
		if r.Kind != string(spec.KindResidual) {
			continue
		}
		var inner int64
		for _, q := range rows[i+1:] {
			if q.Depth <= r.Depth {
				break
			}
			if q.Depth == r.Depth+1 {
				inner += q.Params
			}
		}
		if inner != r.Params {
			t.Fatalf("spec:\n%s\n%s: inner rows sum to %d, the block has %d", src, r.Name, inner, r.Params)
		}
	}
	var total int64
	for _, r := range rows {
		total += r.Params
	}
	if top > total {
		t.Fatalf("spec:\n%s\nthe model's rows sum to %d, more than all rows' %d", src, top, total)
	}
}
