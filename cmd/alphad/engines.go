package main

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

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

// engineFactory returns an engine.New for name: "native", "xnnpack" (when
// compiled in) or "auto", which tries the compiled-in engines in order of
// preference and falls back to native when one cannot run the model,
// logging ONE warning that says why.
func engineFactory(name string, log *slog.Logger) (engine.New, error) {
	table := engineTable()
	if name != "auto" {
		for _, e := range table {
			if e.name == name {
				return e.new, nil
			}
		}
		return nil, &exitError{code: 2, err: fmt.Errorf("engine %q not compiled in (have %s)", name, strings.Join(engineNames(), ", "))}
	}
	var once sync.Once
	warn := func(why string) {
		once.Do(func() { log.Warn("engine auto: using native", "reason", why) })
	}
	if len(table) == 1 {
		warn("xnnpack not compiled in (build with libxnnpack-dev installed: make build)")
	}
	return func(m *tflite.Model, opts engine.Options) (engine.Engine, error) {
		var why []string
		for _, e := range table {
			eng, err := e.new(m, opts)
			if err == nil {
				if len(why) > 0 {
					warn(strings.Join(why, "; "))
				}
				return eng, nil
			}
			why = append(why, e.name+": "+err.Error())
		}
		return nil, fmt.Errorf("engine auto: %s", strings.Join(why, "; "))
	}, nil
}
