package store

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

// TestSQLite3Docs runs the sqlite3 block of docs/store.md on a migrated
// state directory (testdata/legacy-state) while it is open, as a user
// would beside the daemon: every documented query must run and show the
// data.
func TestSQLite3Docs(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		testshared.Lacking(t, testshared.GroupSQLite, "sqlite3 not found: "+err.Error())
	}
	doc, err := os.ReadFile(filepath.Join(testshared.RepoRoot(), "docs", "store.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Inspecting with the sqlite3 tool.*?```sh\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/store.md: no sh block under \"Inspecting with the sqlite3 tool\"")
	}
	dir, _ := copyLegacy(t)
	st := openState(t, dir) // open, like the daemon beside the user
	backup := filepath.Join(t.TempDir(), "backup.db")
	script := strings.NewReplacer("cd /var/lib/alphad", "cd "+dir, "/tmp/alphad-backup.db", backup).Replace(string(m[1]))
	if !strings.Contains(script, "cd "+dir) {
		t.Fatal("docs/store.md: the block no longer starts with cd /var/lib/alphad")
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the documented commands fail: %v\n%s", err, out)
	}
	for _, want := range []string{"samples/img/", "scissors", "v000002", "version_metrics", "threshold", "ok\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(string(out), "rock") < 2 {
		t.Errorf("samples per class and per-class metrics missing:\n%s", out)
	}
	if _, err := os.Stat(backup); err != nil {
		t.Errorf("VACUUM INTO made no backup: %v", err)
	}
	if n := len(st.Samples().Samples()); n != 14 {
		t.Errorf("%d samples after the queries, want 14", n)
	}
}
