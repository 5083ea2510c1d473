package main

import (
	"encoding/json"
	"io"
	"time"
)

// The --json shapes of the listing commands (docs/commands.md). Field
// names are snake_case and stable; a missing value is null.

type classJSON struct {
	Name    string `json:"name"`
	Samples int    `json:"samples"`
}

type sampleJSON struct {
	ID     string    `json:"id"`
	Label  string    `json:"label"`
	Time   time.Time `json:"time"`
	Burst  int64     `json:"burst"`
	Source string    `json:"source"`
}

type versionJSON struct {
	Version    string    `json:"version"`
	Current    bool      `json:"current"`
	Created    time.Time `json:"created"`
	Kind       string    `json:"kind"`
	Classes    []string  `json:"classes"`
	Samples    int       `json:"samples"`
	Accuracy   *float64  `json:"accuracy"`    // 0..1, null without a training report
	AccuracyOn string    `json:"accuracy_on"` // "validation" or "training"
	Backbone   string    `json:"backbone"`
	Source     string    `json:"source"`
}

// printJSON prints v as indented JSON with a final newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
