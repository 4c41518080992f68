package spec

import "testing"

// TestLayerUnits checks that every layer kind has its settings' field in Layer, found by its
// yaml tag, and that the kinds are listed once each.
func TestLayerUnits(t *testing.T) {
	t.Parallel()
	seen := map[LayerKind]bool{}
	for _, u := range layerUnits {
		k := u.kind()
		if seen[k] {
			t.Errorf("kind %s is listed twice", k)
		}
		seen[k] = true
		var l Layer
		if f := l.field(k); !f.IsValid() {
			t.Errorf("Layer has no field tagged yaml:%q", k)
		}
		if unitOf(k) != u {
			t.Errorf("unitOf(%s) is not its unit", k)
		}
	}
}
