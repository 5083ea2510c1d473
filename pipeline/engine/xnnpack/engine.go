//go:build xnnpack && cgo

package xnnpack

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// Engine runs one model as a single XNNPACK runtime. It is not safe for
// concurrent use.
type Engine struct {
	rt      *runtime
	inputs  [][]byte
	outputs [][]byte
	mem     []unsafe.Pointer // C allocations: I/O buffers and constants
}

var _ engine.Engine = (*Engine)(nil)

// New maps m onto one XNNPACK subgraph and compiles it. It fails, naming the
// operator, when m uses an op or a parameter XNNPACK cannot run.
func New(m *tflite.Model, opts engine.Options) (*Engine, error) {
	if m == nil {
		return nil, errors.New("xnnpack: nil model")
	}
	e := &Engine{}
	if err := e.build(m, opts); err != nil {
		e.Close()
		return nil, fmt.Errorf("xnnpack: %w", err)
	}
	return e, nil
}

func (e *Engine) build(m *tflite.Model, opts engine.Options) error {
	sg, err := newSubgraph(len(m.Inputs) + len(m.Outputs))
	if err != nil {
		return err
	}
	defer sg.delete()
	b := newBuilder(m, sg, e.alloc)
	if err := b.build(); err != nil {
		return err
	}
	var ext []external
	for i, ti := range m.Inputs {
		buf, err := e.alloc(m.Tensors[ti].ByteSize())
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		e.inputs = append(e.inputs, buf)
		ext = append(ext, external{id: uint32(i), data: unsafe.Pointer(&buf[0])})
	}
	for i, ti := range m.Outputs {
		buf, err := e.alloc(m.Tensors[ti].ByteSize())
		if err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
		e.outputs = append(e.outputs, buf)
		ext = append(ext, external{id: uint32(len(m.Inputs) + i), data: unsafe.Pointer(&buf[0])})
	}
	threads := max(opts.Threads, 1)
	rt, err := sg.newRuntime(threads)
	if err != nil {
		return err
	}
	e.rt = rt
	return rt.setup(ext)
}

// alloc returns n bytes (at least 1) of C memory owned by the engine.
func (e *Engine) alloc(n int) ([]byte, error) {
	n = max(n, 1)
	p, err := cAlloc(n)
	if err != nil {
		return nil, err
	}
	e.mem = append(e.mem, p)
	return unsafe.Slice((*byte)(p), n), nil
}

// Name is "xnnpack".
func (e *Engine) Name() string { return "xnnpack" }

// Input is the storage of model input i (C memory, valid until Close).
func (e *Engine) Input(i int) []byte { return e.inputs[i] }

// Output is the storage of model output i (C memory, valid until Close).
func (e *Engine) Output(i int) []byte { return e.outputs[i] }

// Invoke runs the model once.
func (e *Engine) Invoke() error {
	if e.rt == nil {
		return errors.New("xnnpack: invoke after close")
	}
	if err := e.rt.invoke(); err != nil {
		return fmt.Errorf("xnnpack: %w", err)
	}
	return nil
}

// Close frees the runtime, the thread pool and all buffers. It is safe to
// call more than once.
func (e *Engine) Close() error {
	if e.rt != nil {
		e.rt.delete()
		e.rt = nil
	}
	for _, p := range e.mem {
		cFree(p)
	}
	e.mem, e.inputs, e.outputs = nil, nil, nil
	return nil
}
