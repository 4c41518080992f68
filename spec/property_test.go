package spec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomArch is a random valid architecture written as a spec, with the shapes an independent
// layer-by-layer computation expects.
type randomArch struct {
	src    string
	shapes []string // per layer: "HxW" of the output, or "vector"
	points int
	data   *DataInfo
}

// randomWidth returns a width "an+b" (or in m as well) that is at least 1 for every n, m ≥ 1.
func randomWidth(rng *rand.Rand, withM bool) string {
	a, b := rng.IntN(4), rng.IntN(5)
	if a == 0 && b == 0 {
		b = 1
	}
	w := fmt.Sprint(b)
	switch {
	case a == 0:
	case b == 0:
		w = fmt.Sprintf("%dn", a)
	default:
		w = fmt.Sprintf("%dn+%d", a, b)
	}
	if withM && rng.IntN(3) == 0 {
		w = []string{"n m", "(n+1)(m+2)", "2m+" + w, "m*" + w}[rng.IntN(4)]
	}
	if rng.IntN(4) == 0 {
		w = `"` + w + `"`
	}
	return w
}

// outSize is the output length of a window independent of OutputSize: count the window
// positions, or for same padding the strided positions.
func outSize(in, k, stride int, same bool) int {
	n := 0
	for start := 0; start < in; start += stride {
		if same || start+k <= in {
			n++
		}
	}
	return n
}

func randomSpec(rng *rand.Rand) randomArch {
	var a randomArch
	var b strings.Builder
	withM := rng.IntN(3) == 0
	b.WriteString("name: random\ntarget: {min: 0.9}\n")
	h, w, c, classes := 28, 28, 1, 10
	input := ""
	if rng.IntN(4) == 0 {
		h, w, c, classes = 4+rng.IntN(40), 4+rng.IntN(40), 1+rng.IntN(3), 2+rng.IntN(20)
		input = fmt.Sprintf("  input: [%d, %d, %d]\n", h, w, c)
		b.WriteString("dataset: {train: {images: a, labels: b}, test: {images: c, labels: d}}\n")
	} else {
		b.WriteString("dataset: mnist\n")
		a.data = &DataInfo{H: 28, W: 28, C: 1, Classes: 10}
	}
	// The sweep: n always (the layers use it below), m sometimes.
	ns := rng.Perm(64)[:1+rng.IntN(5)]
	for i := range ns {
		ns[i]++
	}
	a.points = len(ns)
	fmt.Fprintf(&b, "sweep:\n  n: %s\n", strings.Join(strings.Fields(fmt.Sprint(ns)), ", "))
	if withM {
		b.WriteString("  m: {from: 1, to: 8, factor: 2}\n")
		a.points *= 4
	}
	b.WriteString("model:\n" + input + "  layers:\n")
	// The widths must use every sweep variable; the last hidden layers make sure they do.
	usesN, usesM := false, !withM
	width := func() string {
		w := randomWidth(rng, withM)
		usesN = usesN || strings.Contains(w, "n")
		usesM = usesM || strings.Contains(w, "m")
		return w
	}
	layer := func(format string, args ...any) {
		b.WriteString("    - " + fmt.Sprintf(format, args...) + "\n")
	}
	for blocks := rng.IntN(5); blocks > 0 && h > 1 && w > 1; blocks-- {
		switch rng.IntN(3) {
		case 0, 1:
			var l string
			l, h, w = randomConv(rng, h, w, width)
			layer("%s", l)
		case 2:
			var l string
			l, h, w = randomPool(rng, h, w)
			layer("%s", l)
		}
		a.shapes = append(a.shapes, fmt.Sprintf("%dx%d", h, w))
		if rng.IntN(4) == 0 {
			layer("dropout: {rate: 0.%d}", 1+rng.IntN(9))
			a.shapes = append(a.shapes, fmt.Sprintf("%dx%d", h, w))
		}
	}
	layer("flatten: {}")
	a.shapes = append(a.shapes, "vector")
	for dense := rng.IntN(3); dense > 0 || !usesN || !usesM; dense-- {
		var units string
		switch {
		case dense <= 0 && !usesN:
			units, usesN = "n", true
		case dense <= 0 && !usesM:
			units, usesM = "m+1", true
		default:
			units = width()
		}
		layer("dense: {units: %s, activation: %s, use_bias: %v}", units, []string{"relu", "tanh", "sigmoid", "linear"}[rng.IntN(4)], rng.IntN(3) > 0)
		a.shapes = append(a.shapes, "vector")
	}
	layer("dense: {units: %d, activation: softmax}", classes)
	a.shapes = append(a.shapes, "vector")
	a.src = b.String()
	_ = c
	return a
}

// randomConv writes a random conv2d layer over an h×w input, its width from width; it returns the
// layer and its output size.
func randomConv(rng *rand.Rand, h, w int, width func() string) (string, int, int) {
	kh, kw := 1+rng.IntN(min(h, 5)), 1+rng.IntN(min(w, 5))
	same := rng.IntN(3) == 0
	if same {
		kh, kw = 1+rng.IntN(5), 1+rng.IntN(5)
	}
	sh, sw := 1+rng.IntN(2), 1+rng.IntN(2)
	kernel := fmt.Sprintf("[%d, %d]", kh, kw)
	if kh == kw && rng.IntN(2) == 0 {
		kernel = fmt.Sprint(kh)
	}
	stride := ""
	if sh != 1 || sw != 1 || rng.IntN(3) == 0 {
		stride = fmt.Sprintf(", stride: [%d, %d]", sh, sw)
	}
	padding := ""
	if same {
		padding = ", padding: same"
	} else if rng.IntN(3) == 0 {
		padding = ", padding: valid"
	}
	l := fmt.Sprintf("conv2d: {filters: %s, kernel: %s%s%s, activation: relu}", width(), kernel, stride, padding)
	return l, outSize(h, kh, sh, same), outSize(w, kw, sw, same)
}

// randomPool writes a random max or average pooling layer over an h×w input; it returns the
// layer and its output size.
func randomPool(rng *rand.Rand, h, w int) (string, int, int) {
	p := 1 + rng.IntN(min(h, w, 3))
	kind := []string{"maxpool2d", "avgpool2d"}[rng.IntN(2)]
	if rng.IntN(2) == 0 {
		return fmt.Sprintf("%s: {pool: %d}", kind, p), outSize(h, p, p, false), outSize(w, p, p, false)
	}
	st := 1 + rng.IntN(2)
	return fmt.Sprintf("%s:\n        pool: %d\n        stride: %d", kind, p, st), outSize(h, p, st, false), outSize(w, p, st, false)
}

// TestRandomArchitectures checks that random valid architectures parse, validate and expand, with
// the output shapes and points an independent computation gives.
func TestRandomArchitectures(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2, 3))
	for i := range 300 {
		a := randomSpec(rng)
		name := fmt.Sprintf("random-%d.yaml", i)
		s, errs := Parse(name, []byte(a.src))
		if len(errs) > 0 {
			t.Fatalf("Parse:\n%s\n%s", errs.Lines(), a.src)
		}
		models, errs := Expand(s, a.data)
		if len(errs) > 0 {
			t.Fatalf("Expand:\n%s\n%s", errs.Lines(), a.src)
		}
		m := models[0]
		var shapes []string
		for _, l := range m.Layers {
			if l.Vector {
				shapes = append(shapes, "vector")
			} else {
				shapes = append(shapes, fmt.Sprintf("%dx%d", l.OutH, l.OutW))
			}
		}
		if got, want := strings.Join(shapes, " "), strings.Join(a.shapes, " "); got != want {
			t.Fatalf("shapes %s, want %s\n%s", got, want, a.src)
		}
		if len(m.Points) != a.points {
			t.Fatalf("%d points, want %d\n%s", len(m.Points), a.points, a.src)
		}
	}
}
