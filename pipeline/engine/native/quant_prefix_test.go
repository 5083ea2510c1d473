package native

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestQuantLayerPrefixes cuts the quantized MobileNetV2 models after
// chosen operators (the first convolutions and depthwise layers, and one
// 7×7 layer near the end) and holds every prefix's
// output to the real TFLite runtime bit for bit, so a kernel that is off
// by one LSB in an inner layer fails here even if the final
// classification absorbs it. Every integer dot-product kernel this CPU
// has runs each prefix.
func TestQuantLayerPrefixes(t *testing.T) {
	testshared.Oracle(t)
	for _, tc := range []struct {
		model, input string
		cuts         []int
	}{
		{"models/mobilenet_v2_1.0_224_quant.tflite", "grace_hopper_224_u8.raw", []int{0, 1, 2, 3, 6, 55}},
		{"models/tf2_mobilenet_v2_1.0_224_ptq.tflite", "parrot_224_u8.raw", []int{1, 2, 3, 4, 7, 57}},
	} {
		m, err := tflite.ReadFile(testshared.Path(t, tc.model))
		if err != nil {
			t.Fatal(err)
		}
		input, err := os.ReadFile(testshared.Path(t, "golden", "inputs", tc.input))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range tc.cuts {
			if k >= len(m.Operators) {
				t.Fatalf("%s has %d operators, cut %d", tc.model, len(m.Operators), k)
			}
			name := fmt.Sprintf("%s/op%d-%s", filepath.Base(tc.model), k, tflite.OpName(m.Operators[k].Op))
			t.Run(name, func(t *testing.T) {
				sub := *m
				sub.Operators = m.Operators[:k+1]
				sub.Outputs = []int{m.Operators[k].Outputs[0]}
				file, cut := writeModel(t, &sub, "cut.tflite")
				want := enginetest.Oracle(t, file, input)
				for _, v := range dotVariants() {
					e, err := build(cut, engine.Options{Threads: 2}, v.bo)
					if err != nil {
						t.Fatal(err)
					}
					copy(e.Input(0), input)
					if err := e.Invoke(); err != nil {
						t.Fatal(err)
					}
					got := e.Output(0)
					e.Close()
					if d, at, _ := compareQuant(got, want, cut.Output(0).Type == tflite.Int8); d != 0 {
						t.Errorf("%s: %d LSB off the runtime at %d (got %d, want %d)", v.name, d, at, got[at], want[at])
					}
				}
			})
		}
	}
}
