package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/pipeline/store"
)

// TestDatasetCheck: `dataset check` reports orphans, missing and bad
// images with exit code 3, --repair fixes them (exit 0), --json is a
// report a script can read, and a state directory in use exits 1.
func TestDatasetCheck(t *testing.T) {
	tmp := t.TempDir()
	state := filepath.Join(tmp, "state")
	imgs := writeClassImages(t, filepath.Join(tmp, "img"), 0, 4, 16)
	out, errOut, code := cli(t, append([]string{"dataset", "add", "--state-dir", state, "rock"}, imgs...)...)
	if code != 0 {
		t.Fatalf("dataset add: %d %s", code, errOut)
	}
	var ids []string
	for _, m := range addedRE.FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	if len(ids) != 4 {
		t.Fatalf("added %v", ids)
	}
	if out, errOut, code := cli(t, "dataset", "check", "--state-dir", state); code != 0 || !strings.Contains(out, "checked 4 samples\nok\n") {
		t.Fatalf("clean check: %d\n%s%s", code, out, errOut)
	}
	img := filepath.Join(state, "samples", "img")
	os.Remove(filepath.Join(img, ids[0]+".png"))
	os.WriteFile(filepath.Join(img, ids[1]+".png"), []byte("not a png"), 0o644)
	orphan := filepath.Join(img, "0123456789abcdef0123456789abcdef.png")
	os.WriteFile(orphan, []byte("x"), 0o644)

	out, errOut, code = cli(t, "dataset", "check", "--state-dir", state, "--json")
	if code != 3 {
		t.Fatalf("check of a damaged store: exit %d, want 3\n%s%s", code, out, errOut)
	}
	var rep struct {
		store.CheckReport
		Problems int `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if rep.Samples != 4 || rep.Problems != 2 || len(rep.Missing) != 1 || rep.Missing[0] != ids[0] ||
		len(rep.BadImages) != 1 || rep.BadImages[0].ID != ids[1] || len(rep.Orphans) != 1 || !strings.HasSuffix(rep.Orphans[0], filepath.Base(orphan)) {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(errOut, "2 problems remain") {
		t.Errorf("stderr %q", errOut)
	}

	// In use by another process (the daemon): exit 1, nothing touched.
	held, err := store.OpenState(state, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := cli(t, "dataset", "check", "--state-dir", state, "--repair"); code != 1 || !strings.Contains(errOut, "stop the daemon") {
		t.Errorf("check of a state dir in use: %d %s", code, errOut)
	}
	held.Close()

	out, errOut, code = cli(t, "dataset", "check", "--state-dir", state, "--repair")
	if code != 0 || !strings.Contains(out, "removed samples (2)") {
		t.Fatalf("repair: %d\n%s%s", code, out, errOut)
	}
	if out, _, code := cli(t, "dataset", "check", "--state-dir", state); code != 0 || !strings.Contains(out, "checked 2 samples\nok\n") {
		t.Errorf("check after repair: %d\n%s", code, out)
	}
	if _, _, code := cli(t, "dataset", "check", "--state-dir", state, "--bogus"); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
}
