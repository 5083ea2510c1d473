package store

import (
	"fmt"

	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/tflite"
)

// Standalone builds the standalone .tflite of a version ("" = current):
// backbone and head in one model that any TFLite runtime loads.
func (m *Models) Standalone(name string) ([]byte, Version, error) {
	if name == "" {
		var err error
		if name, err = m.CurrentName(); err != nil {
			return nil, Version{}, err
		}
	}
	v, err := m.Version(name)
	if err != nil {
		return nil, v, err
	}
	data, err := m.ReadBackbone(v.Backbone)
	if err != nil {
		return nil, v, err
	}
	if v.Kind == KindTFLite {
		return data, v, nil
	}
	tm, err := tflite.Parse(data)
	if err != nil {
		return nil, v, fmt.Errorf("store: version %s: backbone: %w", name, err)
	}
	fm, _, err := head.FeatureModel(tm)
	if err != nil {
		return nil, v, err
	}
	h, err := m.Head(name)
	if err != nil {
		return nil, v, err
	}
	full, err := head.Export(fm, h)
	if err != nil {
		return nil, v, err
	}
	out, err := tflite.Marshal(full)
	if err != nil {
		return nil, v, fmt.Errorf("store: version %s: marshal: %w", name, err)
	}
	return out, v, nil
}

// CheckClassifier checks that data is a .tflite classifier for labels: one
// image input [1,H,W,3] and one output with a value per label. name names
// the model in errors.
func CheckClassifier(name string, data []byte, labels []string) (*tflite.Model, error) {
	tm, err := tflite.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(tm.Inputs) != 1 || len(tm.Outputs) != 1 {
		return nil, fmt.Errorf("%s: %d inputs and %d outputs, want one image input and one output (a classifier)", name, len(tm.Inputs), len(tm.Outputs))
	}
	if in := tm.Input(0).Shape; len(in) != 4 || in[0] != 1 || in[3] != 3 || in[1] < 8 || in[2] < 8 {
		return nil, fmt.Errorf("%s: input shape %v is not an image [1, height, width, 3]", name, in)
	}
	if n := tm.Output(0).NumElements(); n != len(labels) {
		return nil, fmt.Errorf("%s: %d output values for %d labels", name, n, len(labels))
	}
	return tm, nil
}

// Import commits an imported .tflite classifier (e.g. a Teachable
// Machine export) as a new version and makes it current.
func (m *Models) Import(data []byte, labels []string, source string) (Version, error) {
	if _, err := CheckClassifier(source, data, labels); err != nil {
		return Version{}, fmt.Errorf("store: import %w", err)
	}
	ref, err := m.PutBackbone(data, source)
	if err != nil {
		return Version{}, err
	}
	return m.Commit(Version{Kind: KindTFLite, Labels: labels, Backbone: ref, Source: "import " + source}, nil)
}
