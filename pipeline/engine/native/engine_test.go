package native

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

func assertUnsupported(t *testing.T, err error, op string) {
	t.Helper()
	var ue *tflite.UnsupportedOpError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v, want *tflite.UnsupportedOpError", err)
	}
	if ue.Op != op || !strings.HasPrefix(err.Error(), "native: tflite: unsupported op "+op) {
		t.Errorf("error %q names op %q, want %s", err, ue.Op, op)
	}
}

func TestUnknownOp(t *testing.T) {
	var b modelBuilder
	x, y := b.f32(4), b.f32(4)
	b.op(tflite.BuiltinOperator(23), nil, []int{x}, []int{y}) // RESIZE_BILINEAR
	err := newErr(b.io([]int{x}, []int{y}))
	var ue *tflite.UnsupportedOpError
	if !errors.As(err, &ue) || ue.Op != "RESIZE_BILINEAR" || ue.Index != 0 || ue.Version != 1 {
		t.Fatalf("error %v, want unsupported RESIZE_BILINEAR at operator 0 version 1", err)
	}
}

// chain is x → RELU → RESHAPE → ADD(·, x) → SOFTMAX: enough ops for the
// arena to reuse memory, an alias, and a model input read late.
func chain() *tflite.Model {
	var b modelBuilder
	x := b.f32(1, 2, 2, 3)
	r := b.f32(1, 2, 2, 3)
	s := b.f32(1, 12)
	xs := b.f32(1, 12)
	a := b.f32(1, 12)
	y := b.f32(1, 12)
	b.op(tflite.OpRelu, nil, []int{x}, []int{r})
	b.op(tflite.OpReshape, &tflite.ReshapeOptions{NewShape: []int{1, 12}}, []int{r}, []int{s})
	b.op(tflite.OpReshape, &tflite.ReshapeOptions{NewShape: []int{1, 12}}, []int{x}, []int{xs})
	b.op(tflite.OpAdd, &tflite.AddOptions{}, []int{s, xs}, []int{a})
	b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int{a}, []int{y})
	return b.io([]int{x}, []int{y})
}

func TestEngineInvokeTwiceAndClose(t *testing.T) {
	defer goleak.VerifyNone(t)
	m := chain()
	e, err := New(m, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	in := randF32(seeded(1), 12)
	copy(engine.Float32s(e.Input(0)), in)
	var first []float32
	for i := 0; i < 2; i++ {
		if err := e.Invoke(); err != nil {
			t.Fatal(err)
		}
		out := engine.Float32s(e.Output(0))
		if i == 0 {
			first = append(first, out...)
			continue
		}
		closeTo(t, out, first, 0) // input untouched by the arena
	}
	want := make([]float32, 12)
	for i, v := range in {
		want[i] = max(v, 0) + v
	}
	softmax(want, want, 1)
	closeTo(t, first, want, 1e-6)
	for _, b := range [][]byte{e.Input(0), e.Output(0)} {
		if p := uintptrOf(b); p%16 != 0 {
			t.Errorf("buffer at %#x not 16-byte aligned", p)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Invoke(); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
}

func TestInvokeAllocatesNothing(t *testing.T) {
	models := []struct {
		name string
		m    func(t *testing.T) *tflite.Model
		runs int
	}{
		{"chain", func(*testing.T) *tflite.Model { return chain() }, 20},
		{"teachable machine int8", func(t *testing.T) *tflite.Model {
			m, err := tflite.ReadFile(testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite"))
			if err != nil {
				t.Fatal(err)
			}
			return m
		}, 2},
		{"mobilenet float (fused blocks)", func(t *testing.T) *tflite.Model {
			m, err := tflite.ReadFile(testshared.Path(t, "models", "mobilenet_v2_1.0_224_dequant_f32_features.tflite"))
			if err != nil {
				t.Fatal(err)
			}
			return m
		}, 2},
	}
	for _, tc := range models {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m(t)
			for _, threads := range []int{1, 2} {
				e, err := New(m, engine.Options{Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				if n := testing.AllocsPerRun(tc.runs, func() { _ = e.Invoke() }); n != 0 {
					t.Errorf("threads %d: %v allocs per Invoke, want 0", threads, n)
				}
				e.Close()
			}
		})
	}
}
