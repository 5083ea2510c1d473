//go:build xnnpack && cgo

package xnnpack

import (
	"path/filepath"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/tflite"
)

// The tolerances the package doc promises. Measured on x86-64: float rows
// within 1e-5, quantized rows bit-exact; 1 LSB leaves room for other CPUs'
// kernels.
const (
	tolF   = 1e-4
	tolLSB = 1
)

func newXNNPACK(m *tflite.Model, opts engine.Options) (engine.Engine, error) {
	e, err := New(m, opts)
	if err != nil {
		return nil, err
	}
	return e, nil
}

func newNative(m *tflite.Model, opts engine.Options) (engine.Engine, error) {
	e, err := native.New(m, opts)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// TestGolden compares every row of ../shared/golden/MANIFEST.tsv with the
// real TFLite outputs.
func TestGolden(t *testing.T) {
	enginetest.Golden(t, newXNNPACK, tolF, tolLSB)
}

// TestAgreeNativeTeachableMachine runs a real Teachable Machine uint8 export
// on the webcam frames it was trained on with both engines.
func TestAgreeNativeTeachableMachine(t *testing.T) {
	frames, err := filepath.Glob(testshared.Path(t, "datasets", "tm_webcam_face_hand", "*", "*.png"))
	if err != nil || len(frames) == 0 {
		t.Fatalf("no frames in datasets/tm_webcam_face_hand (%v)", err)
	}
	var inputs [][]byte
	for _, f := range frames {
		rgb, _, _ := enginetest.PNGRGB(t, f)
		inputs = append(inputs, rgb)
	}
	// The native engine promises 2 LSB against TFLite; this engine 1.
	enginetest.Agree(t, newXNNPACK, newNative, filepath.Join("teachable-machine", "rpi4-coral-uint8", "model.tflite"), inputs, tolF, 2)
}

// TestTeachableMachineOracle compares a few webcam frames through the
// Teachable Machine export with the real TFLite runtime.
func TestTeachableMachineOracle(t *testing.T) {
	model := testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite")
	m, err := tflite.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(m, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, frame := range []string{"Class_1/00.png", "Class_2/00.png", "Class_2/07.png"} {
		t.Run(frame, func(t *testing.T) {
			rgb, _, _ := enginetest.PNGRGB(t, testshared.Path(t, "datasets", "tm_webcam_face_hand", frame))
			want := enginetest.Oracle(t, model, rgb)
			copy(e.Input(0), rgb)
			if err := e.Invoke(); err != nil {
				t.Fatal(err)
			}
			d, err := enginetest.Compare(e.Output(0), want, tflite.Uint8)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("xnnpack vs tflite: %v (%v)", d, e.Output(0))
			d.Check(t, tolF, tolLSB)
		})
	}
}
