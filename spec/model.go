package spec

// Model is one architecture: its layers, in order, and optionally its own sweep and training
// settings, which override the spec's top-level ones.
type Model struct {
	// Name identifies the model in results and reports; required in models:, and the spec's name
	// by default in a one-model spec.
	Name string `yaml:"name" validate:"omitempty,max=64" jsonschema:"maxLength=64,pattern=^[A-Za-z0-9][A-Za-z0-9_.-]*$,description=Model name; required in models:"`
	// Input is the input shape [height, width, channels]; by default the dataset's.
	Input  []int   `yaml:"input" validate:"omitempty,len=3,dive,gte=1" jsonschema:"minItems=3,maxItems=3,minimum=1,description=Input shape [height\\, width\\, channels]; by default the dataset's"`
	Layers []Layer `yaml:"layers" validate:"dive" jsonschema:"required,minItems=1,description=The layers in order; the last is a dense classifier with one unit per class"`
	Sweep  Sweep   `yaml:"sweep" jsonschema:"description=This model's sweep variables; they override the top-level ones of the same name"`
	Train  Train   `yaml:"train" jsonschema:"description=This model's training settings; they override the top-level ones key by key"`
	// Search and Repeats override the spec's.
	Search  string `yaml:"search" validate:"omitempty,oneof=grid bisect" jsonschema:"enum=grid,enum=bisect,description=Overrides the top-level search"`
	Repeats *int   `yaml:"repeats" validate:"omitempty,gte=1,lte=100" jsonschema:"minimum=1,maximum=100,description=Overrides the top-level repeats"`
}
