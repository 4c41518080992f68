package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Set is a labelled set of images.
//
// Images holds pixel intensities in [0,1] (stored byte / 255) as float32, example-major, each
// image in HWC order (row, column, channel): example i occupies Images[i*H*W*C : (i+1)*H*W*C] and
// pixel (y, x, ch) of it is at offset (y*W+x)*C+ch; after Normalize, each intensity x of channel
// ch is (x − Mean[ch]) / Std[ch] instead. Labels[i] is the class of example i, in [0, Classes).
type Set struct {
	Images []float32
	Labels []int32
	// N is the number of examples; H, W and C are the height and width in pixels and the number
	// of channels of every image.
	N, H, W, C int
	// Classes is the number of classes: 10 for MNIST, Fashion-MNIST and CIFAR-10; for IDX files
	// the largest training label plus one, and always at least 2.
	Classes int
}

// ExampleSize is the number of float32 values per example, H*W*C.
func (s *Set) ExampleSize() int { return s.H * s.W * s.C }

// Example returns image i (0-based) as a view into s.Images of ExampleSize values in HWC order.
// The view's capacity ends at the image, so appending to it cannot overwrite image i+1.
// It panics if i is not in [0, N).
func (s *Set) Example(i int) []float32 {
	if i < 0 || i >= s.N {
		panic(fmt.Sprintf("dataset: example index %d out of range [0,%d)", i, s.N))
	}
	size := s.ExampleSize()
	return s.Images[i*size : (i+1)*size : (i+1)*size]
}

// Subset returns the examples [lo, hi) (0-based, hi exclusive) as a view sharing s's memory: no
// pixels are copied, and writes through either are seen by both. It panics unless
// 0 <= lo <= hi <= N.
func (s *Set) Subset(lo, hi int) *Set {
	if lo < 0 || hi < lo || hi > s.N {
		panic(fmt.Sprintf("dataset: Subset bounds [%d,%d) out of range [0,%d]", lo, hi, s.N))
	}
	size := s.ExampleSize()
	return &Set{
		Images:  s.Images[lo*size : hi*size : hi*size],
		Labels:  s.Labels[lo:hi:hi],
		N:       hi - lo,
		H:       s.H,
		W:       s.W,
		C:       s.C,
		Classes: s.Classes,
	}
}

// Split divides s into a training part and a validation part of round(frac*N) examples.
//
// Which examples go where depends only on seed and N: the indices 0..N-1 are shuffled by a
// Fisher–Yates shuffle driven by a PCG generator (math/rand/v2 NewPCG(seed, 0), Uint64 reduced
// modulo the remaining count), the last round(frac*N) shuffled indices form the validation part
// and the others the training part, and each part keeps the examples in their original order.
// The shuffle is written out here rather than taken from rand.Perm, so a Go release cannot change
// it. Both parts are copies: they share no memory with s or with each other, and have s's shape
// and Classes.
//
// frac must be strictly between 0 and 1 and leave at least one example in each part.
func (s *Set) Split(frac float64, seed uint64) (train, val *Set, err error) {
	if !(frac > 0 && frac < 1) {
		return nil, nil, fmt.Errorf("dataset: validation fraction %v must be between 0 and 1, exclusive", frac)
	}
	nVal := int(math.Round(frac * float64(s.N)))
	if nVal < 1 || nVal > s.N-1 {
		return nil, nil, fmt.Errorf("dataset: validation fraction %v of %d examples gives %d validation and %d training examples; each part needs at least 1",
			frac, s.N, nVal, s.N-nVal)
	}
	perm := shuffledIndices(s.N, seed)
	trainIdx, valIdx := perm[:s.N-nVal], perm[s.N-nVal:]
	slices.Sort(trainIdx)
	slices.Sort(valIdx)
	return s.gather(trainIdx), s.gather(valIdx), nil
}

// shuffledIndices returns 0..n-1 in an order determined by seed alone (see Split).
func shuffledIndices(n int, seed uint64) []int {
	pcg := rand.NewPCG(seed, 0)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(pcg.Uint64() % uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	return perm
}

// gather copies the examples at idx, in that order, into a new Set.
func (s *Set) gather(idx []int) *Set {
	size := s.ExampleSize()
	out := &Set{
		Images:  make([]float32, len(idx)*size),
		Labels:  make([]int32, len(idx)),
		N:       len(idx),
		H:       s.H,
		W:       s.W,
		C:       s.C,
		Classes: s.Classes,
	}
	for k, i := range idx {
		copy(out.Images[k*size:(k+1)*size], s.Images[i*size:(i+1)*size])
		out.Labels[k] = s.Labels[i]
	}
	return out
}
