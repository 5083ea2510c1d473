package main

import (
	"image"
	_ "image/png"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestImportTeachableMachine imports a real Teachable Machine uint8
// export and checks that classifying through the state directory gives
// what the real TFLite runtime gives on that model directly.
func TestImportTeachableMachine(t *testing.T) {
	oracle := testshared.Oracle(t)
	tm := testshared.Path(t, "teachable-machine", "rpi4-coral-uint8")
	state := t.TempDir()
	if out, errText, code := cli(t, "model", "import", "--state-dir", state, tm); code != 0 || !strings.Contains(out, "imported") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errText)
	}
	newEngine, opts, err := learningEngine("native", 1, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.LoadCurrent(state, newEngine, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if len(m.Labels) != 2 || m.Labels[0] != "NoMask" || m.Labels[1] != "WithMask" {
		t.Errorf("labels %v", m.Labels)
	}
	c := head.NewClassifier(m)
	model, err := tflite.ReadFile(filepath.Join(tm, "model.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	in := model.Input(0)
	files, _ := filepath.Glob(testshared.Path(t, "datasets", "tm_webcam_face_hand", "*", "*.png"))
	if len(files) < 20 {
		t.Fatalf("%d images", len(files))
	}
	dir := t.TempDir()
	for i, f := range files[:8] {
		img := decodePNG(t, f)
		p, err := c.Classify(store.ImageFill(img))
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, in.ByteSize())
		if err := store.ImageFill(img)(raw, in); err != nil {
			t.Fatal(err)
		}
		rawPath := filepath.Join(dir, "in.raw")
		os.WriteFile(rawPath, raw, 0o644)
		out := filepath.Join(dir, "out.raw")
		if b, err := exec.Command("node", oracle, filepath.Join(tm, "model.tflite"), rawPath, "--out="+out).CombinedOutput(); err != nil {
			t.Fatalf("oracle: %v\n%s", err, b)
		}
		want, _ := os.ReadFile(out)
		probs := make([]float32, len(want))
		head.Dequantize(probs, want, model.Output(0))
		if head.Argmax(probs) != p.Index {
			t.Errorf("image %d: alphad %s %v, TFLite %v", i, p.Label, p.Probs, probs)
		}
		for k := range probs {
			if math.Abs(float64(probs[k]-p.Probs[k])) > 3.0/256 {
				t.Errorf("image %d class %d: alphad %.4f, TFLite %.4f", i, k, p.Probs[k], probs[k])
			}
		}
	}
	// Training can start from the imported model's backbone.
	if _, _, code := cli(t, "dataset", "import", "--state-dir", state, testshared.Path(t, "datasets", "tm_webcam_face_hand")); code != 0 {
		t.Fatal("dataset import failed")
	}
	out, errText, code := cli(t, "train", "--state-dir", state, "--epochs", "3", "--threads", "1", "--augment=none")
	if code != 0 || !strings.Contains(out, "model v000002: 22 samples, 2 classes") {
		t.Fatalf("train from the imported backbone: exit %d\n%s%s", code, out, errText)
	}
	// The head on the uint8 backbone exports (with a DEQUANTIZE) and runs
	// in TFLite with the same answer as alphad.
	exported := filepath.Join(dir, "export", "model.tflite")
	os.MkdirAll(filepath.Dir(exported), 0o755)
	if out, errText, code := cli(t, "model", "export", "--state-dir", state, exported); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, errText)
	}
	m2, err := store.LoadCurrent(state, newEngine, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	for _, f := range []string{files[0], files[len(files)-1]} {
		img := decodePNG(t, f)
		probs, err := m2.Classify(store.ImageFill(img))
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, in.ByteSize())
		store.ImageFill(img)(raw, in)
		rawPath, out := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.raw")
		os.WriteFile(rawPath, raw, 0o644)
		if b, err := exec.Command("node", oracle, exported, rawPath, "--out="+out).CombinedOutput(); err != nil {
			t.Fatalf("oracle on the export: %v\n%s", err, b)
		}
		b, _ := os.ReadFile(out)
		got := make([]float32, len(b)/4)
		head.Dequantize(got, b, &tflite.Tensor{Type: tflite.Float32})
		if len(got) != 2 || head.Argmax(got) != head.Argmax(probs) || math.Abs(float64(got[0]-probs[0])) > 0.05 {
			t.Errorf("%s: exported model in TFLite %v, alphad %v", filepath.Base(f), got, probs)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestImportRefusesNonImageModels: a model alphad cannot feed an image is
// refused with the reason, and no version appears.
func TestImportRefusesNonImageModels(t *testing.T) {
	dir := t.TempDir()
	softmax := &tflite.Model{
		Version:   3,
		Tensors:   []*tflite.Tensor{{Name: "x", Type: tflite.Float32, Shape: []int{1, 4}}, {Type: tflite.Float32, Shape: []int{1, 4}}},
		Operators: []*tflite.Operator{{Op: tflite.OpSoftmax, Version: 1, Inputs: []int{0}, Outputs: []int{1}, Options: &tflite.SoftmaxOptions{Beta: 1}}},
		Inputs:    []int{0},
		Outputs:   []int{1},
	}
	data, err := tflite.Marshal(softmax)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.tflite")
	os.WriteFile(model, data, 0o644)
	os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("0 a\n1 b\n2 c\n3 d\n"), 0o644)
	state := t.TempDir()
	_, errText, code := cli(t, "model", "import", "--state-dir", state, dir)
	if code != 1 || !strings.Contains(errText, model+" is not an image classifier") || !strings.Contains(errText, `input tensor "x": shape [1 4], want [1,H,W,3]`) {
		t.Fatalf("exit %d: %s", code, errText)
	}
	if out, _, _ := cli(t, "model", "ls", "--state-dir", state); strings.Contains(out, "v0000") {
		t.Errorf("a version appeared:\n%s", out)
	}
}
