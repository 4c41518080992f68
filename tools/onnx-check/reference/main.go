// Command reference writes what tools/onnx-check compares a runtime against: every training
// stored in nnsweep output folders exported as ONNX, its probabilities on the test set from
// nnsweep's own forward pass, and the test set itself (the folders' specs must share it).
//
//	go run ./tools/onnx-check/reference OUT DIR...
//
// OUT gets images.f32 (the test images, NCHW float32 [N, C, H, W], little-endian), labels.u8 (one
// byte per image), and for each training K.onnx, K.probs.f32 (softmax probabilities [N, classes])
// and an entry of cases.json: {"name", "onnx", "probs", "weights" (the stored safetensors file),
// "classes", "test_accuracy", "go_accuracy"}.
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
	Classes      int     `json:"classes"`
	TestAccuracy float64 `json:"test_accuracy"`
	GoAccuracy   float64 `json:"go_accuracy"`
}

type manifest struct {
	Images string     `json:"images"`
	Labels string     `json:"labels"`
	N      int        `json:"n"`
	Shape  [3]int     `json:"shape_chw"`
	Cases  []testCase `json:"cases"`
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: reference OUT DIR...")
		os.Exit(2)
	}
	out := os.Args[1]
	mf := manifest{Images: "images.f32", Labels: "labels.u8"}
	for _, dir := range os.Args[2:] {
		if err := write(dir, out, &mf); err != nil {
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
func write(dir, out string, mf *manifest) error {
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
	for _, rec := range store.Records() {
		seed := rec.Seed
		sm, err := pipeline.OpenStoredModel(dir, pipeline.StoredRequest{Model: rec.Model, Point: rec.Point, Seed: &seed})
		if err != nil {
			return err
		}
		test, err := sm.TestData()
		if err != nil {
			return err
		}
		if len(mf.Cases) == 0 {
			mf.N, mf.Shape = test.N, [3]int{test.C, test.H, test.W}
			if err := os.WriteFile(filepath.Join(out, mf.Images), floats(runner.ImagesNCHW(test)), 0o644); err != nil {
				return err
			}
			labels := make([]byte, test.N)
			for j, l := range test.Labels {
				labels[j] = byte(l)
			}
			if err := os.WriteFile(filepath.Join(out, mf.Labels), labels, 0o644); err != nil {
				return err
			}
		}
		var probs []float32
		m, err := sm.Evaluate(test, &probs)
		if err != nil {
			return err
		}
		c := testCase{Name: fmt.Sprintf("%s %s seed %d", rec.Model, rec.Point, rec.Seed), ONNX: rec.Key + ".onnx", Probs: rec.Key + ".probs.f32",
			Weights: filepath.Join(dir, rec.Weights), Classes: sm.Model.Classes, TestAccuracy: rec.TestAccuracy, GoAccuracy: m.Accuracy}
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
