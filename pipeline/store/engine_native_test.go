//go:build !xnnpack || !cgo

package store

import "github.com/alphad/alphad/pipeline/engine"

// fastEngine is the native engine when XNNPACK is not compiled in.
func fastEngine() (string, engine.New) { return "native", newNative }
