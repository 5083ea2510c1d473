package store

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/tflite"
)

// oracleRun runs a model file on raw input bytes in the real TFLite
// runtime and returns the raw output.
func oracleRun(t *testing.T, oracle, model string, input []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.raw")
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", oracle, model, in, "--out="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oracle: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func floats(b []byte) []float32 {
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

// TestExportMatchesTFLite exports the float MobileNetV2 features plus a
// head as one .tflite and checks that the real TFLite runtime gives the
// probabilities alphad computes (backbone engine + head.Predict) within
// 1e-4, on images none of it was trained on.
func TestExportMatchesTFLite(t *testing.T) {
	oracle := testshared.Oracle(t)
	fm, err := tflite.ReadFile(testshared.Path(t, "models", "mobilenet_v2_1.0_224_dequant_f32_features.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	for _, hidden := range []int{100, 0} {
		h, err := head.New(1280, hidden, 4, 3)
		if err != nil {
			t.Fatal(err)
		}
		// Spread the logits so that the probabilities are far from uniform.
		for _, w := range [][]float32{h.W1, h.W2} {
			for i := range w {
				w[i] *= 4
			}
		}
		h.B2[1] = 0.5
		full, err := head.Export(fm, h)
		if err != nil {
			t.Fatal(err)
		}
		data, err := tflite.Marshal(full)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "model.tflite")
		os.WriteFile(path, data, 0o644)
		parsed, err := tflite.Parse(data)
		if err != nil {
			t.Fatalf("exported model does not parse: %v", err)
		}
		if ops := parsed.OpHistogram(); len(ops) == 0 {
			t.Fatal("no ops")
		}
		bb, err := head.NewBackbone(fm, "f", newNative, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// The whole exported model also runs in alphad's own engine.
		whole, err := native.New(parsed, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range []string{"grace_hopper.bmp", "cat.bmp", "parrot.jpg"} {
			im, err := decodeFile(testshared.Path(t, "images", img))
			if err != nil {
				t.Fatal(err)
			}
			fill := ImageFill(im)
			input := make([]byte, fm.Input(0).ByteSize())
			if err := fill(input, fm.Input(0)); err != nil {
				t.Fatal(err)
			}
			emb := make([]float32, 1280)
			if err := bb.Embed(emb, fill); err != nil {
				t.Fatal(err)
			}
			want := make([]float32, 4)
			h.Predict(want, emb)
			got := floats(oracleRun(t, oracle, path, input))
			copy(whole.Input(0), input)
			if err := whole.Invoke(); err != nil {
				t.Fatal(err)
			}
			own := floats(whole.Output(0))
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-4 || math.Abs(float64(own[i]-want[i])) > 1e-4 {
					t.Errorf("hidden %d, %s: TFLite %v, exported in native %v, alphad %v", hidden, img, got, own, want)
					break
				}
			}
			if hidden == 100 && img == "parrot.jpg" {
				t.Logf("%s: TFLite %v alphad %v", img, got, want)
			}
			if slices.Max(want) < 0.5 {
				t.Logf("%s: probabilities %v are flat", img, want)
			}
		}
		bb.Close()
		whole.Close()
	}
}
