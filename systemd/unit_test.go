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

// units are the unit files and the unit name systemd-analyze is given for
// each (a template needs an instance).
var units = []struct{ file, name string }{
	{"alphad.service", "alphad.service"},
	{"alphad@.service", "alphad@test.service"},
}

func TestUnitSecurityExposure(t *testing.T) {
	tool := analyze(t)
	for _, u := range units {
		t.Run(u.file, func(t *testing.T) {
			out, err := exec.Command(tool, "security", "--offline=true", u.name).CombinedOutput()
			if err != nil {
				t.Fatalf("systemd-analyze security: %v\n%s", err, out)
			}
			m := regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(u.name) + `: ([0-9.]+)`).FindSubmatch(out)
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
		})
	}
}

// TestTemplateMatchesUnit: the template is alphad.service with the
// instance's configuration file, state directory and description — the
// same hardening, line for line.
func TestTemplateMatchesUnit(t *testing.T) {
	body := func(file string) []string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
		return out
	}
	plain, tmpl := body("alphad.service"), body("alphad@.service")
	if len(plain) != len(tmpl) {
		t.Fatalf("alphad@.service has %d lines (without comments), alphad.service %d", len(tmpl), len(plain))
	}
	want := map[string]string{
		"Description=alphad camera classifier daemon":                    "Description=alphad camera classifier daemon %i",
		"ExecStart=/usr/bin/alphad run --config /etc/alphad/alphad.yaml": "ExecStart=/usr/bin/alphad run --config /etc/alphad/%i.yaml",
		"StateDirectory=alphad":                                          "StateDirectory=alphad/%i",
		"Environment=ALPHAD_STATE_DIR=/var/lib/alphad":                   "Environment=ALPHAD_STATE_DIR=/var/lib/alphad/%i",
	}
	changed := 0
	for i := range plain {
		if plain[i] == tmpl[i] {
			continue
		}
		if want[plain[i]] != tmpl[i] {
			t.Errorf("line %q became %q", plain[i], tmpl[i])
		}
		changed++
	}
	if changed != len(want) {
		t.Errorf("%d lines differ, want %d", changed, len(want))
	}
}

// TestUnitVerify runs systemd-analyze verify on a copy of the unit whose
// ExecStart names an executable that exists (verify fails when
// /usr/bin/alphad is not installed): it must exit 0 and print nothing —
// an unknown key or a bad value is a warning line with exit status 0.
func TestUnitVerify(t *testing.T) {
	tool := analyze(t)
	for _, u := range units {
		t.Run(u.file, func(t *testing.T) {
			unit, err := os.ReadFile(u.file)
			if err != nil {
				t.Fatal(err)
			}
			const bin = "ExecStart=/usr/bin/alphad "
			if !bytes.Contains(unit, []byte("\n"+bin)) {
				t.Fatalf("%s has no line %q", u.file, bin)
			}
			dir := t.TempDir()
			exe := filepath.Join(dir, "alphad")
			if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			unit = bytes.Replace(unit, []byte("\n"+bin), []byte("\nExecStart="+exe+" "), 1)
			if err := os.WriteFile(filepath.Join(dir, u.file), unit, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(tool, "verify", "--man=false", u.name)
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
		})
	}
}
