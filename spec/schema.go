package spec

import (
	"encoding/json"
	"strings"

	"github.com/invopop/jsonschema"
	orderedmap "github.com/pb33f/ordered-map/v2"
)

// SchemaID is the $id of the spec's JSON Schema.
const SchemaID = "https://github.com/nnsweep/nnsweep/nnsweep.schema.json"

// JSONSchema returns the JSON Schema (draft 2020-12) of a spec file, generated from the Go types
// with their YAML names, descriptions and defaults, indented by two spaces and ending in a newline.
// Editors use it to complete and check specs; it accepts every valid spec but checks less than
// Validate does (no shapes, no sweep variables, no unknown-symbol checks). The repository keeps it
// as nnsweep.schema.json.
func JSONSchema() ([]byte, error) {
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
	}
	s := r.Reflect(&Spec{})
	s.ID = SchemaID
	s.Title = "nnsweep spec"
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	// Write <, > and & as themselves rather than as the \u escapes of HTML-safe JSON; no text of the
	// schema holds a backslash, so no escape is mistaken.
	b = []byte(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b)))
	return append(b, '\n'), nil
}

func props(kv ...any) *orderedmap.OrderedMap[string, *jsonschema.Schema] {
	m := jsonschema.NewProperties()
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i].(string), kv[i+1].(*jsonschema.Schema))
	}
	return m
}

func uintPtr(v uint64) *uint64 { return &v }

// exprPattern admits the characters of a width expression; ParseExpr checks the grammar.
const exprPattern = `^[ 0-9A-Za-z_+*()-]+$`

// JSONSchema describes a width: an integer of at least 1 or an expression.
func (Expr) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Description: `A width: an integer of at least 1, or an integer expression in the sweep variables with + - *, parentheses and implicit products, such as "2n", "4n+1" or "n*m"; no division`,
		OneOf: []*jsonschema.Schema{
			{Type: "integer", Minimum: "1"},
			{Type: "string", Pattern: exprPattern, MinLength: uintPtr(1), MaxLength: uintPtr(maxExprLen)},
		},
	}
}

// JSONSchema describes a size: one integer for both dimensions, or [height, width].
func (Pair) JSONSchema() *jsonschema.Schema {
	size := &jsonschema.Schema{Type: "integer", Minimum: "1", Maximum: json4096}
	return &jsonschema.Schema{
		Description: "A size: one integer for height and width (3), or [height, width] ([3, 5])",
		OneOf: []*jsonschema.Schema{
			size,
			{Type: "array", Items: size, MinItems: uintPtr(2), MaxItems: uintPtr(2)},
		},
	}
}

const json4096 = "4096" // maxSize

// JSONSchema describes the values of a sweep variable: a list or a range.
func (Values) JSONSchema() *jsonschema.Schema {
	integer := &jsonschema.Schema{Type: "integer"}
	return &jsonschema.Schema{
		Description: "The values of a sweep variable: a list ([32, 16, 8]), a geometric range ({from: 32, to: 1, factor: 2}) or an arithmetic range ({from: 1, to: 64, step: 1}); ranges include both ends when the steps reach them and may run downwards",
		OneOf: []*jsonschema.Schema{
			{Type: "array", Items: integer, MinItems: uintPtr(1)},
			{
				Type: "object",
				Properties: props(
					"from", &jsonschema.Schema{Type: "integer", Description: "The first value"},
					"to", &jsonschema.Schema{Type: "integer", Description: "The last value, when the steps reach it"},
					"factor", &jsonschema.Schema{Type: "integer", Minimum: "2", Description: "Multiply (or, running down, divide) by this"},
					"step", &jsonschema.Schema{Type: "integer", Minimum: "1", Description: "Add (or, running down, subtract) this"},
				),
				Required:             []string{"from", "to"},
				OneOf:                []*jsonschema.Schema{{Required: []string{"factor"}}, {Required: []string{"step"}}},
				AdditionalProperties: jsonschema.FalseSchema,
			},
		},
	}
}

// JSONSchema describes a sweep: variables and their values.
func (Sweep) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:                 "object",
		Description:          "Sweep variables and their values; several variables expand as their cartesian product, the first outermost",
		PropertyNames:        &jsonschema.Schema{Pattern: identifier.String()},
		AdditionalProperties: Values{}.JSONSchema(),
	}
}

// JSONSchemaExtend makes a layer a one-key mapping from its kind to its settings.
func (Layer) JSONSchemaExtend(s *jsonschema.Schema) {
	s.Description = "A layer: a one-key mapping from its kind to its settings, such as {conv2d: {filters: n, kernel: 3}}"
	for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
		body := pair.Value
		switch LayerKind(pair.Key) {
		case KindFlatten, KindGlobalAvgPool2D, KindGlobalMaxPool2D:
			body = &jsonschema.Schema{AnyOf: []*jsonschema.Schema{body, {Type: "null"}}}
		case KindActivation: // the shorthand "- activation: relu"
			names := make([]any, len(Activations))
			for i, a := range Activations {
				names[i] = a
			}
			body = &jsonschema.Schema{AnyOf: []*jsonschema.Schema{body, {Type: "string", Enum: names, Description: "The activation function alone"}}}
		}
		s.OneOf = append(s.OneOf, &jsonschema.Schema{
			Type:                 "object",
			Properties:           props(pair.Key, body),
			Required:             []string{pair.Key},
			AdditionalProperties: jsonschema.FalseSchema,
		})
	}
	s.Properties = nil
	s.AdditionalProperties = nil
}

// JSONSchemaExtend makes a dataset the name of a built-in set, a mapping naming one, the user's
// IDX files or a folder in one of Formats; each mapping may normalise.
func (Dataset) JSONSchemaExtend(s *jsonschema.Schema) {
	get := func(key string) *jsonschema.Schema { v, _ := s.Properties.Get(key); return v }
	enum := func(values []string) []any {
		out := make([]any, len(values))
		for i, v := range values {
			out[i] = v
		}
		return out
	}
	normalize := get("normalize")
	form := func(description string, required []string, kv ...any) *jsonschema.Schema {
		return &jsonschema.Schema{
			Type:                 "object",
			Description:          description,
			Properties:           props(append(kv, "normalize", normalize)...),
			Required:             required,
			AdditionalProperties: jsonschema.FalseSchema,
		}
	}
	*s = jsonschema.Schema{
		Description: "The data: a built-in set (mnist, fashion-mnist), the user's IDX files, or a CIFAR-10 folder",
		OneOf: []*jsonschema.Schema{
			{Type: "string", Enum: enum(Builtins), Description: "A built-in dataset: mnist (embedded) or fashion-mnist (Debian's package dataset-fashion-mnist)"},
			form("A built-in dataset, normalised", []string{"name"},
				"name", &jsonschema.Schema{Type: "string", Enum: enum(Builtins), Description: "The built-in dataset"}),
			form("The user's IDX files, gzipped or not, with paths relative to the spec file", []string{"train", "test"},
				"train", get("train"), "test", get("test")),
			form("A folder of CIFAR-10's binary version (cifar-10-batches-bin), relative to the spec file", []string{"format", "dir"},
				"format", &jsonschema.Schema{Type: "string", Enum: enum(Formats), Description: "The folder's format"},
				"dir", &jsonschema.Schema{Type: "string", MinLength: uintPtr(1), Description: "The folder holding data_batch_1.bin … data_batch_5.bin, test_batch.bin and batches.meta.txt"}),
		},
	}
}

// JSONSchema describes a normalisation: per-channel, or the means and deviations per channel.
func (Normalize) JSONSchema() *jsonschema.Schema {
	numbers := func(description string, s *jsonschema.Schema) *jsonschema.Schema {
		return &jsonschema.Schema{Type: "array", Items: s, MinItems: uintPtr(1), Description: description}
	}
	return &jsonschema.Schema{
		Description: "Normalise each channel's intensity x in [0,1] to (x − mean) / std; the default leaves byte / 255",
		OneOf: []*jsonschema.Schema{
			{Type: "string", Enum: []any{"per-channel"}, Description: "The mean and standard deviation of each channel of the training set"},
			{
				Type: "object",
				Properties: props(
					"mean", numbers("One mean per channel, on the [0,1] scale", &jsonschema.Schema{Type: "number"}),
					"std", numbers("One standard deviation per channel, on the [0,1] scale", &jsonschema.Schema{Type: "number", ExclusiveMinimum: "0"}),
				),
				Required:             []string{"mean", "std"},
				AdditionalProperties: jsonschema.FalseSchema,
			},
		},
	}
}

// JSONSchemaExtend requires one of model: and models:, and a name for each of models.
func (Spec) JSONSchemaExtend(s *jsonschema.Schema) {
	s.OneOf = []*jsonschema.Schema{{Required: []string{"model"}}, {Required: []string{"models"}}}
	if models, ok := s.Properties.Get("models"); ok {
		models.MinItems = uintPtr(1)
		models.Items = &jsonschema.Schema{AllOf: []*jsonschema.Schema{models.Items, {Required: []string{"name"}}}}
	}
}

// JSONSchemaExtend forbids the parameters that a named optimizer does not take.
func (Optimizer) JSONSchemaExtend(s *jsonschema.Schema) {
	var all []string
	for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
		if pair.Key != "name" {
			all = append(all, pair.Key)
		}
	}
	for _, name := range optimizerNames {
		forbidden := jsonschema.NewProperties()
		for _, key := range all {
			if !OptimizerTakes(name, key) {
				forbidden.Set(key, jsonschema.FalseSchema)
			}
		}
		s.AllOf = append(s.AllOf, &jsonschema.Schema{
			If:   &jsonschema.Schema{Properties: props("name", &jsonschema.Schema{Const: name}), Required: []string{"name"}},
			Then: &jsonschema.Schema{Properties: forbidden},
		})
	}
	s.Description = "The optimizer and its parameters; unset parameters take Keras's defaults. " +
		"Takes: " + optimizerTakes() + "; every optimizer also takes " + strings.Join(commonOptimizerParams, ", ")
}

func optimizerTakes() string {
	var parts []string
	for _, name := range optimizerNames {
		parts = append(parts, name+" "+strings.Join(optimizerParams[name], ", "))
	}
	return strings.Join(parts, "; ")
}
