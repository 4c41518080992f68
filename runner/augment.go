package runner

import (
	"math"
	"math/rand/v2"

	"github.com/nnsweep/nnsweep/runner/kernels"
	"github.com/nnsweep/nnsweep/spec"
)

// augmenter transforms the images of training batches in place as spec.Augment documents:
// a whole-pixel shift, a rotation and a zoom about the image centre drawn per example, bilinear
// sampling, zero outside the image. Its draws come from its own stream of the training seed, all
// of a batch's drawn in example order before any image is transformed, so the same spec and seed
// give the same images whatever the number of jobs or cores. The transformations run in chunks
// of examples on both cores when that is measured faster (kernels.Pass); each example is
// transformed the same way whichever goroutine does it.
type augmenter struct {
	a       spec.Augmentation
	rng     *rand.Rand
	c, h, w int
	planes  [2][]float32 // one channel's output, per Pass slot

	draws  []transform // the current batch's transformations, one per example
	images []float32   // the current batch, NCHW
	task   *kernels.Pass
}

// newAugmenter returns nil when a is nil: nothing to do. batch is the most examples a batch has.
func newAugmenter(a *spec.Augmentation, seed int64, in spec.Shape, batch int) *augmenter {
	if a == nil || a.IsZero() {
		return nil
	}
	g := &augmenter{a: *a, rng: rand.New(rand.NewPCG(uint64(seed), 0x6175676d)), // "augm"
		c: in.C, h: in.H, w: in.W, draws: make([]transform, 0, batch)}
	for i := range g.planes {
		g.planes[i] = make([]float32, in.H*in.W)
	}
	g.task = kernels.NewPass(g.chunk, batch)
	return g
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
	g.draws = g.draws[:0]
	for range rows {
		g.draws = append(g.draws, g.draw())
	}
	g.images = images
	g.task.Run(rows > 1)
	g.images = nil
}

// chunk transforms chunk c of chunks of the current batch's examples on slot's scratch.
func (g *augmenter) chunk(c, chunks, slot int) {
	lo, hi := kernels.ChunkRange(len(g.draws), c, chunks)
	size, plane := g.c*g.h*g.w, g.h*g.w
	for r := lo; r < hi; r++ {
		for ch := range g.c {
			off := r*size + ch*plane
			g.apply(g.images[off:off+plane], g.draws[r], g.planes[slot])
		}
	}
}

// apply transforms one channel plane [h, w] in place, through out (h·w floats of scratch).
func (g *augmenter) apply(img []float32, t transform, out []float32) {
	h, w := g.h, g.w
	if t.theta == 0 && t.scale == 1 {
		for y := range h {
			row := out[y*w : (y+1)*w]
			sy := y - t.dy
			if sy < 0 || sy >= h {
				clear(row)
				continue
			}
			src := img[sy*w : (sy+1)*w]
			for x := range row {
				if sx := x - t.dx; sx >= 0 && sx < w {
					row[x] = src[sx]
				} else {
					row[x] = 0
				}
			}
		}
		copy(img, out)
		return
	}
	cy, cx := float64(h-1)/2, float64(w-1)/2
	cos, sin := math.Cos(t.theta)/t.scale, math.Sin(t.theta)/t.scale
	at := func(y, x int) float64 {
		if uint(y) >= uint(h) || uint(x) >= uint(w) {
			return 0
		}
		return float64(img[y*w+x])
	}
	fw, fh := float64(w), float64(h)
	for y := range h {
		// The output pixel p samples c + R(−θ)·(p − c − d)/s (cos and sin hold the 1/s); along a
		// row the source moves by (cos, −sin) per pixel.
		u := -cx - float64(t.dx)
		v := float64(y) - cy - float64(t.dy)
		qx, qy := cos*u+sin*v+cx, -sin*u+cos*v+cy
		row := out[y*w : (y+1)*w]
		for x := range row {
			if x > 0 {
				qx += cos
				qy -= sin
			}
			if qx <= -1 || qy <= -1 || qx >= fw || qy >= fh {
				row[x] = 0
				continue
			}
			ix, iy := int(qx+1)-1, int(qy+1)-1 // floor: qx+1 and qy+1 are positive
			fx, fy := qx-float64(ix), qy-float64(iy)
			if ix >= 0 && iy >= 0 && ix+1 < w && iy+1 < h { // inside: no bounds to check
				q := img[iy*w+ix : iy*w+ix+w+2]
				top := float64(q[0]) + (float64(q[1])-float64(q[0]))*fx
				bottom := float64(q[w]) + (float64(q[w+1])-float64(q[w]))*fx
				row[x] = float32(top + (bottom-top)*fy)
				continue
			}
			top := at(iy, ix)*(1-fx) + at(iy, ix+1)*fx
			bottom := at(iy+1, ix)*(1-fx) + at(iy+1, ix+1)*fx
			row[x] = float32(top*(1-fy) + bottom*fy)
		}
	}
	copy(img, out)
}
