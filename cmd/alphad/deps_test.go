package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryDeps checks that the alphad binary links no test code, fakes or
// test helpers.
func TestBinaryDeps(t *testing.T) {
	for _, tags := range []string{"", "xnnpack"} {
		out, err := exec.Command("go", "list", "-tags", tags, "-deps", ".").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps (tags %q): %v\n%s", tags, err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			last := pkg[strings.LastIndex(pkg, "/")+1:]
			switch {
			case pkg == "testing", strings.HasPrefix(pkg, "testing/"),
				strings.HasSuffix(last, "test") && strings.HasPrefix(pkg, "github.com/alphad/"),
				strings.Contains(pkg, "/gpiotest"), strings.Contains(pkg, "goleak"), strings.HasSuffix(pkg, "/internal/testshared"),
				strings.HasSuffix(pkg, "/httptest"):
				t.Errorf("tags %q: alphad links %s", tags, pkg)
			}
		}
	}
}
