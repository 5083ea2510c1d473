//go:build xnnpack && cgo

package store

import (
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/xnnpack"
	"github.com/alphad/alphad/pipeline/tflite"
)

// fastEngine embeds real datasets with XNNPACK when it is compiled in
// (≈10 ms per image instead of ≈150 ms).
func fastEngine() (string, engine.New) {
	return "xnnpack", func(m *tflite.Model, o engine.Options) (engine.Engine, error) {
		e, err := xnnpack.New(m, o)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}
