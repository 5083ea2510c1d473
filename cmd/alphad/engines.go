package main

import (
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/tflite"
)

// engineTable lists the engines compiled into this binary, in order of
// preference for --engine auto. engines_xnnpack.go adds xnnpack when built
// with the xnnpack tag.
func engineTable() []engineEntry {
	t := []engineEntry{}
	t = append(t, xnnpackEngines()...)
	return append(t, engineEntry{name: "native", new: newNative})
}

type engineEntry struct {
	name string
	new  engine.New
}

func engineNames() []string {
	var n []string
	for _, e := range engineTable() {
		n = append(n, e.name)
	}
	return n
}

// newNative adapts native.New to engine.New.
func newNative(m *tflite.Model, opts engine.Options) (engine.Engine, error) {
	e, err := native.New(m, opts)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return e, nil
}
