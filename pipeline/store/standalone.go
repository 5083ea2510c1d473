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
