package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

func TestRunBadConfigExits2(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "alphad.yaml")
	os.WriteFile(cfg, []byte("version: 1\ncamera:\n  infer_every: 0\nmodel:\n  engine: turbo\nsmoothing:\n  window: 0\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"file", []string{"run", "--config", cfg}, []string{"line 3: camera.infer_every", "line 5: model.engine", "line 7: smoothing.window"}},
		{"flag", []string{"run", "--camera", "bogus:x", "--http", "off"}, []string{"camera.source"}},
		{"missing file", []string{"run", "--config", cfg + ".nope"}, []string{"no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, append([]string{"--state-dir", t.TempDir()}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestRunWithoutBackboneSaysHowToGetOne(t *testing.T) {
	rock := testshared.Path(t, "datasets", "rps_picam", "rock")
	_, stderr, code := cli(t, "--state-dir", t.TempDir(), "run", "--camera", "dir:"+rock, "--http", "off", "--for", "1s")
	if code != 1 || !strings.Contains(stderr, "alphad model pull") || !strings.Contains(stderr, "alphad model import DIR") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestModelPullThenRun(t *testing.T) {
	shared := testshared.Dir(t)
	state := t.TempDir()
	out, stderr, code := cli(t, "--state-dir", state, "model", "pull", "--mirror", filepath.Join(shared, "models", "mobilenet_v2_1.0_224_quant.tflite"))
	if code != 0 || !strings.Contains(out, "cut at its global pool, 1280 features") {
		t.Fatalf("pull: exit %d\n%s%s", code, out, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(state, "backbones", "names.json")); err != nil || !strings.Contains(string(b), `"mobilenet_v2_1.0_224_quant"`) {
		t.Fatalf("backbones/names.json: %s %v", b, err)
	}
	// Wrong pin: nothing changes, exit 1.
	_, stderr, code = cli(t, "--state-dir", t.TempDir(), "model", "pull", "--mirror", filepath.Join(shared, "models", "mobilenet_v2_1.0_224_quant_features.tflite"))
	if code != 1 || !strings.Contains(stderr, "checksum mismatch") {
		t.Fatalf("wrong file: exit %d: %s", code, stderr)
	}

	// A fresh device with a backbone runs without a model.
	cam := "dir:" + filepath.Join(shared, "datasets", "rps_picam", "rock") + "?fps=20&loop=true"
	_, stderr, code = cli(t, "--state-dir", state, "run", "--camera", cam, "--http", "off", "--for", "1s")
	if code != 0 || !strings.Contains(stderr, "no model yet") || !regexp.MustCompile(`alphad run: [1-9]\d* frames`).MatchString(stderr) {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	// With --model it classifies.
	_, stderr, code = cli(t, "--state-dir", state, "run", "--camera", cam, "--http", "off", "--for", "2s", "--engine", "native",
		"--model", filepath.Join(shared, "models", "mobilenet_v2_1.0_224_quant.tflite"),
		"--labels", filepath.Join(shared, "models", "imagenet_labels.txt"))
	if code != 0 || !regexp.MustCompile(`[1-9]\d* inferences`).MatchString(stderr) {
		t.Fatalf("run --model: exit %d: %s", code, stderr)
	}
}

// TestRunFiniteSource: a folder without loop ends the daemon cleanly
// (exit 0, one line saying so, no retry warnings) and label changes are
// logged at info without MQTT.
func TestRunFiniteSource(t *testing.T) {
	shared := testshared.Dir(t)
	cam := "dir:" + filepath.Join(shared, "datasets", "rps_picam", "rock") + "?fps=30"
	cfg := filepath.Join(t.TempDir(), "alphad.yaml") // ImageNet's 1001 classes: a low threshold decides
	os.WriteFile(cfg, []byte("version: 1\nsmoothing:\n  threshold: 0.01\n"), 0o644)
	_, stderr, code := cli(t, "--state-dir", t.TempDir(), "run", "--config", cfg, "--camera", cam, "--http", "off", "--for", "2m", "--engine", "native",
		"--model", filepath.Join(shared, "models", "mobilenet_v2_1.0_224_quant.tflite"),
		"--labels", filepath.Join(shared, "models", "imagenet_labels.txt"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(stderr, "camera source ended: stopping"); n != 1 {
		t.Errorf("%d 'source ended' lines, want 1:\n%s", n, stderr)
	}
	if strings.Contains(stderr, "camera down") || strings.Contains(stderr, "level=WARN") {
		t.Errorf("the end of the folder is reported as a failure:\n%s", stderr)
	}
	if !regexp.MustCompile(`level=INFO msg="label changed" from=none to=\S+ confidence=`).MatchString(stderr) {
		t.Errorf("no label change logged:\n%s", stderr)
	}
}

func TestRunNegativeForIsAUsageError(t *testing.T) {
	_, stderr, code := cli(t, "--state-dir", t.TempDir(), "run", "--camera", "dir:.", "--http", "off", "--for", "-1s")
	if code != 2 || !strings.Contains(stderr, "--for -1s is negative") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
