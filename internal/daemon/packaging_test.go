package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

// TestPackagedConfig keeps the default configuration the .deb installs
// equal to `alphad config example`.
func TestPackagedConfig(t *testing.T) {
	path := filepath.Join(testshared.RepoRoot(), "packaging", "alphad.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != ExampleConfig {
		t.Fatalf("%s differs from ExampleConfig: go run ./cmd/alphad config example > packaging/alphad.yaml", path)
	}
	if _, err := ParseConfig(path, b); err != nil {
		t.Fatal(err)
	}
}
