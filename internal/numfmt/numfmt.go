// Package numfmt writes counts for people: digits in groups of three, nouns in the singular or
// the plural, and how many times smaller one count is than another. It imports only the standard library, so every package may use it.
package numfmt

import (
	"math"
	"strconv"
	"strings"
)

// GroupDigits writes n in decimal with a comma between groups of three digits: 75242 → "75,242",
// -1234 → "-1,234".
func GroupDigits[I ~int | ~int64](n I) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Plural writes n and the noun that agrees with it: "1 label", "3 labels" for
// Plural(n, "label", "labels").
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// SizeRatio writes how many times larger one count is than another, for "times smaller" columns
// and remarks: a whole number from 10 up (80.7 → "81"), one decimal below with a zero decimal
// dropped (2.54 → "2.5", 1.0 → "1"); halves round away from zero (2.25 → "2.3").
func SizeRatio(r float64) string {
	if r >= 10 {
		return strconv.FormatFloat(math.Round(r), 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(r*10)/10, 'f', -1, 64)
}

// TimesSmaller writes how many times smaller params is than largest, as SizeRatio does, with a
// "×": "81×", "2.5×", "1×" for the largest itself; "—" when either count is not positive. Reports
// use it.
func TimesSmaller(largest, params int64) string { return timesSmaller(largest, params, false) }

// TimesSmallerFixed is TimesSmaller with the decimal of a ratio below 10 always written, "1.0×"
// for the largest itself, so that a column of them lines up; it rounds as fmt's %.0f and %.1f do,
// to the nearest of the exact ratio with halves to even (2.25 → "2.2×"). The params tables use it.
func TimesSmallerFixed(largest, params int64) string { return timesSmaller(largest, params, true) }

// timesSmaller is TimesSmaller, or TimesSmallerFixed when fixed is set.
func timesSmaller(largest, params int64, fixed bool) string {
	if largest <= 0 || params <= 0 {
		return "—"
	}
	r := float64(largest) / float64(params)
	if !fixed {
		return SizeRatio(r) + "×"
	}
	decimals := 1
	if r >= 10 {
		decimals = 0
	}
	return strconv.FormatFloat(r, 'f', decimals, 64) + "×"
}
