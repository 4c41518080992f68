package numfmt

import (
	"fmt"
	"math"
)

func ExampleGroupDigits() {
	fmt.Println(GroupDigits(75242), GroupDigits(-1234), GroupDigits(999), GroupDigits(int64(math.MinInt64)))
	// Output: 75,242 -1,234 999 -9,223,372,036,854,775,808
}

func ExamplePlural() {
	fmt.Println(Plural(1, "point", "points"), Plural(3, "label is", "labels are"))
	// Output: 1 point 3 labels are
}

func ExampleTimesSmaller() {
	fmt.Println(TimesSmaller(75242, 932), TimesSmaller(900, 400), TimesSmaller(932, 932), TimesSmaller(0, 932))
	// Output: 81× 2.3× 1× —
}

func ExampleTimesSmallerFixed() {
	fmt.Println(TimesSmallerFixed(75242, 932), TimesSmallerFixed(900, 400), TimesSmallerFixed(932, 932), TimesSmallerFixed(932, 0))
	// Output: 81× 2.2× 1.0× —
}
