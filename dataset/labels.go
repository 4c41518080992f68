package dataset

import "fmt"

// labelStats summarises a labels file without keeping it: how many labels it has, how many of
// each value, and where each value first occurs. Labels are bytes, so 256 counters suffice.
type labelStats struct {
	n     int
	count [256]int
	first [256]int // 0-based index of the first label of each value; -1 when it does not occur
}

func newLabelStats() labelStats {
	var s labelStats
	for i := range s.first {
		s.first[i] = -1
	}
	return s
}

// statsOf summarises labels, each in [0, 255].
func statsOf(labels []int32) labelStats {
	s := newLabelStats()
	for _, l := range labels {
		s.addOne(byte(l))
	}
	return s
}

// add counts the labels b, which follow those already counted.
func (s *labelStats) add(b []byte) {
	for _, l := range b {
		s.addOne(l)
	}
}

func (s *labelStats) addOne(l byte) {
	if s.count[l] == 0 {
		s.first[l] = s.n
	}
	s.count[l]++
	s.n++
}

// max returns the largest label, or -1 when there is none.
func (s *labelStats) max() int {
	for v := 255; v >= 0; v-- {
		if s.count[v] > 0 {
			return v
		}
	}
	return -1
}

// gap returns the first run lo..hi of values below the largest label that no label has, or
// -1, -1 when every value up to the largest occurs.
func (s *labelStats) gap() (lo, hi int) {
	top := s.max()
	for v := 0; v < top; v++ {
		if s.count[v] == 0 {
			hi = v
			for hi+1 < top && s.count[hi+1] == 0 {
				hi++
			}
			return v, hi
		}
	}
	return -1, -1
}

// above returns the index of the first label greater than v and how many labels are.
func (s *labelStats) above(v int) (first, count int) {
	first = -1
	for l := v + 1; l < 256; l++ {
		if l < 0 || s.count[l] == 0 {
			continue
		}
		count += s.count[l]
		if first < 0 || s.first[l] < first {
			first = s.first[l]
		}
	}
	return first, count
}

// labelAt returns the label at index i, which must be the first index of some value.
func (s *labelStats) labelAt(i int) int {
	for v, f := range s.first {
		if f == i && s.count[v] > 0 {
			return v
		}
	}
	panic(fmt.Sprintf("dataset: no label value first occurs at index %d", i))
}

// rangeString writes lo..hi, or lo alone when they are equal.
func rangeString(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d..%d", lo, hi)
}
