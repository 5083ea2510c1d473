// Package testshared locates the read-only test data in ../shared (models,
// golden TFLite outputs, datasets) and the real TFLite oracle for tests.
// It is imported only by tests.
package testshared

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
		Missing(t, "shared data (set ALPHAD_SHARED): "+err.Error())
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
		Missing(t, "TFLite oracle not installed (run `make oracle`): "+err.Error())
	}
	if _, err := exec.LookPath("node"); err != nil {
		Missing(t, "node not found: "+err.Error())
	}
	return p
}

// Missing skips the test, or fails it when running in CI.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: %s", what)
	}
	t.Skipf("skipping: %s", what)
}
