//go:build xnnpack && cgo

package xnnpack

import (
	"image/color"
	"image/png"
	"os"
	"os/exec"
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
		inputs = append(inputs, pngRGB(t, f))
	}
	// The native engine promises 2 LSB against TFLite; this engine 1.
	enginetest.Agree(t, newXNNPACK, newNative, filepath.Join("teachable-machine", "rpi4-coral-uint8", "model.tflite"), inputs, tolF, 2)
}

// TestTeachableMachineOracle compares a few webcam frames through the
// Teachable Machine export with the real TFLite runtime.
func TestTeachableMachineOracle(t *testing.T) {
	oracle := testshared.Oracle(t)
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
			rgb := pngRGB(t, testshared.Path(t, "datasets", "tm_webcam_face_hand", frame))
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.raw")
			if err := os.WriteFile(in, rgb, 0o644); err != nil {
				t.Fatal(err)
			}
			if b, err := exec.Command("node", oracle, model, in, "--out="+out, "--threads=1").CombinedOutput(); err != nil {
				t.Fatalf("oracle: %v\n%s", err, b)
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
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

// pngRGB decodes a PNG into packed 8-bit RGB.
func pngRGB(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	r := img.Bounds()
	rgb := make([]byte, 0, 3*r.Dx()*r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			rgb = append(rgb, c.R, c.G, c.B)
		}
	}
	return rgb
}
