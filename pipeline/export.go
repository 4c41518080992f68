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

// onnxActivations are the ONNX operators of the activations; linear (and softmax, which only the
// last layer may have) adds none.
var onnxActivations = map[string]string{"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}

// ONNXModel translates a stored model into ONNX: NCHW float32 input [N, C, H, W] with a dynamic
// batch, one node per layer (Conv, MaxPool or AveragePool with Keras's same padding as explicit
// pads, begin and end, and average pooling over the real cells only, count_include_pad=0; Gemm;
// Flatten, whose CHW order is nnsweep's; Identity for dropout; GlobalAveragePool or GlobalMaxPool
// and a Flatten for global pooling; nothing for an activation layer; a residual block's inner
// nodes, its projection's Conv or Gemm, and an Add; BatchNormalization with the moving
// statistics for batch_norm) and its activation (leaky_relu
// as LeakyRelu with alpha 0.2, swish as Sigmoid and Mul), and Softmax
// in place of the last layer's activation, as the training's log-softmax: the output is the
// probabilities [N, classes].
func ONNXModel(sm *StoredModel) (onnx.Model, error) {
	m, w, rec := sm.Model, sm.Weights, sm.Record
	g := onnx.Graph{Name: m.Name, Doc: fmt.Sprintf("%s at %s, seed %d, trained by nnsweep %s", m.Name, rec.Point, rec.Seed, rec.Version)}
	batch := onnx.Dim{Param: "N"}
	g.Inputs = []onnx.ValueInfo{{Name: "input", ElemType: onnx.Float, Dims: []onnx.Dim{batch, {Value: int64(m.Input.C)}, {Value: int64(m.Input.H)}, {Value: int64(m.Input.W)}},
		Doc: "images NCHW " + inputScale(sm.Spec)}}
	x := "input"
	next := 0
	weight := func(flatten bool) string {
		t := w.Tensors[next]
		dims := make([]int64, 0, 4)
		for _, d := range t.Shape() {
			dims = append(dims, int64(d))
		}
		if flatten { // a conv2d bias [1, F, 1, 1] is Conv's B [F]
			dims = []int64{int64(t.Shape().TotalSize())}
		}
		g.Initializers = append(g.Initializers, onnx.Tensor{Name: w.Names[next], Dims: dims, Floats: t.Data().([]float32)})
		next++
		return w.Names[next-1]
	}
	node := func(name, op string, inputs []string, attrs ...onnx.Attr) {
		g.Nodes = append(g.Nodes, onnx.Node{Name: name, Op: op, Inputs: inputs, Outputs: []string{name}, Attrs: attrs})
		x = name
	}
	// emit adds the nodes of layers; outer says they are the model's own, whose last layer's
	// activation is the Softmax below.
	var emit func(layers []spec.ResolvedLayer, outer bool) error
	emit = func(layers []spec.ResolvedLayer, outer bool) error {
		for i, l := range layers {
			last := outer && i == len(layers)-1 // its activation is the Softmax below
			top, bottom, left, right := spec.Padding(l)
			window := onnx.IntsAttr("kernel_shape", int64(l.Window.H), int64(l.Window.W))
			strides := onnx.IntsAttr("strides", int64(l.Stride.H), int64(l.Stride.W))
			pads := onnx.IntsAttr("pads", int64(top), int64(left), int64(bottom), int64(right))
			switch l.Kind {
			case spec.KindConv2D:
				in := []string{x, weight(false)}
				if l.UseBias {
					in = append(in, weight(true))
				}
				node(l.Name, "Conv", in, window, strides, pads, onnx.IntsAttr("dilations", 1, 1), onnx.IntAttr("group", 1))
			case spec.KindDense:
				in := []string{x, weight(false)}
				if l.UseBias {
					in = append(in, weight(false))
				}
				node(l.Name, "Gemm", in)
			case spec.KindMaxPool2D:
				node(l.Name, "MaxPool", []string{x}, window, strides, pads)
			case spec.KindAvgPool2D:
				node(l.Name, "AveragePool", []string{x}, window, strides, pads, onnx.IntAttr("count_include_pad", 0))
			case spec.KindFlatten:
				node(l.Name, "Flatten", []string{x}, onnx.IntAttr("axis", 1))
			case spec.KindDropout:
				node(l.Name, "Identity", []string{x})
			case spec.KindActivation: // its activation follows
			case spec.KindResidual: // the inner layers, the shortcut or its projection, and an Add
				in := x
				if err := emit(l.Layers, false); err != nil {
					return err
				}
				y := x
				x = in
				if p, ok := l.Projection(); ok {
					if err := emit([]spec.ResolvedLayer{p}, false); err != nil {
						return err
					}
				}
				node(l.Name, "Add", []string{y, x})
			case spec.KindGlobalAvgPool2D, spec.KindGlobalMaxPool2D:
				op := map[spec.LayerKind]string{spec.KindGlobalAvgPool2D: "GlobalAveragePool", spec.KindGlobalMaxPool2D: "GlobalMaxPool"}[l.Kind]
				node(l.Name+"/pool", op, []string{x})
				node(l.Name, "Flatten", []string{x}, onnx.IntAttr("axis", 1))
			case spec.KindDepthwiseConv2D, spec.KindSeparableConv2D:
				// The depthwise kernel [c·m, 1, kh, kw] is a Conv's with group = c; a separable
				// layer's pointwise step is a second, 1×1 Conv with the bias.
				group := int64(w.Tensors[next].Shape()[0] / l.DepthMultiplier())
				depthwise := l.Name
				if l.Kind == spec.KindSeparableConv2D {
					depthwise += "/depthwise"
				}
				in := []string{x, weight(false)}
				if l.Kind == spec.KindDepthwiseConv2D && l.UseBias {
					in = append(in, weight(true))
				}
				node(depthwise, "Conv", in, window, strides, pads, onnx.IntsAttr("dilations", 1, 1), onnx.IntAttr("group", group))
				if l.Kind == spec.KindSeparableConv2D {
					in := []string{x, weight(false)}
					if l.UseBias {
						in = append(in, weight(true))
					}
					node(l.Name, "Conv", in, onnx.IntsAttr("kernel_shape", 1, 1), onnx.IntsAttr("strides", 1, 1),
						onnx.IntsAttr("pads", 0, 0, 0, 0), onnx.IntsAttr("dilations", 1, 1), onnx.IntAttr("group", 1))
				}
			case spec.KindBatchNorm:
				// BatchNormalization in inference mode with the moving statistics; a layer without
				// scale or center gets a constant γ of ones or β of zeros.
				bn := l.Settings.(spec.BatchNormSettings)
				c := int64(l.OutC.MustEval(sm.Point.Map()))
				constant := func(name string, v float32) string {
					vals := make([]float32, c)
					for k := range vals {
						vals[k] = v
					}
					g.Initializers = append(g.Initializers, onnx.Tensor{Name: name, Dims: []int64{c}, Floats: vals})
					return name
				}
				in := []string{x}
				if bn.Scale {
					in = append(in, weight(false))
				} else {
					in = append(in, constant(l.Name+"/gamma", 1))
				}
				if bn.Center {
					in = append(in, weight(false))
				} else {
					in = append(in, constant(l.Name+"/beta", 0))
				}
				in = append(in, weight(false), weight(false))
				node(l.Name, "BatchNormalization", in, onnx.FloatAttr("epsilon", float32(bn.Epsilon)), onnx.FloatAttr("momentum", float32(bn.Momentum)))
			default:
				return fmt.Errorf("pipeline: ONNX export has no translation of %s layers (%s)", l.Kind, l.Name)
			}
			if op := onnxActivations[l.Activation]; op != "" && !last {
				node(l.Name+"/"+l.Activation, op, []string{x})
			}
			switch {
			case last:
			case l.Activation == "leaky_relu":
				node(l.Name+"/leaky_relu", "LeakyRelu", []string{x}, onnx.FloatAttr("alpha", spec.LeakySlope))
			case l.Activation == "swish": // x·sigmoid(x)
				in := x
				node(l.Name+"/swish_sigmoid", "Sigmoid", []string{in})
				node(l.Name+"/swish", "Mul", []string{in, x})
			}
		}
		return nil
	}
	if err := emit(m.Layers, true); err != nil {
		return onnx.Model{}, err
	}
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
