package native

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// modelBuilder assembles small in-memory models for the op tests.
type modelBuilder struct{ m tflite.Model }

// tensor adds a tensor; data (float32s, int32s or bytes) makes it constant.
func (b *modelBuilder) tensor(typ tflite.TensorType, shape []int, data any) int {
	t := &tflite.Tensor{Index: len(b.m.Tensors), Type: typ, Shape: shape}
	switch d := data.(type) {
	case nil:
	case []float32:
		t.Data = make([]byte, 4*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
		}
	case []int32:
		t.Data = make([]byte, 4*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint32(t.Data[4*i:], uint32(v))
		}
	case []byte:
		t.Data = d
	default:
		panic("unsupported data")
	}
	b.m.Tensors = append(b.m.Tensors, t)
	return t.Index
}

func (b *modelBuilder) f32(shape ...int) int { return b.tensor(tflite.Float32, shape, nil) }

func (b *modelBuilder) op(code tflite.BuiltinOperator, opts any, ins, outs []int) {
	b.m.Operators = append(b.m.Operators, &tflite.Operator{
		Index: len(b.m.Operators), Op: code, Version: 1, Inputs: ins, Outputs: outs, Options: opts,
	})
}

func (b *modelBuilder) io(ins, outs []int) *tflite.Model {
	b.m.Inputs, b.m.Outputs = ins, outs
	return &b.m
}

// runF32 builds m, copies the float inputs in, invokes and returns a copy
// of output 0 as float32s. threads > 1 uses the worker pool.
func runF32(t *testing.T, m *tflite.Model, threads int, inputs ...[]float32) []float32 {
	t.Helper()
	e, err := New(m, engine.Options{Threads: threads})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer e.Close()
	for i, in := range inputs {
		copy(engine.Float32s(e.Input(i)), in)
	}
	if err := e.Invoke(); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return append([]float32(nil), engine.Float32s(e.Output(0))...)
}

// newErr builds m and returns New's error.
func newErr(m *tflite.Model) error {
	e, err := New(m, engine.Options{})
	if err == nil {
		e.Close()
	}
	return err
}

// writeModel writes m to file name in a temporary directory (for the
// oracle) and returns the path and m as the parser reads it back.
func writeModel(t testing.TB, m *tflite.Model, name string) (file string, parsed *tflite.Model) {
	t.Helper()
	data, err := tflite.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if parsed, err = tflite.Parse(data); err != nil {
		t.Fatal(err)
	}
	return file, parsed
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

func clampRef(v float32, act tflite.Activation) float32 {
	switch act {
	case tflite.ActRelu:
		return max(v, 0)
	case tflite.ActRelu6:
		return min(max(v, 0), 6)
	case tflite.ActReluN1To1:
		return min(max(v, -1), 1)
	}
	return v
}
