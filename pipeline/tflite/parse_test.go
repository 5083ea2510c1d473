package tflite_test

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

// sharedModel describes one model of ../shared with what must be true of it.
type sharedModel struct {
	path       []string
	in, out    []int
	inType     tflite.TensorType
	outType    tflite.TensorType
	ops        int
	histogram  map[string]int // "OP vN" → count, checked when non-nil
	perChannel bool           // has per-channel quantized weights
}

var sharedModels = []sharedModel{
	{
		path: []string{"models", "mobilenet_v2_1.0_224_dequant_f32.tflite"},
		in:   []int{1, 224, 224, 3}, out: []int{1, 1001}, inType: tflite.Float32, outType: tflite.Float32, ops: 66,
		histogram: map[string]int{"ADD v1": 10, "AVERAGE_POOL_2D v1": 1, "CONV_2D v1": 36, "DEPTHWISE_CONV_2D v1": 17, "RESHAPE v1": 1, "SOFTMAX v1": 1},
	},
	{
		path: []string{"models", "mobilenet_v2_1.0_224_dequant_f32_features.tflite"},
		in:   []int{1, 224, 224, 3}, out: []int{1, 1, 1, 1280}, inType: tflite.Float32, outType: tflite.Float32, ops: 63,
	},
	{
		path: []string{"models", "mobilenet_v2_1.0_224_quant.tflite"},
		in:   []int{1, 224, 224, 3}, out: []int{1, 1001}, inType: tflite.Uint8, outType: tflite.Uint8, ops: 66,
	},
	{
		path: []string{"models", "mobilenet_v2_1.0_224_quant_features.tflite"},
		in:   []int{1, 224, 224, 3}, out: []int{1, 1, 1, 1280}, inType: tflite.Uint8, outType: tflite.Uint8, ops: 63,
	},
	{
		path: []string{"models", "tf2_mobilenet_v2_1.0_224_ptq.tflite"},
		in:   []int{1, 224, 224, 3}, out: []int{1, 1001}, inType: tflite.Uint8, outType: tflite.Uint8, ops: 68,
		histogram:  map[string]int{"ADD v2": 10, "CONV_2D v3": 36, "DEPTHWISE_CONV_2D v3": 17, "MEAN v2": 1, "QUANTIZE v1": 2, "RESHAPE v1": 1, "SOFTMAX v2": 1},
		perChannel: true,
	},
	{
		path: []string{"teachable-machine", "rpi4-coral-uint8", "model.tflite"},
		in:   []int{1, 224, 224, 3}, out: []int{1, 2}, inType: tflite.Uint8, outType: tflite.Uint8, ops: 73,
		histogram:  map[string]int{"ADD v2": 10, "CONV_2D v3": 35, "DEPTHWISE_CONV_2D v3": 17, "FULLY_CONNECTED v4": 2, "MEAN v2": 1, "PAD v2": 5, "QUANTIZE v1": 2, "SOFTMAX v2": 1},
		perChannel: true,
	},
}

func (s sharedModel) name() string { return s.path[len(s.path)-1] }

func readShared(t testing.TB, elem ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(testshared.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseSharedModels(t *testing.T) {
	for _, s := range sharedModels {
		t.Run(strings.Join(s.path, "/"), func(t *testing.T) {
			m, err := tflite.ReadFile(testshared.Path(t, s.path...))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
				t.Fatalf("%d inputs, %d outputs, want 1 and 1", len(m.Inputs), len(m.Outputs))
			}
			in, out := m.Input(0), m.Output(0)
			if !slices.Equal(in.Shape, s.in) || in.Type != s.inType {
				t.Errorf("input %s%v, want %s%v", in.Type, in.Shape, s.inType, s.in)
			}
			if !slices.Equal(out.Shape, s.out) || out.Type != s.outType {
				t.Errorf("output %s%v, want %s%v", out.Type, out.Shape, s.outType, s.out)
			}
			if len(m.Operators) != s.ops {
				t.Errorf("%d operators, want %d", len(m.Operators), s.ops)
			}
			if s.histogram != nil {
				got := map[string]int{}
				for _, c := range m.OpHistogram() {
					got[c.String()] = c.Count
				}
				if !mapsEqual(got, s.histogram) {
					t.Errorf("op histogram %v, want %v", got, s.histogram)
				}
			}
			perChannel := false
			for i, tn := range m.Tensors {
				if tn.Index != i {
					t.Fatalf("tensor %d has Index %d", i, tn.Index)
				}
				if tn.IsConst() && len(tn.Data) != tn.ByteSize() {
					t.Errorf("tensor %d: %d bytes, want %d", i, len(tn.Data), tn.ByteSize())
				}
				if tn.Quant.PerChannel() {
					perChannel = true
					if n := tn.Shape[tn.Quant.Axis]; len(tn.Quant.Scale) != n {
						t.Errorf("tensor %d: %d scales for dim of %d", i, len(tn.Quant.Scale), n)
					}
				}
			}
			if perChannel != s.perChannel {
				t.Errorf("per-channel quantization %v, want %v", perChannel, s.perChannel)
			}
			for _, op := range m.Operators {
				if op.Op == tflite.OpConv2D {
					o, ok := op.Options.(*tflite.Conv2DOptions)
					if !ok || o.DilationW != 1 || o.DilationH != 1 || o.StrideW < 1 {
						t.Errorf("operator %d: conv options %+v", op.Index, op.Options)
					}
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestReadFileNamesFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tflite")
	if err := os.WriteFile(bad, []byte("not a model at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bad, filepath.Join(dir, "missing.tflite")} {
		_, err := tflite.ReadFile(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("ReadFile(%s) = %v, want an error naming the file", p, err)
		}
	}
	_, err := tflite.ReadFile(bad)
	var fe *tflite.FormatError
	if !errors.As(err, &fe) {
		t.Errorf("ReadFile(bad) = %v, want a *FormatError", err)
	}
}

// TestParseCorrupt feeds damaged versions of a small valid model (built by
// Marshal) and of the Teachable Machine model: all must fail with a
// *FormatError, never panic.
func TestParseCorrupt(t *testing.T) {
	tiny, err := tflite.Marshal(tinyModel())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tflite.Parse(tiny); err != nil {
		t.Fatalf("tiny model: %v", err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	copy(random[4:], "TFL3")
	setU32 := func(b []byte, pos int, v uint32) []byte {
		b = slices.Clone(b)
		binary.LittleEndian.PutUint32(b[pos:], v)
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte("TFL3")},
		{"wrong magic", append([]byte{0, 0, 0, 0}, []byte("ONNX....")...)},
		{"magic only", []byte{8, 0, 0, 0, 'T', 'F', 'L', '3'}},
		{"random", random},
		{"root past end", setU32(tiny, 0, uint32(len(tiny)))},
		{"root huge", setU32(tiny, 0, 0xfffffff0)},
		{"truncated half", tiny[:len(tiny)/2]},
		{"truncated 16", tiny[:16]},
		{"truncated last byte", tiny[:len(tiny)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tflite.Parse(tt.data)
			var fe *tflite.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse = %v, want a *FormatError", err)
			}
		})
	}

	// Every truncation and many bit flips of the tiny model: never a
	// panic, never an error other than the two typed ones.
	check := func(t *testing.T, data []byte) {
		t.Helper()
		_, err := tflite.Parse(data)
		var fe *tflite.FormatError
		var ue *tflite.UnsupportedOpError
		if err != nil && !errors.As(err, &fe) && !errors.As(err, &ue) {
			t.Fatalf("Parse = %T %v, want a typed error", err, err)
		}
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(tiny) {
			_, err := tflite.Parse(tiny[:n])
			var fe *tflite.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(tiny[:%d]) = %v, want a *FormatError", n, err)
			}
		}
	})
	t.Run("bit flips", func(t *testing.T) {
		for i := range 20000 {
			b := slices.Clone(tiny)
			for range 1 + i%3 {
				p := rng.IntN(len(b))
				b[p] ^= 1 << rng.IntN(8)
			}
			check(t, b)
		}
	})
	t.Run("teachable machine bit flips", func(t *testing.T) {
		tm := readShared(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite")
		b := slices.Clone(tm)
		for range 200 {
			p := rng.IntN(64 * 1024) // the tables sit before the weights
			old := b[p]
			b[p] ^= 1 << rng.IntN(8)
			check(t, b)
			b[p] = old
		}
	})
}

func TestUnsupportedOp(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(m *tflite.Model)
		op     string
		reason string
	}{
		{"unknown builtin", func(m *tflite.Model) { m.Operators[0].Op = 23 }, "RESIZE_BILINEAR", ""},
		{"code beyond table", func(m *tflite.Model) { m.Operators[0].Op = 999 }, "BUILTIN_999", ""},
		{"custom", func(m *tflite.Model) {
			m.Operators[0].Op = tflite.OpCustom
			m.Operators[0].CustomCode = "TFLite_Detection_PostProcess"
		}, "TFLite_Detection_PostProcess", "custom op"},
		{"version too new", func(m *tflite.Model) { m.Operators[0].Version = 99 }, "CONV_2D", "supported versions"},
		{"int16 activations", func(m *tflite.Model) {
			m.Tensors[0].Type = tflite.Int16
			m.Tensors[0].Quant = &tflite.Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{0}}
		}, "CONV_2D", "int16 input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tinyModel()
			tt.edit(m)
			if m.Operators[0].Op != tflite.OpConv2D {
				m.Operators[0].Options = nil
			}
			data, err := tflite.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tflite.Parse(data)
			var ue *tflite.UnsupportedOpError
			if !errors.As(err, &ue) {
				t.Fatalf("Parse = %v, want *UnsupportedOpError", err)
			}
			if ue.Op != tt.op || ue.Index != 0 || !strings.Contains(ue.Reason, tt.reason) {
				t.Errorf("got %+v, want op %s at 0, reason containing %q", ue, tt.op, tt.reason)
			}
			got, list, err := tflite.Inspect(data)
			if err != nil || len(list) != 1 || got == nil {
				t.Errorf("Inspect = %v, %v, want the model and one unsupported op", list, err)
			}
		})
	}
}

// TestValidate checks that inconsistent models are rejected by Marshal
// (which validates its output with the parser) with a *FormatError.
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *tflite.Model)
		want string
	}{
		{"short data", func(m *tflite.Model) { m.Tensors[1].Data = m.Tensors[1].Data[:4] }, "bytes of data"},
		{"negative dim", func(m *tflite.Model) { m.Tensors[2].Shape[1] = -3 }, "negative"},
		{"huge shape", func(m *tflite.Model) { m.Tensors[2].Shape = []int{1 << 20, 1 << 20, 1} }, "elements"},
		{"bad type", func(m *tflite.Model) { m.Tensors[2].Type = tflite.String }, "type string"},
		{"input index", func(m *tflite.Model) { m.Operators[0].Inputs[0] = 77 }, "out of range"},
		{"required input omitted", func(m *tflite.Model) { m.Operators[0].Inputs[1] = -1 }, "out of range"},
		{"graph output index", func(m *tflite.Model) { m.Outputs[0] = 99 }, "out of range"},
		{"no outputs", func(m *tflite.Model) { m.Outputs = nil }, "outputs"},
		{"scale count", func(m *tflite.Model) {
			m.Tensors[1].Quant = &tflite.Quantization{Scale: []float32{1, 2, 3, 4}, ZeroPoint: []int64{0, 0, 0, 0}}
		}, "scales"},
		{"zero point count", func(m *tflite.Model) {
			m.Tensors[1].Quant = &tflite.Quantization{Scale: []float32{1, 2}, ZeroPoint: []int64{0}}
		}, "zero points"},
		{"quant axis", func(m *tflite.Model) {
			m.Tensors[1].Quant = &tflite.Quantization{Scale: []float32{1, 2}, ZeroPoint: []int64{0, 0}, Axis: 7}
		}, "quantized dimension"},
		{"arity", func(m *tflite.Model) { m.Operators[0].Inputs = m.Operators[0].Inputs[:1] }, "inputs"},
		{"stride", func(m *tflite.Model) { m.Operators[0].Options.(*tflite.Conv2DOptions).StrideW = 0 }, "stride"},
		{"use before def", func(m *tflite.Model) {
			m.Operators[0].Inputs[0], m.Operators[0].Outputs[0] = m.Operators[0].Outputs[0], m.Operators[0].Inputs[0]
		}, "before it is computed"},
		{"output never computed", func(m *tflite.Model) { m.Operators = nil }, "never computed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tinyModel()
			tt.edit(m)
			_, err := tflite.Marshal(m)
			var fe *tflite.FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Marshal = %v, want a *FormatError containing %q", err, tt.want)
			}
		})
	}
}

func TestOpName(t *testing.T) {
	tests := []struct {
		op   tflite.BuiltinOperator
		want string
	}{
		{tflite.OpAdd, "ADD"},
		{tflite.OpConv2D, "CONV_2D"},
		{tflite.OpHardSwish, "HARD_SWISH"},
		{tflite.OpCustom, "CUSTOM"},
		{150, "GELU"},
		{-1, "BUILTIN_-1"},
		{5000, "BUILTIN_5000"},
	}
	for _, tt := range tests {
		if got := tflite.OpName(tt.op); got != tt.want {
			t.Errorf("OpName(%d) = %q, want %q", tt.op, got, tt.want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"mobilenet_v2_1.0_224_dequant_f32.tflite", "tf2_mobilenet_v2_1.0_224_ptq.tflite"} {
		data := readShared(b, "models", name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := tflite.Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func tinyModel() *tflite.Model { return tflitetest.Tiny() }
