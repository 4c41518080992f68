package dataset

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// numberedSet returns a set of n examples of h×w×c in which every value of example i is i and
// its label is i mod classes, so an example's origin can be read off any copy of it.
func numberedSet(n, h, w, c, classes int) *Set {
	s := &Set{Images: make([]float32, n*h*w*c), Labels: make([]int32, n), N: n, H: h, W: w, C: c, Classes: classes}
	for i := range n {
		for k := range h * w * c {
			s.Images[i*h*w*c+k] = float32(i)
		}
		s.Labels[i] = int32(i % classes)
	}
	return s
}

// origins returns the example number each example of s came from, checking that its values
// agree.
func origins(t *testing.T, s *Set) []int {
	t.Helper()
	if len(s.Images) != s.N*s.ExampleSize() || len(s.Labels) != s.N {
		t.Fatalf("len(Images), len(Labels) = %d, %d for N = %d of size %d", len(s.Images), len(s.Labels), s.N, s.ExampleSize())
	}
	out := make([]int, s.N)
	for i := range s.N {
		img := s.Example(i)
		out[i] = int(img[0])
		for _, v := range img {
			if v != img[0] {
				t.Fatalf("example %d mixes values of examples %v and %v", i, img[0], v)
			}
		}
		if int(s.Labels[i]) != out[i]%s.Classes {
			t.Fatalf("example %d (from %d) has label %d, want %d", i, out[i], s.Labels[i], out[i]%s.Classes)
		}
	}
	return out
}

func TestExample(t *testing.T) {
	t.Parallel()
	s := numberedSet(5, 2, 3, 2, 3)
	for i := range 5 {
		img := s.Example(i)
		if len(img) != 12 || cap(img) != 12 || img[0] != float32(i) || img[11] != float32(i) {
			t.Errorf("Example(%d): len %d cap %d values %v…%v", i, len(img), cap(img), img[0], img[len(img)-1])
		}
	}
}

func TestSubset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		lo, hi int
	}{
		{"all", 0, 10},
		{"middle", 3, 7},
		{"first", 0, 1},
		{"last", 9, 10},
		{"empty", 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := numberedSet(10, 2, 2, 1, 4)
			sub := s.Subset(tt.lo, tt.hi)
			if sub.N != tt.hi-tt.lo || sub.H != 2 || sub.W != 2 || sub.C != 1 || sub.Classes != 4 {
				t.Fatalf("Subset = N %d H %d W %d C %d Classes %d", sub.N, sub.H, sub.W, sub.C, sub.Classes)
			}
			want := make([]int, 0, sub.N)
			for i := tt.lo; i < tt.hi; i++ {
				want = append(want, i)
			}
			if got := origins(t, sub); !slices.Equal(got, want) {
				t.Errorf("examples %v, want %v", got, want)
			}
			if sub.N == 0 {
				return
			}
			// A view: writes show through, and appends cannot reach past hi.
			sub.Images[0] = -1
			if s.Images[tt.lo*4] != -1 {
				t.Error("Subset copied the images; want a view")
			}
			if cap(sub.Images) != sub.N*4 || cap(sub.Labels) != sub.N {
				t.Errorf("cap(Images), cap(Labels) = %d, %d; want %d, %d", cap(sub.Images), cap(sub.Labels), sub.N*4, sub.N)
			}
		})
	}
}

func TestIndexPanics(t *testing.T) {
	t.Parallel()
	s := numberedSet(3, 1, 1, 1, 2)
	tests := []struct {
		name string
		call func()
		want string
	}{
		{"example -1", func() { s.Example(-1) }, "dataset: example index -1 out of range [0,3)"},
		{"example N", func() { s.Example(3) }, "dataset: example index 3 out of range [0,3)"},
		{"subset reversed", func() { s.Subset(2, 1) }, "dataset: Subset bounds [2,1) out of range [0,3]"},
		{"subset past end", func() { s.Subset(0, 4) }, "dataset: Subset bounds [0,4) out of range [0,3]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if got := fmt.Sprint(recover()); got != tt.want {
					t.Errorf("panic %q, want %q", got, tt.want)
				}
			}()
			tt.call()
		})
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		n          int
		frac       float64
		seed       uint64
		trainN     int
		valN       int
		wantErrSub string
	}{
		{name: "tenth", n: 100, frac: 0.1, seed: 1, trainN: 90, valN: 10},
		{name: "rounds half up", n: 25, frac: 0.1, seed: 2, trainN: 22, valN: 3},
		{name: "rounds down", n: 24, frac: 0.1, seed: 2, trainN: 22, valN: 2},
		{name: "one each", n: 2, frac: 0.5, seed: 3, trainN: 1, valN: 1},
		{name: "mnist sized", n: 60000, frac: 1.0 / 12, seed: 42, trainN: 55000, valN: 5000},
		{name: "zero", n: 10, frac: 0, wantErrSub: "dataset: validation fraction 0 must be between 0 and 1, exclusive"},
		{name: "one", n: 10, frac: 1, wantErrSub: "dataset: validation fraction 1 must be between 0 and 1, exclusive"},
		{name: "negative", n: 10, frac: -0.2, wantErrSub: "must be between 0 and 1"},
		{name: "NaN", n: 10, frac: math.NaN(), wantErrSub: "dataset: validation fraction NaN must be between 0 and 1, exclusive"},
		{name: "rounds to no validation", n: 10, frac: 0.04, wantErrSub: "dataset: validation fraction 0.04 of 10 examples gives 0 validation and 10 training examples; each part needs at least 1"},
		{name: "rounds to no training", n: 10, frac: 0.96, wantErrSub: "gives 10 validation and 0 training examples"},
		{name: "one example", n: 1, frac: 0.5, wantErrSub: "each part needs at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := numberedSet(tt.n, 2, 1, 1, 7)
			train, val, err := s.Split(tt.frac, tt.seed)
			if tt.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErrSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if train.N != tt.trainN || val.N != tt.valN {
				t.Fatalf("train, val N = %d, %d; want %d, %d", train.N, val.N, tt.trainN, tt.valN)
			}
			for _, part := range []*Set{train, val} {
				if part.H != 2 || part.W != 1 || part.C != 1 || part.Classes != 7 {
					t.Errorf("part shape %d×%d×%d classes %d", part.H, part.W, part.C, part.Classes)
				}
			}
			trainFrom, valFrom := origins(t, train), origins(t, val)
			if !slices.IsSorted(trainFrom) || !slices.IsSorted(valFrom) {
				t.Error("parts are not in the original order")
			}
			all := slices.Sorted(slices.Values(append(slices.Clone(trainFrom), valFrom...)))
			for i, v := range all {
				if v != i {
					t.Fatalf("train ∪ val is not a partition of 0..%d: %v", tt.n-1, all)
				}
			}
			// Copies, not views.
			train.Images[0], val.Images[0] = -1, -1
			if slices.Contains(s.Images, -1) {
				t.Error("Split's parts share memory with the original")
			}
			// Deterministic.
			train2, val2, _ := s.Split(tt.frac, tt.seed)
			if !slices.Equal(origins(t, train2), trainFrom) || !slices.Equal(origins(t, val2), valFrom) {
				t.Error("the same seed gave a different split")
			}
		})
	}
}

func TestSplitSeeds(t *testing.T) {
	t.Parallel()
	s := numberedSet(1000, 1, 1, 1, 10)
	_, a, _ := s.Split(0.1, 1)
	_, b, _ := s.Split(0.1, 2)
	if slices.Equal(origins(t, a), origins(t, b)) {
		t.Error("seeds 1 and 2 gave the same validation set")
	}
}

// TestShuffledIndicesGolden pins the shuffle, so that the validation sets behind stored results
// cannot change silently.
func TestShuffledIndicesGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		seed uint64
		want []int
	}{
		{n: 0, seed: 1, want: []int{}},
		{n: 1, seed: 1, want: []int{0}},
		{n: 10, seed: 1, want: []int{0, 9, 6, 5, 4, 7, 3, 2, 8, 1}},
		{n: 10, seed: 2, want: []int{5, 3, 1, 4, 6, 7, 8, 2, 0, 9}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d seed=%d", tt.n, tt.seed), func(t *testing.T) {
			t.Parallel()
			if got := shuffledIndices(tt.n, tt.seed); !slices.Equal(got, tt.want) {
				t.Errorf("shuffledIndices(%d, %d) = %#v, want %#v", tt.n, tt.seed, got, tt.want)
			}
		})
	}
}
