package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
)

type classifyResult struct {
	Path string     `json:"path"`
	Top  []topEntry `json:"top"`
}

// runCLI runs alphad in-process and returns stdout; it fails the test on a
// non-zero exit.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errText, code := cli(t, args...)
	if code != 0 {
		t.Fatalf("alphad %s: exit %d\n%s", strings.Join(args, " "), code, errText)
	}
	return out
}

func decodeResults(t *testing.T, out string) []classifyResult {
	t.Helper()
	var res []classifyResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r classifyResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		res = append(res, r)
	}
	return res
}

// goldenArgmax is the argmax of a real TFLite output file (uint8 or float32).
func goldenArgmax(t *testing.T, path string, float bool) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	best, bi := math.Inf(-1), -1
	n := len(b)
	if float {
		n /= 4
	}
	for i := 0; i < n; i++ {
		var v float64
		if float {
			v = float64(math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24))
		} else {
			v = float64(b[i])
		}
		if v > best {
			best, bi = v, i
		}
	}
	return bi
}

// TestClassifyImageNet: grace_hopper is a military uniform for both
// models, and every shared image's top-1 equals the golden argmax.
func TestClassifyImageNet(t *testing.T) {
	shared := testshared.Dir(t)
	images := []string{"bird.bmp", "cat.bmp", "grace_hopper.bmp", "parrot.jpg"}
	for _, model := range []string{"mobilenet_v2_1.0_224_quant", "mobilenet_v2_1.0_224_dequant_f32"} {
		t.Run(model, func(t *testing.T) {
			args := []string{"classify", "--json", "--top", "1", "--engine", "native",
				"--model", filepath.Join(shared, "models", model+".tflite"),
				"--labels", filepath.Join(shared, "models", "imagenet_labels.txt")}
			for _, im := range images {
				args = append(args, filepath.Join(shared, "images", im))
			}
			res := decodeResults(t, runCLI(t, args...))
			if len(res) != len(images) {
				t.Fatalf("%d results for %d images", len(res), len(images))
			}
			for i, im := range images {
				name := strings.TrimSuffix(im, filepath.Ext(im))
				golden := filepath.Join(shared, "golden", "outputs", model+"."+name+".tfjs.raw")
				want := goldenArgmax(t, golden, strings.Contains(model, "f32"))
				got := res[i].Top[0]
				t.Logf("%s: %s (%d) %.3f, golden argmax %d", im, got.Label, got.Index, got.Score, want)
				if got.Index != want {
					t.Errorf("%s: top-1 %d (%s), golden argmax %d", im, got.Index, got.Label, want)
				}
				if im == "grace_hopper.bmp" && got.Label != "military uniform" {
					t.Errorf("grace_hopper: %q, want military uniform", got.Label)
				}
			}
		})
	}
}

// TestClassifyTeachableMachineExport runs the real Teachable Machine export
// through `alphad classify` and compares every score with the real TFLite
// runtime on the same pixels, within 2 LSB of the uint8 output.
func TestClassifyTeachableMachineExport(t *testing.T) {
	shared := testshared.Dir(t)
	testshared.Oracle(t) // skip (or fail in CI) before classifying
	tm := filepath.Join(shared, "teachable-machine", "rpi4-coral-uint8")
	var imgs []string
	for _, c := range []string{"Class_1", "Class_2"} {
		m, _ := filepath.Glob(filepath.Join(shared, "datasets", "tm_webcam_face_hand", c, "*.png"))
		if len(m) < 3 {
			t.Fatalf("too few frames in %s", c)
		}
		imgs = append(imgs, m[0], m[len(m)/2], m[len(m)-1])
	}
	args := append([]string{"classify", "--json", "--top", "2", "--engine", "native",
		"--model", filepath.Join(tm, "model.tflite"), "--labels", filepath.Join(tm, "labels.txt")}, imgs...)
	res := decodeResults(t, runCLI(t, args...))
	if len(res) != len(imgs) {
		t.Fatalf("%d results for %d images", len(res), len(imgs))
	}
	for i, path := range imgs {
		// The frames are 224×224 already: the raw RGB bytes are the input.
		raw, w, h := enginetest.PNGRGB(t, path)
		if w != 224 || h != 224 {
			t.Fatalf("%s is %dx%d, want 224×224", path, w, h)
		}
		want := enginetest.Oracle(t, filepath.Join(tm, "model.tflite"), raw)
		if len(want) != 2 {
			t.Fatalf("oracle output %d bytes, want 2", len(want))
		}
		for _, e := range res[i].Top {
			got := int(math.Round(float64(e.Score) * 256)) // output scale 1/256, zero point 0
			if d := got - int(want[e.Index]); d < -2 || d > 2 {
				t.Errorf("%s class %s: %d, TFLite %d", filepath.Base(path), e.Label, got, want[e.Index])
			}
		}
		t.Logf("%s: %s %.3f", filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), res[i].Top[0].Label, res[i].Top[0].Score)
	}
}
