package runner

import (
	"math"
	"math/rand/v2"

	"github.com/nnsweep/nnsweep/spec"
)

// augmenter transforms the images of training batches in place as spec.Augment documents:
// a whole-pixel shift, a rotation and a zoom about the image centre drawn per example, bilinear
// sampling, zero outside the image. Its draws come from its own stream of the training seed, in
// example order, so the same spec and seed give the same images whatever the number of jobs or
// cores.
type augmenter struct {
	a       spec.Augmentation
	rng     *rand.Rand
	c, h, w int
	plane   []float32 // one channel's output, reused
}

// newAugmenter returns nil when a is nil: nothing to do.
func newAugmenter(a *spec.Augmentation, seed int64, in spec.Shape) *augmenter {
	if a == nil || a.IsZero() {
		return nil
	}
	return &augmenter{a: *a, rng: rand.New(rand.NewPCG(uint64(seed), 0x6175676d)), // "augm"
		c: in.C, h: in.H, w: in.W, plane: make([]float32, in.H*in.W)}
}

// transform is one example's draw: a shift of (dx, dy) pixels (positive moves the content right
// and down), a rotation by theta radians and a scale.
type transform struct {
	dx, dy       int
	theta, scale float64
}

// draw draws the next example's transformation; only the transformations that are on take draws.
func (g *augmenter) draw() transform {
	t := transform{scale: 1}
	if s := g.a.Shift; s > 0 {
		t.dx = g.rng.IntN(2*s+1) - s
		t.dy = g.rng.IntN(2*s+1) - s
	}
	if r := g.a.Rotate; r > 0 {
		t.theta = (2*g.rng.Float64() - 1) * r * math.Pi / 180
	}
	if z := g.a.Zoom; z > 0 {
		t.scale = 1 + (2*g.rng.Float64()-1)*z
	}
	return t
}

// batch transforms the first rows examples of images, NCHW float32.
func (g *augmenter) batch(images []float32, rows int) {
	size := g.c * g.h * g.w
	for r := range rows {
		t := g.draw()
		for ch := range g.c {
			off := r*size + ch*g.h*g.w
			g.apply(images[off:off+g.h*g.w], t)
		}
	}
}

// apply transforms one channel plane [h, w] in place.
func (g *augmenter) apply(img []float32, t transform) {
	h, w, out := g.h, g.w, g.plane
	if t.theta == 0 && t.scale == 1 {
		for y := range h {
			for x := range w {
				sy, sx := y-t.dy, x-t.dx
				if sy >= 0 && sy < h && sx >= 0 && sx < w {
					out[y*w+x] = img[sy*w+sx]
				} else {
					out[y*w+x] = 0
				}
			}
		}
		copy(img, out)
		return
	}
	cy, cx := float64(h-1)/2, float64(w-1)/2
	cos, sin := math.Cos(t.theta), math.Sin(t.theta)
	at := func(y, x int) float64 {
		if y < 0 || y >= h || x < 0 || x >= w {
			return 0
		}
		return float64(img[y*w+x])
	}
	for y := range h {
		for x := range w {
			// p − c − d, rotated by −θ, divided by the scale, plus c.
			u := (float64(x) - cx - float64(t.dx)) / t.scale
			v := (float64(y) - cy - float64(t.dy)) / t.scale
			qx := cos*u + sin*v + cx
			qy := -sin*u + cos*v + cy
			x0, y0 := math.Floor(qx), math.Floor(qy)
			fx, fy := qx-x0, qy-y0
			ix, iy := int(x0), int(y0)
			top := at(iy, ix)*(1-fx) + at(iy, ix+1)*fx
			bottom := at(iy+1, ix)*(1-fx) + at(iy+1, ix+1)*fx
			out[y*w+x] = float32(top*(1-fy) + bottom*fy)
		}
	}
	copy(img, out)
}
