// Package engine defines the small interface every inference engine
// implements (the pure-Go native engine and the cgo XNNPACK engine), plus the
// helpers to choose one by name.
package engine

import (
	"unsafe"

	"github.com/alphad/alphad/pipeline/tflite"
)

// Engine runs one model. Input and output buffers are allocated once, when
// the engine is built; Invoke reads the inputs and writes the outputs and
// allocates nothing. An Engine is not safe for concurrent use.
type Engine interface {
	// Name is the engine's short name ("native", "xnnpack").
	Name() string
	// Input is the raw little-endian storage of model input i, sized and
	// typed as Model().Input(i). Write into it before Invoke.
	Input(i int) []byte
	// Output is the raw storage of model output i, valid after Invoke and
	// until the next Invoke or Close.
	Output(i int) []byte
	// Invoke runs the model once.
	Invoke() error
	// Close frees the engine's resources; the engine is unusable afterwards.
	Close() error
}

// Options are the settings common to all engines.
type Options struct {
	// Threads is the number of threads the heavy ops are split over;
	// 0 or 1 means the calling goroutine only.
	Threads int
}

// New builds an engine for a validated model.
type New func(m *tflite.Model, opts Options) (Engine, error)

// Float32s views a little-endian byte buffer as float32s (no copy). len(b)
// must be a multiple of 4 and b suitably aligned, as engine buffers are.
func Float32s(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// Int8s views a byte buffer as int8s (no copy).
func Int8s(b []byte) []int8 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}
