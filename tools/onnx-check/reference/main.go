// Command reference writes what tools/onnx-check compares a runtime against: every training
// stored in nnsweep output folders exported as ONNX, its probabilities on the test set from
// nnsweep's own forward pass, and the test set itself as each folder's spec gives it to the model
// (normalised when the spec says so).
//
//	go run ./tools/onnx-check/reference OUT DIR...
//
// OUT gets, for the I-th folder, images-I.f32 (its test images, NCHW float32 [N, C, H, W],
// little-endian) and labels-I.u8 (one byte per image), and for each training K.onnx, K.probs.f32
// (softmax probabilities [N, classes]) and an entry of cases.json: {"name", "onnx", "probs",
// "weights" (the stored safetensors file), "images", "labels", "n", "shape_chw", "classes",
// "test_accuracy", "go_accuracy"}.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/nnsweep/nnsweep/pipeline"
	"github.com/nnsweep/nnsweep/runner"
)

type testCase struct {
	Name         string  `json:"name"`
	ONNX         string  `json:"onnx"`
	Probs        string  `json:"probs"`
	Weights      string  `json:"weights"`
	Images       string  `json:"images"`
	Labels       string  `json:"labels"`
	N            int     `json:"n"`
	Shape        [3]int  `json:"shape_chw"`
	Classes      int     `json:"classes"`
	TestAccuracy float64 `json:"test_accuracy"`
	GoAccuracy   float64 `json:"go_accuracy"`
}

type manifest struct {
	Cases []testCase `json:"cases"`
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: reference OUT DIR...")
		os.Exit(2)
	}
	out := os.Args[1]
	var mf manifest
	for i, dir := range os.Args[2:] {
		if err := write(dir, out, i, &mf); err != nil {
			fmt.Fprintln(os.Stderr, "reference:", err)
			os.Exit(1)
		}
	}
	b, err := json.MarshalIndent(mf, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(out, "cases.json"), append(b, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "reference:", err)
		os.Exit(1)
	}
}

// write adds every training of the output folder dir to out and to mf.
func write(dir, out string, index int, mf *manifest) error {
	store, _, err := pipeline.OpenStore(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if len(store.Records()) == 0 {
		return fmt.Errorf("%s stores no training", dir)
	}
	images, labels := fmt.Sprintf("images-%d.f32", index), fmt.Sprintf("labels-%d.u8", index)
	for i, rec := range store.Records() {
		seed := rec.Seed
		sm, err := pipeline.OpenStoredModel(dir, pipeline.StoredRequest{Model: rec.Model, Point: rec.Point, Seed: &seed})
		if err != nil {
			return err
		}
		test, err := sm.TestData()
		if err != nil {
			return err
		}
		if i == 0 {
			if err := os.WriteFile(filepath.Join(out, images), floats(runner.ImagesNCHW(test)), 0o644); err != nil {
				return err
			}
			b := make([]byte, test.N)
			for j, l := range test.Labels {
				b[j] = byte(l)
			}
			if err := os.WriteFile(filepath.Join(out, labels), b, 0o644); err != nil {
				return err
			}
		}
		var probs []float32
		m, err := sm.Evaluate(test, &probs)
		if err != nil {
			return err
		}
		c := testCase{Name: fmt.Sprintf("%s %s seed %d", rec.Model, rec.Point, rec.Seed), ONNX: rec.Key + ".onnx", Probs: rec.Key + ".probs.f32",
			Weights: filepath.Join(dir, rec.Weights), Images: images, Labels: labels, N: test.N, Shape: [3]int{test.C, test.H, test.W},
			Classes: sm.Model.Classes, TestAccuracy: rec.TestAccuracy, GoAccuracy: m.Accuracy}
		model, err := pipeline.ONNXModel(sm)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, c.ONNX), model.Marshal(), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, c.Probs), floats(probs), 0o644); err != nil {
			return err
		}
		mf.Cases = append(mf.Cases, c)
	}
	return nil
}

func floats(v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}
