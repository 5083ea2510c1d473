// Package testshared locates the read-only test data in ../shared (models,
// golden TFLite outputs, datasets) and the real TFLite oracle for tests,
// records the tests skipped for a missing tool or data (make test names
// them), and helps tests wait on observed conditions. It is imported only
// by tests.
package testshared

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// RepoRoot is the repository root (the directory holding go.mod).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// InCI reports whether the tests run in CI (CI=true), where missing
// resources are failures, not skips.
func InCI() bool { return os.Getenv("CI") == "true" }

// Dir is the shared data directory: $ALPHAD_SHARED, else ../shared beside
// the repository. It skips the test when absent, or fails it in CI.
func Dir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("ALPHAD_SHARED")
	if d == "" {
		d = filepath.Join(RepoRoot(), "..", "shared")
	} else if !filepath.IsAbs(d) {
		d = filepath.Join(RepoRoot(), d)
	}
	if _, err := os.Stat(filepath.Join(d, "models")); err != nil {
		Lacking(t, GroupShared, "shared data (set ALPHAD_SHARED): "+err.Error())
	}
	return d
}

// Path joins elements under the shared directory.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}

// Oracle is the path of run_tflite.js inside an npm-installed copy of
// shared/tools/tflite-oracle: $ALPHAD_ORACLE, else .cache/oracle in the
// repository (made by `make oracle`). It also requires node on PATH.
func Oracle(t testing.TB) string {
	t.Helper()
	p := os.Getenv("ALPHAD_ORACLE")
	if p == "" {
		p = filepath.Join(RepoRoot(), ".cache", "oracle", "run_tflite.js")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(p), "node_modules", "@tensorflow", "tfjs-tflite")); err != nil {
		Lacking(t, GroupOracle, "TFLite oracle not installed (run `make oracle`): "+err.Error())
	}
	if _, err := exec.LookPath("node"); err != nil {
		Lacking(t, GroupOracle, "node not found: "+err.Error())
	}
	return p
}

// Group names what a skipped test lacked. The package groups are those of
// scripts/deps.sh, which installs them; `make test` ends with one line
// naming every group a test skipped for and the apt command that enables it.
type Group string

// The groups tests skip for.
const (
	GroupMQTT    Group = "mqtt"    // mosquitto, mosquitto_passwd
	GroupSystemd Group = "systemd" // systemd-analyze
	GroupOracle  Group = "oracle"  // node and the npm-installed TFLite runtime (make oracle)
	GroupXNNPACK Group = "xnnpack" // the xnnpack engine, compiled in with libxnnpack-dev
	GroupBrowser Group = "browser" // headless chromium for the web app tests
	GroupSQLite  Group = "sqlite"  // the sqlite3 tool: docs/store.md's queries on a state database
	GroupTime    Group = "time"    // GNU time: peak RSS of a child measured from a small parent
	GroupShared  Group = "shared"  // the shared test data (not a package: set ALPHAD_SHARED)
	GroupOther   Group = "other"   // anything else (Missing)
)

// SkipsEnv names the file (appended to) where skipped tests record their
// group: one line "group<TAB>package.Test<TAB>reason" per skip (package:
// the test binary's name). make test sets it.
const SkipsEnv = "ALPHAD_SKIPS"

// Lacking skips the test because something of group g is missing, or fails
// it when running in CI. A skip is recorded in $ALPHAD_SKIPS.
func Lacking(t testing.TB, g Group, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI (%s): %s", g, what)
	}
	Skip(t, g, what)
}

// Skip skips the test because something of group g is missing, in CI too,
// and records the skip in $ALPHAD_SKIPS.
func Skip(t testing.TB, g Group, what string) {
	t.Helper()
	test := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test") + "." + t.Name()
	if err := record(os.Getenv(SkipsEnv), g, test, what); err != nil {
		t.Errorf("record the skip in $%s: %v", SkipsEnv, err)
	}
	t.Skipf("skipping (%s): %s", g, what)
}

// record appends one skip line to path ("" records nothing). Each line is
// one write to a file opened for appending, so the test processes that go
// test runs in parallel do not interleave their lines.
func record(path string, g Group, test, what string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s\t%s\t%s\n", g, test, strings.Join(strings.Fields(what), " "))
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Missing skips the test (group GroupOther), or fails it when running in CI.
func Missing(t testing.TB, what string) {
	t.Helper()
	Lacking(t, GroupOther, what)
}

// Waiting returns a context derived from parent and a channel closed the
// first time something asks the context for Done: a callee that selects on
// ctx.Done() only when it is about to block (device.Latest.Next, say) has
// then reached its wait, so a test can act on a waiting call without a
// sleep. It tells nothing about callees that call Done earlier, e.g. to
// derive a context of their own.
func Waiting(parent context.Context) (context.Context, <-chan struct{}) {
	c := &waitingCtx{Context: parent, waiting: make(chan struct{})}
	return c, c.waiting
}

type waitingCtx struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}
