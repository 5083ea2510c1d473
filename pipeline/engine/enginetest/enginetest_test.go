package enginetest

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name      string
		got, want []byte
		typ       tflite.TensorType
		maxAbs    float64
		maxLSB    int
		differ    int
		argmax    int
		wantArg   int
	}{
		{"float equal", f32bytes(1, 3, 2), f32bytes(1, 3, 2), tflite.Float32, 0, 0, 0, 1, 1},
		{"float off", f32bytes(1, 3, 4), f32bytes(1, 3, 2), tflite.Float32, 2, 0, 1, 2, 1},
		{"float nan", f32bytes(float32(math.NaN())), f32bytes(0), tflite.Float32, math.Inf(1), 0, 1, 0, 0},
		{"uint8", []byte{0, 200, 7}, []byte{2, 199, 7}, tflite.Uint8, 0, 2, 2, 1, 1},
		{"int8 sign", []byte{0xff, 1}, []byte{1, 0xff}, tflite.Int8, 0, 2, 2, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Compare(tc.got, tc.want, tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			if d.MaxAbs != tc.maxAbs || d.MaxLSB != tc.maxLSB || d.Differ != tc.differ || d.Argmax != tc.argmax || d.WantArgmax != tc.wantArg {
				t.Errorf("got %+v, want maxAbs %v maxLSB %d differ %d argmax %d/%d", d, tc.maxAbs, tc.maxLSB, tc.differ, tc.argmax, tc.wantArg)
			}
		})
	}
	if _, err := Compare([]byte{1}, []byte{1, 2}, tflite.Uint8); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := Compare([]byte{1}, []byte{1}, tflite.Int32); err == nil {
		t.Error("int32 accepted")
	}
}

func TestElemType(t *testing.T) {
	for s, want := range map[string]tflite.TensorType{
		"float32[1,1001]": tflite.Float32, "uint8[1,1,1,1280]": tflite.Uint8, "int8[4]": tflite.Int8, "int32[1]": -1,
	} {
		if got := elemType(s); got != want {
			t.Errorf("elemType(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestManifest(t *testing.T) {
	cases := Manifest(t)
	for _, c := range cases {
		if c.Model == "" || c.Input == "" || c.Output == "" || elemType(c.OutputType) < 0 {
			t.Errorf("incomplete row %+v", c)
		}
	}
}
