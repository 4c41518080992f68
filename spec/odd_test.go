package spec

import (
	"strings"
	"testing"
	"time"
)

// TestOddInputs checks inputs that random mutation rarely finds: each must give errors with
// positions, promptly and without a panic.
func TestOddInputs(t *testing.T) {
	t.Parallel()
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 'b', 'a'; i <= 'j'; i, prev = i+1, i {
		laughs += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+string(prev)+", ", 9) + "*" + string(prev) + "]\n"
	}
	layers := "x: &l [{dense: {units: 2}}, {dense: {units: 2}}, {dense: {units: 2}}, {dense: {units: 2}}]\n" +
		"y: &m {name: a, layers: *l}\n"
	tests := []struct {
		name, src string
		want      string // a part of the errors
	}{
		{"billion laughs in a sweep", laughs + "sweep: {n: *j}\n", "unknown key"},
		{"billion laughs in models", layers + "models: [" + strings.Repeat("*m, ", 2000) + "*m]\n", "aliases expand to more than"},
		{"key that is a list", "[a]: 1\n", "expected a key, found a list"},
		{"key that is null", "~: 1\nname: a\n", "expected a key, found nothing"},
		{"merge key", "base: &b {epochs: 3}\ntrain: {<<: *b}\n", "merge keys (<<) are not supported"},
		{"binary tag", "name: !!binary aGVsbG8=\n", "no model"},
		{"custom tag on a width", "model: {layers: [{dense: {units: !w 2n}}]}\n", "no dataset"},
		{"unknown anchor", "name: *nowhere\n", "define the anchor with &nowhere"},
		{"control character", "name: a\x01b\n", "YAML syntax: control characters are not allowed"},
		{"invalid UTF-8", "name: \xff\xfe\n", "YAML syntax"},
		{"deep nesting", strings.Repeat("[", 20000), "YAML syntax"},
		{"huge integer", "train: {epochs: 99999999999999999999999}\n", "expected an integer, found the number 99999999999999999999999"},
		{"infinity", "target: {min: .inf}\n", "expected a number, found .inf"},
		{"not a number", "train: {optimizer: {learning_rate: .nan}}\n", "expected a number, found .nan"},
		{"layer is a list", "model: {layers: [[dense]]}\n", "expected a layer"},
		{"layer is empty", "model: {layers: [{}]}\n", "expected a layer"},
		{"layer kind is a number", "model: {layers: [{1: {}}]}\n", "unknown layer kind \"1\""},
		{"layer kind is a list", "model: {layers: [{[a]: {}}]}\n", "expected a key"},
		{"model is a string", "model: cnn\n", "expected a mapping, found the string \"cnn\""},
		{"models is a mapping", "models: {name: a}\n", "expected a list, found a mapping"},
		{"models entry is a string", "models: [a]\n", "expected a mapping, found the string \"a\""},
		{"root is a list", "- a\n", "expected a mapping, found a list"},
		{"root is a scalar", "hello\n", "expected a mapping, found the string \"hello\""},
		{"only a document marker", "---\n", "the file is empty"},
		{"kernel is huge", "model: {layers: [{conv2d: {filters: 1, kernel: 99999999999999999999}}]}\n", "expected an integer size"},
		{"kernel list of three", "model: {layers: [{conv2d: {filters: 1, kernel: [1, 2, 3]}}]}\n", "a list of 3 values"},
		{"sweep of huge values", "sweep: {n: [9223372036854775807]}\nmodel: {layers: [{flatten: {}}, {dense: {units: n*n}}]}\n", "too large"},
		{"input with a zero", "dataset: mnist\nmodel: {input: [0, 28, 28], layers: [{conv2d: {filters: 1, kernel: 3}}]}\n", "input[0] must be at least 1"},
		{"input too large", "model: {input: [1000000, 1000000, 1000000], layers: [{flatten: {}}, {dense: {units: 10}}]}\n", "input size 1000000 is too large"},
		{"count overflow", "dataset: mnist\nmodel: {input: [65536, 65536, 1], layers: [{conv2d: {filters: 1000000, kernel: 4096, padding: same}}, {flatten: {}}, {dense: {units: 10}}]}\n", "too large to count"},
		{"file over 1 MiB", "sweep: {n: [" + strings.Repeat("1, ", 1<<19) + "1]}\n", "the file is larger than 1048576 bytes (1 MiB), the most a spec may have"},
		{"list of more values than points", "sweep: {n: [" + strings.Repeat("1,", 100000) + "1]}\n", "the list has 100001 values, more than the 100000 points"},
		{"huge points", "sweep: {a: {from: 1, to: 100, step: 1}, b: {from: 1, to: 100, step: 1}, c: {from: 1, to: 100, step: 1}}\nmodel: {layers: [{flatten: {}}, {dense: {units: a+b+c}}]}\n", "more than 100000 points"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			errs := check("odd.yaml", []byte(tt.src), mnist)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			for _, e := range errs {
				if e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Errorf("no position: %v", e)
				}
			}
			if testing.Verbose() {
				t.Log("\n" + errs.Lines())
			}
			if !strings.Contains(errs.Lines(), tt.want) {
				t.Errorf("errors do not mention %q:\n%s", tt.want, errs.Lines())
			}
		})
	}
}
