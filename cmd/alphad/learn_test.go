package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alphad/alphad/pipeline/store/storetest"
	"github.com/alphad/alphad/pipeline/tflite"
)

// cli runs alphad in-process and returns stdout, stderr and the exit code.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// writeClassImages writes n PNGs of class c into dir and returns their paths.
func writeClassImages(t testing.TB, dir string, c, n, size int) []string {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	var paths []string
	for i := range n {
		p := filepath.Join(dir, filepath.Base(dir)+"-"+string(rune('a'+i%26))+strings.Repeat("x", i/26)+".png")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, storetest.ClassImage(c, size, uint64(1000*c+i)))
		f.Close()
		paths = append(paths, p)
	}
	return paths
}

// writeTinyBackbone writes storetest.TinyBackbone as a .tflite file.
func writeTinyBackbone(t testing.TB, dir string) string {
	t.Helper()
	b, err := tflite.Marshal(storetest.TinyBackbone(8, 6))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "tiny.tflite")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var addedRE = regexp.MustCompile(`(?m)^added ([0-9a-f]{32}) `)

func TestLearningCLI(t *testing.T) {
	tmp := t.TempDir()
	state := filepath.Join(tmp, "state")
	bb := writeTinyBackbone(t, tmp)
	red := writeClassImages(t, filepath.Join(tmp, "in", "red"), 0, 10, 16)
	writeClassImages(t, filepath.Join(tmp, "in", "green"), 1, 10, 16)
	extra := writeClassImages(t, filepath.Join(tmp, "extra"), 1, 12, 16)[11:]
	bad := filepath.Join(tmp, "bad.png")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	sd := "--state-dir=" + state

	steps := []struct {
		args    []string
		code    int
		out     string // substring of stdout
		errText string // substring of stderr
	}{
		{[]string{"train", sd, "--backbone", bb}, 1, "", "need at least 2 classes"},
		{[]string{"dataset", "add", sd, "red", red[0], bad}, 1, "", "nothing added, 1 of 2 images unreadable"},
		{[]string{"dataset", "add", sd, "red"}, 0, "class red created", ""},
		{[]string{"dataset", "add", sd, "red"}, 1, "", "class already exists"},
		{[]string{"dataset", "add", sd, "blue"}, 0, "class blue created", ""},
		{[]string{"dataset", "add", sd, "red", red[0], red[1], red[2]}, 0, "added ", ""},
		{[]string{"dataset", "import", sd, filepath.Join(tmp, "in")}, 0, "added ", "imported 17 new, 3 already present; 0 unreadable skipped"},
		{[]string{"dataset", "import", sd, filepath.Join(tmp, "in")}, 0, "exists ", "imported 0 new, 20 already present"},
		{[]string{"dataset", "rm", sd, "--class", "nope"}, 1, "", "unknown class"},
		{[]string{"dataset", "rm", sd, "--class", "blue"}, 0, "removed class blue (0 samples)", ""},
		{[]string{"dataset", "add", sd, "green", red[0]}, 1, "", "already stored in class red as "},
		{[]string{"dataset", "add", sd, "red", red[0]}, 0, "exists", ""},
		{[]string{"dataset", "add", sd, "green", extra[0]}, 0, "added", ""},
		{[]string{"dataset", "rm", sd, "--undo"}, 0, "removed burst", ""},
		{[]string{"dataset", "ls", sd}, 0, "red    10", ""},
		{[]string{"train", sd}, 1, "", "pass --backbone"},
		{[]string{"train", sd, "--backbone", bb, "--epochs", "0"}, 2, "", "epochs"},
		{[]string{"train", sd, "--backbone", bb, "--epochs", "30", "--learning-rate", "0.01", "--hidden", "8"}, 0, "model v000001: 20 samples, 2 classes", "refit epoch 1/"},
		{[]string{"train", sd, "--epochs", "5"}, 0, "model v000002", ""},
		{[]string{"model", "ls", sd}, 0, "* v000002", ""},
		{[]string{"model", "rollback", sd}, 0, "current model: v000001", ""},
		{[]string{"model", "rollback", sd}, 1, "", "no older version"},
		{[]string{"model", "rollback", sd, "7"}, 1, "", `no model version "7"; the versions are v000001 (current), v000002`},
		{[]string{"model", "rollback", sd, "2"}, 0, "current model: v000002", ""},
		{[]string{"model", "rollback", sd, "v000001"}, 0, "current model: v000001", ""},
		{[]string{"model", "export", sd, filepath.Join(tmp, "out", "model.tflite")}, 1, "", "does not exist (create it first: mkdir -p"},
		{[]string{"model", "export", sd, filepath.Join(tmp, "model.tflite")}, 0, "exported v000001", ""},
		{[]string{"model", "import", sd, filepath.Join(tmp, "model.tflite")}, 0, "imported", ""},
		{[]string{"model", "ls", sd}, 0, "* v000003", ""},
		{[]string{"dataset", "rename", sd, "green", "lime"}, 0, "renamed green to lime", ""},
		{[]string{"train", sd, "--epochs", "3"}, 0, "model v000004", ""},
	}
	for i, s := range steps {
		out, errText, code := cli(t, s.args...)
		if code != s.code || !strings.Contains(out, s.out) || !strings.Contains(errText, s.errText) {
			t.Fatalf("step %d: alphad %s\nexit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stdout ⊇ %q, stderr ⊇ %q",
				i, strings.Join(s.args, " "), code, s.code, out, errText, s.out, s.errText)
		}
	}
	labels, _ := os.ReadFile(filepath.Join(tmp, "labels.txt"))
	if string(labels) != "0 red\n1 green\n" {
		t.Errorf("labels.txt = %q", labels)
	}
}
