package dataset

import (
	"math"
	"testing"
)

func TestChannelStatsAndNormalize(t *testing.T) {
	t.Parallel()
	// Two 1×2×2 images: channel 0 holds 0, 1, 0.5, 0.5; channel 1 is constant.
	set := func() *Set {
		return &Set{Images: []float32{0, 0.25, 1, 0.25, 0.5, 0.25, 0.5, 0.25}, Labels: []int32{0, 1}, N: 2, H: 1, W: 2, C: 2, Classes: 2}
	}
	st := ChannelStats(set())
	if st.Mean[0] != 0.5 || math.Abs(st.Std[0]-math.Sqrt(0.125)) > 1e-7 || st.Mean[1] != 0.25 || st.Std[1] != 1 {
		t.Errorf("ChannelStats = %+v, want mean [0.5 0.25], std [%v 1]", st, math.Sqrt(0.125))
	}
	d := &Data{Name: "x", Train: set(), Test: set(), Checksum: "c"}
	got, err := Normalize(d, st, "per-channel")
	if err != nil {
		t.Fatal(err)
	}
	if got != d {
		t.Error("a Data of the caller's own was copied")
	}
	want := []float32{-1.4142135, 0, 1.4142135, 0, 0, 0, 0, 0}
	for i, x := range got.Train.Images {
		if math.Abs(float64(x-want[i])) > 1e-6 {
			t.Fatalf("normalised Images = %v, want %v", got.Train.Images, want)
		}
	}
	if got.Checksum == "c" || len(got.Checksum) != 64 {
		t.Errorf("Checksum %q not derived", got.Checksum)
	}
	if _, err := Normalize(&Data{Train: set(), Test: set()}, Normalization{Mean: []float64{0}, Std: []float64{1}}, ""); err == nil {
		t.Error("no error for one mean for two channels")
	}
	if _, err := Normalize(&Data{Train: set(), Test: set()}, Normalization{Mean: []float64{0, 0}, Std: []float64{1, 0}}, ""); err == nil {
		t.Error("no error for a zero deviation")
	}
}

// TestNormalizeCopiesMNIST checks that normalising the shared MNIST leaves it as it was.
func TestNormalizeCopiesMNIST(t *testing.T) {
	t.Parallel()
	m, err := MNIST()
	if err != nil {
		t.Fatal(err)
	}
	before, sum := m.Train.Images[200], m.Checksum
	n, err := Normalize(m, Normalization{Mean: []float64{0.1307}, Std: []float64{0.3081}}, "mean=[0.1307] std=[0.3081]")
	if err != nil {
		t.Fatal(err)
	}
	if n == m || m.Train.Images[200] != before || m.Checksum != sum {
		t.Error("Normalize changed the shared MNIST")
	}
	if want := float32((float64(before) - 0.1307) / 0.3081); math.Abs(float64(n.Train.Images[200]-want)) > 1e-6 {
		t.Errorf("normalised pixel %v, want %v", n.Train.Images[200], want)
	}
}
