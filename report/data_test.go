package report

import (
	"strings"
	"testing"
)

func TestWriteData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    Data
		want string
	}{
		{
			name: "named classes",
			d: Data{Name: "fashion-mnist", Train: 60000, Test: 10000, H: 28, W: 28, C: 1, Classes: 3,
				ClassNames: []string{"T-shirt/top", "Trouser", "Ankle boot"}},
			want: "- Data: `fashion-mnist`, 60,000 training and 10,000 test images of 28×28×1; 3 classes: 0 T-shirt/top, 1 Trouser, 2 Ankle boot\n",
		},
		{
			name: "normalised, unnamed",
			d:    Data{Name: "idx:train.gz", Train: 6, Test: 3, H: 2, W: 2, C: 3, Classes: 2, Normalize: "per-channel"},
			want: "- Data: `idx:train.gz`, 6 training and 3 test images of 2×2×3 normalised `per-channel`; 2 classes\n",
		},
		{
			name: "names a file could hold",
			d:    Data{Name: "cifar10:x", Train: 1, Test: 1, H: 32, W: 32, C: 3, Classes: 2, ClassNames: []string{"<img onerror=x>", "a|b\n# c"}},
			want: "- Data: `cifar10:x`, 1 training and 1 test images of 32×32×3; 2 classes: 0 &lt;img onerror=x&gt;, 1 a\\|b \\# c\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			writeData(&b, tt.d)
			if got := b.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
