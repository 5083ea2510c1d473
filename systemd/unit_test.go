package systemd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

// maxExposure is the highest exposure level systemd-analyze may report.
const maxExposure = 2.5

// analyze returns the path of systemd-analyze, skipping the test when it is
// not installed (failing it in CI).
func analyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testshared.Lacking(t, testshared.GroupSystemd, "systemd-analyze not installed (apt install systemd): "+err.Error())
	}
	return p
}

func TestUnitSecurityExposure(t *testing.T) {
	tool := analyze(t)
	out, err := exec.Command(tool, "security", "--offline=true", "alphad.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for alphad\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in output:\n%s", out)
	}
	level, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure level %.1f (max %.1f)", level, maxExposure)
	if level > maxExposure {
		t.Errorf("exposure %.1f > %.1f", level, maxExposure)
	}
}

// TestUnitVerify runs systemd-analyze verify on a copy of the unit whose
// ExecStart names an executable that exists (verify fails when
// /usr/bin/alphad is not installed): it must exit 0 and print nothing —
// an unknown key or a bad value is a warning line with exit status 0.
func TestUnitVerify(t *testing.T) {
	tool := analyze(t)
	unit, err := os.ReadFile("alphad.service")
	if err != nil {
		t.Fatal(err)
	}
	const bin = "ExecStart=/usr/bin/alphad "
	if !bytes.Contains(unit, []byte("\n"+bin)) {
		t.Fatalf("alphad.service has no line %q", bin)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "alphad")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit = bytes.Replace(unit, []byte("\n"+bin), []byte("\nExecStart="+exe+" "), 1)
	if err := os.WriteFile(filepath.Join(dir, "alphad.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "verify", "--man=false", "alphad.service")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze verify: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" {
			t.Errorf("unit: %s", line)
		}
	}
}
