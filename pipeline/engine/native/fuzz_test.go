package native

import (
	"errors"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

// fuzzSeeds are small models covering the float kernels.
func fuzzSeeds() []*tflite.Model {
	seeds := []*tflite.Model{tflitetest.Tiny(), chain()}
	var b modelBuilder
	x := b.f32(1, 5, 5, 3)
	f := b.tensor(tflite.Float32, []int{4, 3, 3, 3}, make([]float32, 108))
	bi := b.tensor(tflite.Float32, []int{4}, make([]float32, 4))
	c := b.f32(1, 3, 3, 4)
	dw := b.tensor(tflite.Float32, []int{1, 3, 3, 4}, make([]float32, 36))
	d := b.f32(1, 3, 3, 4)
	axes := b.tensor(tflite.Int32, []int{2}, []int32{1, 2})
	mn := b.f32(1, 4)
	w := b.tensor(tflite.Float32, []int{2, 4}, make([]float32, 8))
	fc := b.f32(1, 2)
	y := b.f32(1, 2)
	b.op(tflite.OpConv2D, &tflite.Conv2DOptions{Padding: tflite.PaddingValid, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Activation: tflite.ActRelu6}, []int{x, f, bi}, []int{c})
	b.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingSame, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, DepthMultiplier: 1}, []int{c, dw, -1}, []int{d})
	b.op(tflite.OpMean, &tflite.ReducerOptions{}, []int{d, axes}, []int{mn})
	b.op(tflite.OpFullyConnected, &tflite.FullyConnectedOptions{}, []int{mn, w, -1}, []int{fc})
	b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int{fc}, []int{y})
	return append(seeds, b.io([]int{x}, []int{y}))
}

// FuzzNew feeds parsed models to New and Invoke: whatever the parser
// accepts, the engine must either refuse with an error or run, never
// panic or read out of bounds.
func FuzzNew(f *testing.F) {
	for _, m := range fuzzSeeds() {
		data, err := tflite.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := tflite.Parse(data)
		if err != nil {
			return
		}
		total := 0
		for _, tn := range m.Tensors {
			total += tn.ByteSize()
		}
		if total > 1<<22 {
			return // keep each run small
		}
		e, err := New(m, engine.Options{})
		if err != nil {
			var ue *tflite.UnsupportedOpError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T %v, want *tflite.UnsupportedOpError", err, err)
			}
			return
		}
		defer e.Close()
		if err := e.Invoke(); err != nil {
			t.Fatalf("invoke: %v", err)
		}
	})
}
