package pipeline

import (
	"io"
	"path/filepath"
	"testing"
)

// BenchmarkParams times `nnsweep params` on every example (load, validate, expand, count, print);
// the command must answer in well under 100 ms.
func BenchmarkParams(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	for _, f := range files {
		b.Run(filepath.Base(f), func(b *testing.B) {
			for b.Loop() {
				if err := Params(f, ParamsOptions{}, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestParseAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want map[string]int64
		ok   bool
	}{
		{"n=2", map[string]int64{"n": 2}, true},
		{"n=2, m=4", map[string]int64{"n": 2, "m": 4}, true},
		{"n", nil, false},
		{"=2", nil, false},
		{"n=x", nil, false},
	}
	for _, tt := range tests {
		got, err := ParseAt(tt.in)
		if (err == nil) != tt.ok || len(got) != len(tt.want) {
			t.Errorf("ParseAt(%q) = %v, %v", tt.in, got, err)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ParseAt(%q)[%s] = %d, want %d", tt.in, k, got[k], v)
			}
		}
	}
}
