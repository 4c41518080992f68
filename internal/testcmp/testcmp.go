// Package testcmp compares float32 results for tests: bit for bit, as the fast and the stock
// engines and every split of a pass must agree.
package testcmp

import "math"

// FirstBitDifference returns the first index where a and b differ in bits, 0 when their lengths
// differ, or -1 when they are identical.
func FirstBitDifference(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}
