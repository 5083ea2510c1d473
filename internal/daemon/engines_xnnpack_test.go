//go:build xnnpack && cgo

package daemon

import (
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/xnnpack"
	"github.com/alphad/alphad/pipeline/tflite"
)

func xnnpackTestEngines() []testEngine {
	return []testEngine{{"xnnpack", func(m *tflite.Model, o engine.Options) (engine.Engine, error) {
		e, err := xnnpack.New(m, o)
		if err != nil {
			return nil, err
		}
		return e, nil
	}}}
}
