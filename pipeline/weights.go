package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nnsweep/nnsweep/builder"
	"github.com/nnsweep/nnsweep/internal/atomicfile"
	"github.com/nnsweep/nnsweep/safetensors"
	"gorgonia.org/tensor"
)

// WeightsDir is the folder, inside an output folder, that holds the weights of every finished
// training: one safetensors file per result key, WeightsDir/<key>.safetensors.
const WeightsDir = "weights"

// weightsFile is the path, relative to the output folder, of the weights of the result key.
func weightsFile(key string) string {
	return filepath.ToSlash(filepath.Join(WeightsDir, key+".safetensors"))
}

// weightsLayout is the metadata entry that says how the tensors are laid out.
const weightsLayout = "float32 row-major; dense kernel [in, units], bias [1, units]; conv2d kernel [filters, in_channels, kh, kw] (OIHW), bias [1, filters, 1, 1]; images NCHW, flatten in CHW order"

// depthwiseLayout is added to weightsLayout for models with depthwise or separable layers (the
// files of other models stay as they were).
const depthwiseLayout = "; depthwise_kernel [in_channels·depth_multiplier, 1, kh, kw] (PyTorch's groups = in_channels), pointwise_kernel [filters, in_channels·depth_multiplier, 1, 1]"

// writeWeights writes the weights of rec's training to rec.Weights inside dir, atomically (a
// synced temporary file renamed into place), so that the file exists whole before the record
// that names it is appended. The tensors are named as the weights ("conv2d_1/kernel"); the
// metadata holds the key, spec, model, point, seed and nnsweep's version.
func writeWeights(dir string, rec Record, w *builder.Weights) error {
	f := safetensors.File{Metadata: map[string]string{
		"key": rec.Key, "spec": rec.Spec, "model": rec.Model, "point": rec.Point,
		"seed": strconv.FormatInt(rec.Seed, 10), "nnsweep_version": rec.Version, "layout": weightsLayout,
	}}
	if slices.ContainsFunc(w.Names, func(name string) bool { return strings.HasSuffix(name, "/depthwise_kernel") }) {
		f.Metadata["layout"] += depthwiseLayout
	}
	for i, t := range w.Tensors {
		f.Tensors = append(f.Tensors, safetensors.Tensor{Name: w.Names[i], Shape: slices.Clone([]int(t.Shape())), Data: t.Data().([]float32)})
	}
	b, err := safetensors.Encode(f)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, filepath.FromSlash(rec.Weights)), b)
}

// readWeights reads the weights rec names in dir and checks them against want, the weights the
// record's model has at its point (names and shapes; see builder.NewWeights), returning them as
// builder.Weights in want's order.
func readWeights(dir string, rec Record, want *builder.Weights) (*builder.Weights, error) {
	if rec.Weights == "" {
		return nil, fmt.Errorf("%s %s seed %d in %s has no stored weights: it was trained by nnsweep %s, before weights were kept; train it again with --force", rec.Model, rec.Point, rec.Seed, dir, rec.Version)
	}
	path := filepath.Join(dir, filepath.FromSlash(rec.Weights))
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		points := "--points " + strings.Join(strings.Split(rec.Point, ", "), " --points ")
		return nil, fmt.Errorf("the weights of %s %s seed %d are missing from %s (%s): the folder was copied without its %s folder, or they were deleted; train the point again with `nnsweep run SPEC --out %s --only %s %s --force`",
			rec.Model, rec.Point, rec.Seed, dir, rec.Weights, WeightsDir, dir, rec.Model, points)
	}
	if err != nil {
		return nil, fmt.Errorf("the weights of %s %s seed %d: %w", rec.Model, rec.Point, rec.Seed, err)
	}
	f, err := safetensors.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Metadata["key"] != rec.Key {
		return nil, fmt.Errorf("%s holds the weights of the key %q, not of %s %s seed %d (%s)", path, f.Metadata["key"], rec.Model, rec.Point, rec.Seed, rec.Key)
	}
	out := &builder.Weights{NonTrainable: want.NonTrainable}
	for i, name := range want.Names {
		t, ok := f.Tensor(name)
		shape := []int(want.Tensors[i].Shape())
		if !ok || !slices.Equal(t.Shape, shape) {
			return nil, fmt.Errorf("%s: no tensor %s of shape %v", path, name, shape)
		}
		out.Names = append(out.Names, name)
		out.Tensors = append(out.Tensors, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(t.Data)))
	}
	if len(f.Tensors) != len(want.Names) {
		return nil, fmt.Errorf("%s holds %d tensors, the model %s has %d", path, len(f.Tensors), rec.Model, len(want.Names))
	}
	return out, nil
}
