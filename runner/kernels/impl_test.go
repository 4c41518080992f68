package kernels

import (
	"slices"
	"testing"
)

func TestPickImpl(t *testing.T) {
	t.Parallel()
	var names []string
	for _, im := range supportedImpls() {
		names = append(names, im.name)
	}
	t.Logf("implementations on this CPU and build: %v", names)
	has := func(n string) bool { return slices.Contains(names, n) }
	capped := func(want ...string) string {
		for _, w := range want {
			if has(w) {
				return w
			}
		}
		return ImplGeneric
	}
	tests := []struct {
		name, want string
	}{
		{"", names[0]},
		{"auto", names[0]},
		{ImplGeneric, ImplGeneric},
		{ImplAVX2, capped(ImplAVX2)},
		{ImplAVX512, capped(ImplAVX512, ImplAVX2)},
	}
	for _, tc := range tests {
		im, err := pickImpl(tc.name)
		if err != nil || im.name != tc.want {
			t.Errorf("pickImpl(%q) = %v, %v; want %s", tc.name, im, err, tc.want)
		}
	}
	if _, err := pickImpl("sse"); err == nil || err.Error() != `kernels: unknown implementation "sse"; use "avx512", "avx2", "generic" or "auto"` {
		t.Errorf("pickImpl(sse) error = %v", err)
	}
}

// TestUseImpl switches the implementation of the package-level functions and back. It is not
// parallel: the parallel tests start after it has restored the original.
func TestUseImpl(t *testing.T) {
	orig := Impl()
	defer UseImpl(orig)
	got, err := UseImpl(ImplGeneric)
	if err != nil || got != ImplGeneric || Impl() != ImplGeneric {
		t.Fatalf("UseImpl(generic) = %q, %v; Impl() = %q", got, err, Impl())
	}
	c := []float32{0}
	Sgemm(false, false, 1, 1, 2, 1, []float32{1, 2}, 2, []float32{3, 4}, 1, 0, c, 1)
	if c[0] != 11 {
		t.Fatalf("generic Sgemm gives %v, want 11", c[0])
	}
	if got, err := UseImpl("bogus"); err == nil || got != ImplGeneric {
		t.Fatalf("UseImpl(bogus) = %q, %v; want the unchanged implementation and an error", got, err)
	}
}
