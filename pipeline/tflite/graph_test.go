package tflite_test

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

func TestOpHistogram(t *testing.T) {
	m := tflitetest.Tiny()
	m.Operators = append(m.Operators, &tflite.Operator{Op: tflite.OpSoftmax, Version: 2}, &tflite.Operator{Op: tflite.OpSoftmax, Version: 1},
		&tflite.Operator{Op: tflite.OpCustom, CustomCode: "MyOp", Version: 1})
	got := m.OpHistogram()
	want := []tflite.OpCount{
		{Op: "SOFTMAX", Version: 1, Count: 2},
		{Op: "CONV_2D", Version: 1, Count: 1},
		{Op: "FULLY_CONNECTED", Version: 1, Count: 1},
		{Op: "MEAN", Version: 1, Count: 1},
		{Op: "MyOp", Version: 1, Count: 1},
		{Op: "SOFTMAX", Version: 2, Count: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OpHistogram = %v, want %v", got, want)
	}
}

func TestCutAtTiny(t *testing.T) {
	tests := []struct {
		name    string
		tensor  int
		ops     []tflite.BuiltinOperator
		tensors int
		out     []int
		wantErr bool
	}{
		{name: "features", tensor: 5, ops: []tflite.BuiltinOperator{tflite.OpConv2D, tflite.OpMean}, tensors: 6, out: []int{1, 3}},
		{name: "conv", tensor: 2, ops: []tflite.BuiltinOperator{tflite.OpConv2D}, tensors: 4, out: []int{1, 4, 4, 3}},
		{name: "whole", tensor: 9, ops: []tflite.BuiltinOperator{tflite.OpConv2D, tflite.OpMean, tflite.OpFullyConnected, tflite.OpSoftmax}, tensors: 10, out: []int{1, 2}},
		{name: "graph input", tensor: 0, wantErr: true},
		{name: "constant", tensor: 1, wantErr: true},
		{name: "out of range", tensor: 10, wantErr: true},
		{name: "negative", tensor: -1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tflitetest.Tiny()
			cut, err := m.CutAt(tt.tensor)
			if tt.wantErr {
				if err == nil {
					t.Fatal("CutAt succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ops []tflite.BuiltinOperator
			for _, op := range cut.Operators {
				ops = append(ops, op.Op)
			}
			if !slices.Equal(ops, tt.ops) || len(cut.Tensors) != tt.tensors || !slices.Equal(cut.Output(0).Shape, tt.out) {
				t.Errorf("cut: ops %v, %d tensors, output %v; want %v, %d, %v", ops, len(cut.Tensors), cut.Output(0).Shape, tt.ops, tt.tensors, tt.out)
			}
			// The cut model is a valid model on its own.
			data, err := tflite.Marshal(cut)
			if err != nil {
				t.Fatal(err)
			}
			back, err := tflite.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, cut) {
				t.Errorf("cut model does not round-trip:\n got %s\nwant %s", dump(back), dump(cut))
			}
			if !reflect.DeepEqual(m, tflitetest.Tiny()) {
				t.Error("CutAt modified its receiver")
			}
		})
	}
}

func TestFindGlobalPool(t *testing.T) {
	tests := []struct {
		path []string
		op   tflite.BuiltinOperator
	}{
		{[]string{"models", "mobilenet_v2_1.0_224_dequant_f32.tflite"}, tflite.OpAveragePool2D},
		{[]string{"models", "mobilenet_v2_1.0_224_quant.tflite"}, tflite.OpAveragePool2D},
		{[]string{"models", "mobilenet_v2_1.0_224_dequant_f32_features.tflite"}, tflite.OpAveragePool2D},
		{[]string{"models", "tf2_mobilenet_v2_1.0_224_ptq.tflite"}, tflite.OpMean},
		{[]string{"teachable-machine", "rpi4-coral-uint8", "model.tflite"}, tflite.OpMean},
	}
	for _, tt := range tests {
		t.Run(tt.path[len(tt.path)-1], func(t *testing.T) {
			m, err := tflite.ReadFile(testshared.Path(t, tt.path...))
			if err != nil {
				t.Fatal(err)
			}
			pool, ok := m.FindGlobalPool()
			if !ok {
				t.Fatal("no global pool found")
			}
			var producer *tflite.Operator
			for _, op := range m.Operators {
				if slices.Contains(op.Outputs, pool) {
					producer = op
				}
			}
			if producer == nil || producer.Op != tt.op {
				t.Fatalf("pool tensor %d produced by %v, want %s", pool, producer, tt.op)
			}
			if n := m.Tensors[pool].NumElements(); n != 1280 {
				t.Errorf("pool output %v has %d elements, want 1280", m.Tensors[pool].Shape, n)
			}
		})
	}
	t.Run("tiny", func(t *testing.T) {
		if pool, ok := tflitetest.Tiny().FindGlobalPool(); !ok || pool != 5 {
			t.Errorf("FindGlobalPool = %d, %v; want 5, true", pool, ok)
		}
	})
	t.Run("none", func(t *testing.T) {
		m := tflitetest.Tiny()
		m.Tensors[4].Data = []byte{1, 0, 0, 0, 3, 0, 0, 0} // MEAN over axes 1, 3
		if pool, ok := m.FindGlobalPool(); ok {
			t.Errorf("FindGlobalPool = %d, want none", pool)
		}
	})
}

// TestCutClassifierToFeatures cuts the float classifier at its global pool
// and compares the result with the shared feature model, which was cut
// from the same network by other tools.
func TestCutClassifierToFeatures(t *testing.T) {
	for _, tt := range []struct{ full, features string }{
		{"mobilenet_v2_1.0_224_dequant_f32.tflite", "mobilenet_v2_1.0_224_dequant_f32_features.tflite"},
		{"mobilenet_v2_1.0_224_quant.tflite", "mobilenet_v2_1.0_224_quant_features.tflite"},
	} {
		t.Run(tt.full, func(t *testing.T) {
			full, err := tflite.ReadFile(testshared.Path(t, "models", tt.full))
			if err != nil {
				t.Fatal(err)
			}
			want, err := tflite.ReadFile(testshared.Path(t, "models", tt.features))
			if err != nil {
				t.Fatal(err)
			}
			pool, ok := full.FindGlobalPool()
			if !ok {
				t.Fatal("no global pool")
			}
			got, err := full.CutAt(pool)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Output(0).Shape, []int{1, 1, 1, 1280}) {
				t.Errorf("cut output shape %v, want [1 1 1 1280]", got.Output(0).Shape)
			}
			// The shared feature model keeps the head's now unused tensors;
			// the cut drops them, so compare operators and what they read.
			if len(got.Operators) != len(want.Operators) {
				t.Fatalf("cut has %d ops, features model %d", len(got.Operators), len(want.Operators))
			}
			if len(got.Tensors) >= len(full.Tensors) {
				t.Errorf("cut kept %d of %d tensors", len(got.Tensors), len(full.Tensors))
			}
			for i, op := range got.Operators {
				w := want.Operators[i]
				if op.Op != w.Op || op.Version != w.Version || !reflect.DeepEqual(op.Options, w.Options) {
					t.Errorf("operator %d: %s v%d %+v, want %s v%d %+v", i, op.Op, op.Version, op.Options, w.Op, w.Version, w.Options)
				}
				for j, in := range op.Inputs {
					a, b := got.Tensors[in], want.Tensors[w.Inputs[j]]
					if a.Type != b.Type || !slices.Equal(a.Shape, b.Shape) || !bytes.Equal(a.Data, b.Data) {
						t.Errorf("operator %d input %d: %s%v, want %s%v (or data differs)", i, j, a.Type, a.Shape, b.Type, b.Shape)
					}
				}
			}
		})
	}
}

// TestCutRunsInTFLite runs the cut float classifier in the real TFLite
// runtime and compares with the golden outputs of the shared feature model.
func TestCutRunsInTFLite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node")
	}
	oracle := testshared.Oracle(t)
	cuts := map[string]string{
		"models/mobilenet_v2_1.0_224_dequant_f32_features.tflite": "mobilenet_v2_1.0_224_dequant_f32.tflite",
		"models/mobilenet_v2_1.0_224_quant_features.tflite":       "mobilenet_v2_1.0_224_quant.tflite",
	}
	ran := 0
	for _, c := range goldenCases(t) {
		full, ok := cuts[c.model]
		if !ok || c.image != "images/grace_hopper" {
			continue
		}
		t.Run(full, func(t *testing.T) {
			m, err := tflite.ReadFile(testshared.Path(t, "models", full))
			if err != nil {
				t.Fatal(err)
			}
			pool, _ := m.FindGlobalPool()
			cut, err := m.CutAt(pool)
			if err != nil {
				t.Fatal(err)
			}
			data, err := tflite.Marshal(cut)
			if err != nil {
				t.Fatal(err)
			}
			got := runOracle(t, oracle, data, testshared.Path(t, "golden", c.input))
			if want := readShared(t, "golden", c.output); !bytes.Equal(got, want) {
				t.Errorf("cut %s on %s differs from golden %s", full, c.image, c.output)
			}
			ran++
		})
	}
	if ran != 2 {
		t.Errorf("ran %d cut models, want 2", ran)
	}
}
