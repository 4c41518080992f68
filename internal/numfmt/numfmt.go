// Package numfmt writes counts for people: digits in groups of three, and nouns in the singular
// or the plural. It imports only the standard library, so every package may use it.
package numfmt

import (
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
