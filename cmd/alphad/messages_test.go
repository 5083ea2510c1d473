package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionOfValues: flag values and arguments complete (engines,
// augmentations, class names, versions), not just subcommands.
func TestCompletionOfValues(t *testing.T) {
	sd := "--state-dir=" + t.TempDir()
	if _, stderr, code := cli(t, sd, "dataset", "add", "rock"); code != 0 {
		t.Fatal(stderr)
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"train", "--augment", ""}, []string{"none", "flip", "crops"}},
		{[]string{"run", "--engine", ""}, []string{"auto", "native"}},
		{[]string{"dataset", "rm", "--class", ""}, []string{"rock"}},
		{[]string{"dataset", "add", ""}, []string{"rock"}},
	} {
		out, stderr, code := cli(t, append([]string{sd, "__complete"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%q: exit %d %s", c.args, code, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w+"\n") {
				t.Errorf("completion of %q lacks %q:\n%s", c.args, w, out)
			}
		}
	}
}

// TestMessagesSayWhatToDo: the errors of issue 16's list name the problem
// and the way out.
func TestMessagesSayWhatToDo(t *testing.T) {
	tmp := t.TempDir()
	sd := "--state-dir=" + filepath.Join(tmp, "state")
	// A Teachable Machine TF.js download (a zip, and unpacked).
	tfjs := filepath.Join(tmp, "tm.zip")
	f, _ := os.Create(tfjs)
	zw := zip.NewWriter(f)
	for _, n := range []string{"model.json", "weights.bin", "metadata.json"} {
		w, _ := zw.Create(n)
		w.Write([]byte("{}"))
	}
	zw.Close()
	f.Close()
	dir := filepath.Join(tmp, "tm")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "model.json"), []byte("{}"), 0o644)
	for _, p := range []string{tfjs, dir} {
		_, stderr, code := cli(t, sd, "model", "import", p)
		if code != 1 || !strings.Contains(stderr, "this is a TF.js export") || !strings.Contains(stderr, "Tensorflow Lite") {
			t.Errorf("import %s: exit %d: %s", p, code, stderr)
		}
	}
	// No versions yet; a version that does not exist lists them.
	_, stderr, code := cli(t, sd, "model", "rollback", "2")
	if code != 1 || !strings.Contains(stderr, "no model versions yet") {
		t.Errorf("rollback without versions: exit %d: %s", code, stderr)
	}
}

// TestManPages: `alphad __man DIR` writes one page per visible command,
// each with its name, synopsis and options.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := cli(t, "__man", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, page := range []string{"alphad.1", "alphad-train.1", "alphad-dataset-mv.1", "alphad-config-check.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Fatalf("%s: %v (%s)", page, err, out)
		}
		for _, w := range []string{".TH ", ".SH NAME", ".SH SYNOPSIS"} {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", page, w)
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "alphad-train.1"))
	if !strings.Contains(string(b), `\fB--augment\fR string`) {
		t.Errorf("alphad-train.1 lacks the --augment option:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "alphad-__man.1")); err == nil {
		t.Error("the hidden generator has a page")
	}
}
