package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/nnsweep/nnsweep/runner"
	"github.com/nnsweep/nnsweep/spec"
)

// Version is nnsweep's version; it is part of every result key, so results of another version
// are trained again rather than mixed in.
const Version = "0.1.0"

// keyLayer is a layer as it enters a result key: its width evaluated at the point, and what its
// kind resolved (spec.ResolvedLayer.Settings).
type keyLayer struct {
	Name       string  `json:"name"`
	Kind       string  `json:"kind"`
	Width      int64   `json:"width,omitempty"`
	Window     [2]int  `json:"window,omitempty"`
	Stride     [2]int  `json:"stride,omitempty"`
	Padding    string  `json:"padding,omitempty"`
	Activation string  `json:"activation,omitempty"`
	UseBias    bool    `json:"use_bias"`
	Rate       float64 `json:"rate,omitempty"`
	Settings   any     `json:"settings,omitempty"`
	// Layers are a residual block's inner layers (absent for every other kind, so the keys of
	// models without residual blocks are as before).
	Layers []keyLayer `json:"layers,omitempty"`
}

// keyLayers returns m's layers at point p as they enter a result key.
func keyLayers(m spec.ResolvedModel, p spec.Point) []keyLayer {
	return keyLayerList(m.Layers, p.Map())
}

// keyLayerList returns layers at the point's values vars as they enter a result key.
func keyLayerList(ls []spec.ResolvedLayer, vars map[string]int64) []keyLayer {
	layers := make([]keyLayer, len(ls))
	for i, l := range ls {
		k := keyLayer{Name: l.Name, Kind: string(l.Kind), Window: [2]int{l.Window.H, l.Window.W},
			Stride: [2]int{l.Stride.H, l.Stride.W}, Padding: l.Padding, Activation: l.Activation, UseBias: l.UseBias, Rate: l.Rate,
			Settings: l.Settings}
		if !l.Width.IsZero() {
			k.Width = l.Width.Poly().MustEval(vars)
		}
		if len(l.Layers) > 0 {
			k.Layers = keyLayerList(l.Layers, vars)
		}
		layers[i] = k
	}
	return layers
}

// pointKey hashes everything that determines a point's result: the model's name, input and
// resolved layers at the point, the training settings, the training-set limit, the dataset's
// checksum, the engine and its revision (runner.EngineKey) and nnsweep's version. Changing any
// of them trains the point again.
func pointKey(m spec.ResolvedModel, p spec.Point, limitTrain int, datasetChecksum, engine string) string {
	engine = runner.EngineKey(engine)
	layers := keyLayers(m, p)
	b, _ := json.Marshal(struct {
		Version    string        `json:"version"`
		Model      string        `json:"model"`
		Input      spec.Shape    `json:"input"`
		Classes    int           `json:"classes"`
		Layers     []keyLayer    `json:"layers"`
		Vars       spec.Point    `json:"vars"`
		Train      spec.Training `json:"train"`
		LimitTrain int           `json:"limit_train"`
		Dataset    string        `json:"dataset"`
		Engine     string        `json:"engine,omitempty"`
	}{Version, m.Name, m.Input, m.Classes, layers, p, m.Train, limitTrain, datasetChecksum, engine})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}
