//go:build !xnnpack || !cgo

package main

func xnnpackEngines() []engineEntry { return nil }
