package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const schemaFile = "../nnsweep.schema.json"

// TestSchemaFileIsCurrent fails when nnsweep.schema.json differs from JSONSchema(). Run with
// -update to rewrite it.
func TestSchemaFileIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("nnsweep.schema.json is stale or missing (%v); regenerate it with: go run . schema > nnsweep.schema.json", err)
	}
	again, err := JSONSchema()
	if err != nil || !bytes.Equal(again, want) {
		t.Fatal("JSONSchema() is not stable")
	}
}

// compileSchema compiles JSONSchema() with santhosh-tekuri/jsonschema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	src, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// yamlToJSON converts a YAML document into the JSON values the schema validator takes.
func yamlToJSON(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestSchemaAcceptsExamples(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlToJSON(t, src)); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	// Shorthands the examples do not use.
	for _, src := range []string{
		"name: a\ndataset: {train: {images: a, labels: b}, test: {images: c, labels: d}}\ntarget: {min: 0.5}\nsweep: {n: {from: 1, to: 8, factor: 2}, m: {from: 3, to: 1, step: 1}}\nmodel:\n  input: [8, 8, 1]\n  layers:\n    - conv2d: {filters: \"n m\", kernel: [3, 1], stride: 2, padding: same, use_bias: false}\n    - avgpool2d: {pool: [2, 1], stride: 1}\n    - flatten:\n    - dropout: {rate: 0.5}\n    - dense: {units: 2, name: out}\n",
		"name: b\ndataset: mnist\ntarget: {min: 1}\ntrain: {optimizer: {learning_rate: 0.1}}\nmodels: [{name: x, layers: [{flatten: {}}, {dense: {units: 10}}], train: {optimizer: {name: sgd, momentum: 0.9, nesterov: true}}}]\n",
		"name: c\ndataset: mnist\ntarget: {min: 0.5}\nmodel:\n  layers:\n    - conv2d: {filters: 2, kernel: 3, activation: swish}\n    - activation: leaky_relu\n    - activation: {activation: relu, name: act}\n    - global_maxpool2d:\n    - dense: {units: 10}\n",
		"name: d\ndataset: mnist\ntarget: {min: 0.5}\nmodel:\n  layers:\n    - conv2d: {filters: 2, kernel: 3, activation: leaky_relu}\n    - global_avgpool2d: {}\n    - dense: {units: 10}\n",
	} {
		if err := sch.Validate(yamlToJSON(t, []byte(src))); err != nil {
			t.Errorf("%s\n%v", src, err)
		}
	}
}

func TestSchemaRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	for _, name := range []string{
		"unknown-top-level-key", "unknown-layer-kind", "layer-two-keys", "wrong-type-epochs",
		"wrong-type-name-list", "wrong-type-units-map", "bad-width-quoted", "sweep-empty", "range-factor-one",
		"range-step-zero", "range-factor-and-step", "range-missing-to", "target-out-of-range", "missing-target",
		"missing-dataset", "unknown-dataset", "user-dataset-no-test", "optimizer-unknown", "optimizer-parameter",
		"dropout-rate", "model-and-models", "models-empty", "models-no-name", "validation-split", "input-length",
		"model-name", "bad-values", "missing-fields", "activation-unknown", "residual-inner-errors",
	} {
		src, err := os.ReadFile("testdata/bad/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlToJSON(t, src)); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		} else if testing.Verbose() {
			t.Logf("%s: %s", name, strings.SplitN(err.Error(), "\n", 3)[1])
		}
	}
}
