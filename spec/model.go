package spec

// Model is one architecture: its layers, in order, and optionally its own sweep and training
// settings, which override the spec's top-level ones.
type Model struct {
	// Name identifies the model in results and reports; required in models:, and the spec's name
	// by default in a one-model spec.
	Name string `yaml:"name" validate:"omitempty,max=64"`
	// Input is the input shape [height, width, channels]; by default the dataset's.
	Input  []int   `yaml:"input" validate:"omitempty,len=3,dive,gte=1"`
	Layers []Layer `yaml:"layers" validate:"dive"`
	Sweep  Sweep   `yaml:"sweep"`
	Train  Train   `yaml:"train"`
}
