package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalCLI cross-validates and scores a model on the tiny backbone's
// synthetic classes: eval, model show and classify's decision.
func TestEvalCLI(t *testing.T) {
	tmp := t.TempDir()
	sd := "--state-dir=" + filepath.Join(tmp, "state")
	bb := writeTinyBackbone(t, tmp)
	writeClassImages(t, filepath.Join(tmp, "in", "red"), 0, 10, 16)
	writeClassImages(t, filepath.Join(tmp, "in", "green"), 1, 10, 16)
	test := filepath.Join(tmp, "test")
	writeClassImages(t, filepath.Join(test, "red"), 0, 4, 16)
	green := writeClassImages(t, filepath.Join(test, "green"), 1, 4, 16)
	writeClassImages(t, filepath.Join(tmp, "wrong", "blue"), 2, 2, 16)
	small := []string{"--epochs", "20", "--learning-rate", "0.01", "--hidden", "8", "--ensemble", "1"}
	steps := []struct {
		args    []string
		code    int
		out     string
		errText string
	}{
		{[]string{"eval", sd, "--backbone", bb}, 1, "", "need at least 2 classes"},
		{[]string{"dataset", "import", sd, filepath.Join(tmp, "in")}, 0, "added ", ""},
		{[]string{"eval", sd, "--backbone", bb, "--format", "xml"}, 2, "", "--format"},
		{[]string{"eval", sd, "--backbone", bb, "--finetune", "all"}, 2, "", "fine-tune mode = all: want none, frozen, scale or lora"},
		{[]string{"eval", sd, "--backbone", bb, "--finetune", "lora", "--finetune-rank", "0"}, 2, "", "fine-tune rank = 0"},
		{[]string{"eval", sd, "--backbone", bb, "--finetune", "scale"}, 1, "", "head: tail: the last convolution reads the model's input"},
		{[]string{"eval", sd, "--backbone", bb, "--folds", "11"}, 1, "", "embedding 100 %  40/40 images"}, // plain and mirrored (the default augmentation)
		{[]string{"eval", sd, "--backbone", bb, "--classes", "3"}, 2, "", "--classes 3: want 2..2"},
		{[]string{"eval", sd, "--backbone", bb, "--add-class"}, 1, "", "adding a class needs 3 classes"},
		{append([]string{"eval", sd, "--backbone", bb, "--folds", "2", "--repeats", "1"}, small...), 0, "cross-validation: 2 folds × 1 repeats on 20 samples", ""},
		{append([]string{"eval", sd, "--backbone", bb, "--folds", "2", "--repeats", "1", "--format", "row", "--name", "tiny"}, small...), 0, "tiny\t20\t", ""},
		{[]string{"eval", sd, "--test", test}, 1, "", "no model version yet"},
		{append([]string{"train", sd, "--backbone", bb}, small...), 0, "model v000001", ""},
		{[]string{"model", "show", sd}, 0, "unknown   cosine similarity to the class mean <", ""},
		{[]string{"model", "show", sd, "v000009"}, 1, "", "no such model version"},
		{[]string{"eval", sd, "--test", filepath.Join(tmp, "wrong")}, 1, "", `"blue" is not a label of the model (green, red)`},
		{[]string{"eval", sd, "--test", test, "--reject", filepath.Join(tmp, "wrong")}, 0, "accuracy 100.0 % on 8 images", ""},
	}
	for i, s := range steps {
		out, errText, code := cli(t, s.args...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errText, s.errText) {
			t.Fatalf("step %d: alphad %s\nexit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stdout ⊇ %q, stderr ⊇ %q",
				i, strings.Join(s.args, " "), code, s.code, out, errText, s.out, s.errText)
		}
	}
	out, errText, code := cli(t, "eval", sd, "--backbone", bb, "--json", "--folds", "2", "--repeats", "2", "--epochs", "20", "--learning-rate", "0.01", "--hidden", "8", "--ensemble", "1")
	var cv struct {
		Mode      string    `json:"mode"`
		Labels    []string  `json:"labels"`
		Runs      []float64 `json:"runs"`
		Confusion [][]int   `json:"confusion"`
		Accuracy  float64   `json:"accuracy"`
	}
	if err := json.Unmarshal([]byte(out), &cv); err != nil || code != 0 {
		t.Fatalf("eval --json: exit %d, %v\n%s\n%s", code, err, out, errText)
	}
	if cv.Mode != "cross-validation" || len(cv.Runs) != 4 || len(cv.Confusion) != 2 || cv.Accuracy < 0.9 {
		t.Errorf("eval --json: %+v", cv)
	}
	out, errText, code = cli(t, append([]string{"classify", sd, "--json", "--engine", "native"}, green...)...)
	if code != 0 {
		t.Fatalf("classify: exit %d\n%s", code, errText)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Decision *string `json:"decision"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Decision == nil || *r.Decision != "green" {
			t.Errorf("classify --json: %s (%v), want decision green", line, err)
		}
	}
}
