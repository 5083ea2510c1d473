package testshared

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGroupsInDepsScript: every package group a test can skip for is one
// scripts/deps.sh installs, so make test's summary can name its packages.
func TestGroupsInDepsScript(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(RepoRoot(), "scripts", "deps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)declare -A GROUP_PKGS=\((.*?)\n\)`).FindSubmatch(script)
	if block == nil {
		t.Fatal("scripts/deps.sh: no GROUP_PKGS table")
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`\[([a-z0-9]+)\]="[^"]+"`).FindAllSubmatch(block[1], -1) {
		listed[string(m[1])] = true
	}
	for _, g := range []Group{GroupMQTT, GroupSystemd, GroupOracle, GroupXNNPACK, GroupBrowser, GroupSQLite, GroupTime} {
		if !listed[string(g)] {
			t.Errorf("group %q is not in scripts/deps.sh GROUP_PKGS (has %v)", g, listed)
		}
	}
	for _, g := range []Group{GroupShared, GroupOther} {
		if listed[string(g)] {
			t.Errorf("group %q is not a package group but scripts/deps.sh lists it", g)
		}
	}
}

// TestSkipRecorded: a skip for a missing group leaves one line in
// $ALPHAD_SKIPS, and deps.sh turns the lines into the summary make test
// ends with.
func TestSkipRecorded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "skips")
	t.Setenv(SkipsEnv, file)
	t.Setenv("CI", "")
	// Both subtests skip: that is the behaviour under test.
	t.Run("needs-mqtt", func(t *testing.T) {
		Lacking(t, GroupMQTT, "mosquitto not installed\n(apt install mosquitto)")
		t.Error("Lacking returned")
	})
	t.Run("needs-data", func(t *testing.T) {
		Skip(t, GroupShared, "shared data (set ALPHAD_SHARED)")
		t.Error("Skip returned")
	})
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	bin := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	want := "mqtt\t" + bin + ".TestSkipRecorded/needs-mqtt\tmosquitto not installed (apt install mosquitto)\n" +
		"shared\t" + bin + ".TestSkipRecorded/needs-data\tshared data (set ALPHAD_SHARED)\n"
	if string(got) != want {
		t.Fatalf("recorded:\n%q\nwant:\n%q", got, want)
	}

	out, err := exec.Command(filepath.Join(RepoRoot(), "scripts", "deps.sh"), "summary", file).CombinedOutput()
	if err != nil {
		t.Fatalf("deps.sh summary: %v\n%s", err, out)
	}
	line := strings.TrimSuffix(string(out), "\n")
	for _, part := range []string{"SKIPPED mqtt (1 test), shared (1 test)", "apt-get install mosquitto mosquitto-clients", "shared: shared data (set ALPHAD_SHARED)"} {
		if !strings.Contains(line, part) {
			t.Errorf("summary %q lacks %q", line, part)
		}
	}
	if strings.Contains(line, "\n") {
		t.Errorf("summary is more than one line: %q", line)
	}
}
