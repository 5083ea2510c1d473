//go:build !xnnpack || !cgo

package daemon

func xnnpackTestEngines() []testEngine { return nil }
