package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
)

// Normalization maps each pixel intensity x in [0,1] (stored byte / 255) of channel c to
// (x − Mean[c]) / Std[c]. Mean and Std have one value per channel, on the [0,1] scale, as
// torchvision's Normalize takes them (CIFAR-10's are about [0.49, 0.48, 0.45] and
// [0.25, 0.24, 0.26]).
type Normalization struct {
	Mean, Std []float64
}

// ChannelStats returns the mean and the standard deviation (over all pixels of all examples,
// population form: divided by the count) of each channel of s. A channel whose deviation is 0
// gets 1, so that normalising by the result only centres it.
func ChannelStats(s *Set) Normalization {
	sum, sq := make([]float64, s.C), make([]float64, s.C)
	for i, x := range s.Images {
		v := float64(x)
		sum[i%s.C] += v
		sq[i%s.C] += v * v
	}
	n := Normalization{Mean: make([]float64, s.C), Std: make([]float64, s.C)}
	count := float64(len(s.Images) / max(s.C, 1))
	for c := range s.C {
		mean := sum[c] / count
		n.Mean[c] = mean
		n.Std[c] = math.Sqrt(max(0, sq[c]/count-mean*mean))
		if n.Std[c] == 0 {
			n.Std[c] = 1
		}
	}
	return n
}

// Normalize applies n to the training and the test set of d and returns the result, whose
// Checksum is derived from d's and id: id identifies the normalisation for result keys (the spec's
// words for it, such as "per-channel", so that the same spec gives the same key). The Data that
// MNIST shares is copied first; any other d is normalised in place and returned. n must have one
// mean and one positive deviation per channel.
func Normalize(d *Data, n Normalization, id string) (*Data, error) {
	c := d.Train.C
	if len(n.Mean) != c || len(n.Std) != c {
		return nil, fmt.Errorf("dataset: normalisation of %d means and %d deviations for images of %d channels", len(n.Mean), len(n.Std), c)
	}
	for _, s := range n.Std {
		if !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("dataset: normalisation deviation %v; each must be positive and finite", s)
		}
	}
	out := d
	if d.shared {
		cp := *d
		cp.shared = false
		cp.Train, cp.Test = d.Train.copy(), d.Test.copy()
		out = &cp
	}
	scale, shift := make([]float32, c), make([]float32, c)
	for i := range c {
		scale[i] = float32(1 / n.Std[i])
		shift[i] = float32(-n.Mean[i] / n.Std[i])
	}
	for _, s := range []*Set{out.Train, out.Test} {
		for i, x := range s.Images {
			s.Images[i] = x*scale[i%c] + shift[i%c]
		}
	}
	sum := sha256.Sum256([]byte(d.Checksum + "\x00normalize " + id))
	out.Checksum = hex.EncodeToString(sum[:])
	return out, nil
}

// copy returns a deep copy of s.
func (s *Set) copy() *Set {
	cp := *s
	cp.Images = append([]float32(nil), s.Images...)
	cp.Labels = append([]int32(nil), s.Labels...)
	return &cp
}
