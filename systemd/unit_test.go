package systemd

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

// maxExposure is the highest exposure level systemd-analyze may report.
const maxExposure = 2.5

func TestUnitSecurityExposure(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		testshared.Missing(t, "systemd-analyze (apt-get install systemd)")
	}
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "alphad.service").CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze: %v\n%s", err, out)
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

func TestUnitVerify(t *testing.T) {
	out, err := exec.Command("systemd-analyze", "verify", "--man=false", "alphad.service").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "/usr/bin/alphad") {
		// verify fails only because the binary is not installed here; any
		// other complaint is a unit error.
		t.Logf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "Unknown key") || strings.Contains(line, "Failed to parse") {
			t.Errorf("unit error: %s", line)
		}
	}
}
