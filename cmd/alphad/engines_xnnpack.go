//go:build xnnpack && cgo

package main

import (
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/xnnpack"
	"github.com/alphad/alphad/pipeline/tflite"
)

// xnnpackEngines is the XNNPACK engine, compiled in with the xnnpack tag
// (needs cgo and Debian's libxnnpack-dev + libpthreadpool-dev).
func xnnpackEngines() []engineEntry {
	return []engineEntry{{name: "xnnpack", new: newXNNPACK}}
}

func newXNNPACK(m *tflite.Model, opts engine.Options) (engine.Engine, error) {
	e, err := xnnpack.New(m, opts)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return e, nil
}
