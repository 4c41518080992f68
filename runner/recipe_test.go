package runner

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/dataset"
	"github.com/nnsweep/nnsweep/internal/graphtest"
	"github.com/nnsweep/nnsweep/internal/spectest"
	"github.com/nnsweep/nnsweep/runner/ops"
	"github.com/nnsweep/nnsweep/spec"
	G "gorgonia.org/gorgonia"
)

// TestLabelSmoothing checks the smoothed targets, and on both engines that the loss is the
// cross-entropy against y·(1−ε) + ε/classes computed here from the log-probabilities, that its
// gradients match central finite differences, and that a padding row adds nothing.
func TestLabelSmoothing(t *testing.T) {
	t.Parallel()
	set := &dataset.Set{N: 3, H: 1, W: 1, C: 5, Classes: 4, Images: make([]float32, 15), Labels: []int32{2, 0, 3}}
	dst := make([]float32, 4*4)
	fillLabels(dst, set, []int{0, 1, 2}, 4, 0.2)
	want := []float32{0.05, 0.05, 0.85, 0.05, 0.85, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.85, 0, 0, 0, 0}
	for i := range want {
		if math.Abs(float64(dst[i]-want[i])) > 1e-7 {
			t.Fatalf("targets %v, want %v", dst, want)
		}
	}
	m, p := spectest.Model(t, "[1, 1, 5]", 4, 2, "{}", "    - flatten: {}\n    - dense: {units: 3n, activation: tanh}\n    - dense: {units: 4, activation: softmax}\n")
	for _, o := range []builder.Ops{ops.Fast{}, ops.Stock{}} {
		t.Run(fmt.Sprintf("%T", o), func(t *testing.T) {
			t.Parallel()
			w, err := builder.NewWeights(m, p, 3)
			if err != nil {
				t.Fatal(err)
			}
			gr, err := builder.Build(m, p, w, 4, true, o)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			graphtest.Fill(gr, rng, 3)
			in := gr.Input.Value().Data().([]float32)
			copy(set.Images, in[:15])
			for i := 15; i < len(in); i++ {
				in[i] = 50 // a padding row of garbage
			}
			fillLabels(gr.Labels.Value().Data().([]float32), set, []int{0, 1, 2}, 4, 0.2)
			vm := G.NewTapeMachine(gr.G, G.BindDualValues(gr.Params...))
			defer vm.Close()
			run := func() float64 {
				vm.Reset()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				return float64(gr.Loss.Value().Data().(float32))
			}
			loss := run()
			logp := gr.LogProbs.Value().Data().([]float32)
			var ref float64
			for r, label := range set.Labels {
				for k := range 4 {
					y := 0.05
					if k == int(label) {
						y = 0.85
					}
					ref -= y * float64(logp[r*4+k])
				}
			}
			ref /= 3
			if math.Abs(loss-ref) > 1e-5*math.Abs(ref) {
				t.Errorf("loss %v, want %v", loss, ref)
			}
			grads := make([][]float32, len(gr.Params))
			for i, n := range gr.Params {
				g, err := n.Grad()
				if err != nil {
					t.Fatal(err)
				}
				grads[i] = slices.Clone(g.Data().([]float32))
			}
			const eps = 1e-2
			for i, vals := range w.Floats() {
				for j := range vals {
					old := vals[j]
					vals[j] = old + eps
					up := run()
					vals[j] = old - eps
					down := run()
					vals[j] = old
					num := (up - down) / (2 * eps)
					if got := float64(grads[i][j]); math.Abs(num-got) > 2e-3+0.05*math.Abs(num) {
						t.Errorf("%s[%d]: gradient %.5f, finite difference %.5f", w.Names[i], j, got, num)
					}
				}
			}
		})
	}
}

// plane returns an h×w image with a few lit pixels, the rest 0.
func testPlane(h, w int) []float32 {
	img := make([]float32, h*w)
	img[2*w+3], img[4*w+1], img[5*w+5] = 1, 0.5, 0.25
	return img
}

// A shift of (dx, dy) moves every pixel by exactly that many pixels, filling with zeros.
func TestAugmentShiftMovesPixels(t *testing.T) {
	t.Parallel()
	const h, w = 7, 8
	g := newAugmenter(&spec.Augmentation{Shift: 3}, 1, spec.Shape{H: h, W: w, C: 1}, 1)
	for _, d := range [][2]int{{2, 0}, {0, -3}, {-1, 2}, {3, 3}} {
		img := testPlane(h, w)
		g.apply(img, transform{dx: d[0], dy: d[1], scale: 1}, make([]float32, h*w))
		src := testPlane(h, w)
		for y := range h {
			for x := range w {
				want := float32(0)
				if sy, sx := y-d[1], x-d[0]; sy >= 0 && sy < h && sx >= 0 && sx < w {
					want = src[sy*w+sx]
				}
				if img[y*w+x] != want {
					t.Fatalf("shift %v: pixel (%d, %d) = %v, want %v", d, x, y, img[y*w+x], want)
				}
			}
		}
	}
	// The lit pixel at (3, 2) lands at (5, 1) after a shift of (2, −1), through the general
	// (interpolating) path too: a rotation of 0 and a scale of 1 sample whole pixels.
	img := testPlane(h, w)
	g.apply(img, transform{dx: 2, dy: -1, theta: 1e-300, scale: 1}, make([]float32, h*w))
	if img[1*w+5] != 1 || img[2*w+3] != 0 {
		t.Errorf("interpolated shift: %v at (5, 1), %v at (3, 2)", img[1*w+5], img[2*w+3])
	}
}

// A rotation by 90° about the centre of a square image maps (x, y) to whole pixels; zoom 2
// enlarges about the centre.
func TestAugmentRotateZoom(t *testing.T) {
	t.Parallel()
	const n = 5
	g := newAugmenter(&spec.Augmentation{Rotate: 90}, 1, spec.Shape{H: n, W: n, C: 1}, 1)
	img := make([]float32, n*n)
	img[0*n+3] = 1 // (x 3, y 0), offset (1, −2) from the centre (2, 2)
	g.apply(img, transform{theta: math.Pi / 2, scale: 1}, make([]float32, n*n))
	// The output at p samples c + R(−θ)(p − c): the source offset (1, −2) is reached from the
	// output offset (u, v) with cos·u + sin·v = 1 and −sin·u + cos·v = −2, so (u, v) = (2, 1).
	for i, v := range img {
		want := float32(0)
		if i == 3*n+4 {
			want = 1
		}
		if math.Abs(float64(v-want)) > 1e-6 {
			t.Fatalf("rotated image %v: want the pixel at (4, 3)", img)
		}
	}
	img = make([]float32, n*n)
	img[2*n+3] = 1 // one right of the centre
	g.apply(img, transform{scale: 2}, make([]float32, n*n))
	// Scale 2: output (4, 2) samples offset 2/2 = 1: the lit pixel; (3, 2) samples 0.5, half lit.
	if img[2*n+4] != 1 || img[2*n+3] != 0.5 || img[2*n+2] != 0 {
		t.Errorf("zoomed row %v", img[2*n:3*n])
	}
}

// The same seed draws the same transformations, whatever the number of cores; another seed
// draws others, and the draws vary between examples.
func TestAugmentDeterministic(t *testing.T) {
	data := &dataset.Data{Name: "blobs", Train: blobs(64, 1), Test: blobs(16, 2)}
	m := resolvedModel(t, "{epochs: 1, batch_size: 16, augment: {shift: 1, rotate: 15, zoom: 0.1}}", mlp)
	// images returns the batches as the graph saw them and, row by row, the plain examples.
	images := func(procs int, seed int64, m spec.ResolvedModel) (seen, plain []float32) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m.Train.Seed = seed
		all := ImagesNCHW(data.Train)
		_, err := Train(context.Background(), m, m.Points[0], data, Options{RecordSteps: 100, OnStep: func(s Step) error {
			seen = append(seen, s.Images...)
			for _, i := range s.Indices {
				plain = append(plain, all[i*16:(i+1)*16]...)
			}
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		return seen, plain
	}
	one, plain := images(1, 1, m)
	two, _ := images(2, 1, m)
	if len(one) != 64*16 || !slices.Equal(one, two) {
		t.Fatalf("the augmented batches differ between 1 and 2 cores (%d and %d values)", len(one), len(two))
	}
	if other, _ := images(2, 2, m); slices.Equal(one, other) {
		t.Error("seeds 1 and 2 augment alike")
	}
	changed := 0
	for i := range 64 {
		if !slices.Equal(one[i*16:(i+1)*16], plain[i*16:(i+1)*16]) {
			changed++
		}
	}
	if changed < 60 {
		t.Errorf("only %d of 64 training rows were transformed", changed)
	}
	none := m
	none.Train.Augment = nil
	if seen, plain := images(2, 1, none); !slices.Equal(seen, plain) {
		t.Error("without augment the batches are not the plain examples")
	}
	g := newAugmenter(m.Train.Augment, 1, m.Input, 16)
	a, b := g.draw(), g.draw()
	if a == b {
		t.Errorf("two examples drew the same transformation %+v", a)
	}
}
