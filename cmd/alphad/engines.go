package main

import (
	"github.com/alphad/alphad/pipeline/engine"
)

// engineTable lists the engines compiled into this binary, in order of
// preference for --engine auto. engines_xnnpack.go adds xnnpack when built
// with the xnnpack tag.
func engineTable() []engineEntry {
	t := []engineEntry{}
	t = append(t, xnnpackEngines()...)
	return append(t, engineEntry{name: "native", new: nil})
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
