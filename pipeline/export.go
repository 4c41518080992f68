package pipeline

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nnsweep/nnsweep/internal/atomicfile"
	"github.com/nnsweep/nnsweep/onnx"
	"github.com/nnsweep/nnsweep/spec"
)

// ExportFormats are the values of ExportOptions.Format.
var ExportFormats = []string{"onnx", "safetensors"}

// ONNX export: the operator set and the IR version that goes with it.
const (
	onnxOpset     = 13
	onnxIRVersion = 7
)

// ExportOptions adjust `nnsweep export`.
type ExportOptions struct {
	StoredRequest
	// Format is "onnx" (default) or "safetensors".
	Format string
	// Out is the file to write; default <model>-<point>-seed<S>.<format> in the working folder.
	Out string
}

// Export writes one trained model of the output folder dir as an ONNX model or as its safetensors
// weights, and says on stdout which training it wrote (the turning point and its best seed when
// the request leaves them out) and what the file's input and output are.
func Export(dir string, opts ExportOptions, stdout io.Writer) error {
	if opts.Format == "" {
		opts.Format = "onnx"
	}
	if !slices.Contains(ExportFormats, opts.Format) {
		return &UsageError{fmt.Sprintf("--format %q: use one of %s", opts.Format, strings.Join(ExportFormats, ", "))}
	}
	sm, err := OpenStoredModel(dir, opts.StoredRequest)
	if err != nil {
		return err
	}
	out := opts.Out
	if out == "" {
		out = fmt.Sprintf("%s-%s-seed%d.%s", sm.Record.Model, fileLabel(sm.Point), sm.Record.Seed, opts.Format)
	}
	var data []byte
	switch opts.Format {
	case "onnx":
		m, err := ONNXModel(sm)
		if err != nil {
			return err
		}
		data = m.Marshal()
	case "safetensors":
		if data, err = os.ReadFile(filepath.Join(dir, filepath.FromSlash(sm.Record.Weights))); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(out, data); err != nil {
		return err
	}
	rec := sm.Record
	what := fmt.Sprintf("%s %s seed %d", rec.Model, rec.Point, rec.Seed)
	if sm.Chosen != "" {
		what += ": " + sm.Chosen
	}
	fmt.Fprintf(stdout, "wrote %s (%s bytes): %s, %s parameters, test accuracy %s\n", out, formatInt(int64(len(data))), what,
		formatInt(rec.Params), strconv.FormatFloat(100*rec.TestAccuracy, 'f', 2, 64)+"%")
	in := sm.Model.Input
	switch opts.Format {
	case "onnx":
		fmt.Fprintf(stdout, "ONNX opset %d: input %q float32 [N, %d, %d, %d] (NCHW; N, the batch, is dynamic) %s; output %q float32 [N, %d], softmax probabilities\n",
			onnxOpset, "input", in.C, in.H, in.W, inputScale(sm.Spec), "probabilities", sm.Model.Classes)
	case "safetensors":
		fmt.Fprintf(stdout, "float32 tensors named as the layers (%s, …): %s\n", sm.Weights.Names[0], weightsLayout)
	}
	return nil
}

// exportCommand is the command line that exports the point label ("n=2, m=4") of model in the
// output folder dir, each argument quoted for a POSIX shell where it needs to be.
func exportCommand(dir, model, label string) string {
	args := []string{"nnsweep", "export", dir, "--model", model, "--point", strings.ReplaceAll(label, ", ", ",")}
	for i, a := range args {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool { return !safeShellRune(r) }) {
			args[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(args, " ")
}

func safeShellRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=,:+@%", r)
}

// fileLabel writes a point for a file name: "n=2, m=4" is "n2-m4".
func fileLabel(p spec.Point) string {
	var parts []string
	for _, v := range p {
		parts = append(parts, v.Name+strconv.FormatInt(v.Value, 10))
	}
	return unsafeFileChars.ReplaceAllString(strings.Join(parts, "-"), "_")
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// inputScale says what the input values are: what the images become before the network sees them.
func inputScale(s *spec.Spec) string {
	if n := s.Dataset.Normalize; n != nil {
		return "of intensities byte/255 normalised as the spec's dataset.normalize says, (x − mean) / std per channel"
	}
	return "of intensities byte/255 in [0, 1]"
}

// ONNXModel translates a stored model into ONNX: NCHW float32 input [N, C, H, W] with a dynamic
// batch, the nodes of each layer (onnxLayers) and of its activation, and Softmax in place of the
// last layer's activation, as the training's log-softmax: the output is the probabilities
// [N, classes].
func ONNXModel(sm *StoredModel) (onnx.Model, error) {
	m, w, rec := sm.Model, sm.Weights, sm.Record
	g := onnx.Graph{Name: m.Name, Doc: fmt.Sprintf("%s at %s, seed %d, trained by nnsweep %s", m.Name, rec.Point, rec.Seed, rec.Version)}
	batch := onnx.Dim{Param: "N"}
	g.Inputs = []onnx.ValueInfo{{Name: "input", ElemType: onnx.Float, Dims: []onnx.Dim{batch, {Value: int64(m.Input.C)}, {Value: int64(m.Input.H)}, {Value: int64(m.Input.W)}},
		Doc: "images NCHW " + inputScale(sm.Spec)}}
	b := &onnxBuilder{g: &g, w: w, point: sm.Point, x: "input"}
	if err := b.emit(m.Layers, true); err != nil {
		return onnx.Model{}, err
	}
	x, next := b.x, b.next
	if next != len(w.Tensors) {
		return onnx.Model{}, fmt.Errorf("pipeline: ONNX export used %d of %d weight tensors", next, len(w.Tensors))
	}
	g.Nodes = append(g.Nodes, onnx.Node{Name: "probabilities", Op: "Softmax", Inputs: []string{x}, Outputs: []string{"probabilities"}, Attrs: []onnx.Attr{onnx.IntAttr("axis", 1)}})
	g.Outputs = []onnx.ValueInfo{{Name: "probabilities", ElemType: onnx.Float, Dims: []onnx.Dim{batch, {Value: int64(m.Classes)}},
		Doc: "softmax probabilities of the classes, in label order"}}
	return onnx.Model{IRVersion: onnxIRVersion, Opset: onnxOpset, ProducerName: "nnsweep", ProducerVersion: Version, Graph: g,
		Doc: fmt.Sprintf("%s (spec %s) at %s, seed %d: %d parameters, test accuracy %v", m.Name, rec.Spec, rec.Point, rec.Seed, rec.Params, rec.TestAccuracy),
		Metadata: [][2]string{{"key", rec.Key}, {"spec", rec.Spec}, {"model", rec.Model}, {"point", rec.Point},
			{"seed", strconv.FormatInt(rec.Seed, 10)}, {"test_accuracy", strconv.FormatFloat(rec.TestAccuracy, 'g', -1, 64)},
			{"dataset", rec.Dataset}, {"nnsweep_version", rec.Version}}}, nil
}
