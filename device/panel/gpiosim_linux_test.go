//go:build linux

package panel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/alphad/alphad/device/panel"
)

// TestVMPanel runs the panel on the kernel's gpio-sim through periph's
// gpioioctl driver: a real character device, real edge events, real bias.
// It runs inside the test VM (scripts/vmtest.sh, which sets VMTEST=1) and
// skips elsewhere. Real time passes here, but only waits for outcomes are
// timed, never asserted.
func TestVMPanel(t *testing.T) {
	const cfgRoot = "/sys/kernel/config/gpio-sim"
	if os.Getenv("VMTEST") != "1" {
		t.Skip("VMTEST=1 not set (runs inside the test VM: scripts/vmtest.sh)")
	}
	if _, err := os.Stat(cfgRoot); err != nil {
		t.Skipf("gpio-sim configfs not available: %v (runs inside the test VM)", err)
	}
	sysDir := simChip(t, cfgRoot, "alphadpanel", []string{"GPIO17", "GPIO22", "GPIO23", "GPIO27"})
	if _, err := host.Init(); err != nil {
		t.Fatalf("host.Init: %v", err)
	}
	cfg := panel.Default()
	cfg.Buttons[0].DoublePress = true
	cfg.DoubleWindow = 2 * time.Second // sleeps stretch under TCG emulation
	pins, err := panel.Resolve(cfg, gpioreg.ByName, gpioreg.All)
	if err != nil {
		t.Fatal(err)
	}
	p, err := panel.New(cfg, pins, panel.Options{Wake: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Close()
		// Release the lines (the panel leaves that to their owner) so the
		// simulated chip can go.
		for _, pin := range append([]any{pins.LED}, anySlice(pins.Buttons)...) {
			if c, ok := pin.(interface{ Close() }); ok {
				c.Close()
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	// Pressing = the simulator pulls the line low against our pull-up.
	set := func(line int, pressed bool) {
		t.Helper()
		v := "pull-up"
		if pressed {
			v = "pull-down"
		}
		f := filepath.Join(sysDir, fmt.Sprintf("sim_gpio%d", line), "pull")
		if err := os.WriteFile(f, []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(want ...string) {
		t.Helper()
		for _, w := range want {
			select {
			case e := <-p.Events():
				if got := e.Button + " " + e.Gesture.String(); got != w {
					t.Fatalf("event %q (held %v), want %q", got, e.Held, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no event, want %q", w)
			}
		}
	}
	// Let the watchers start waiting before the first edge.
	time.Sleep(100 * time.Millisecond)

	set(1, true) // class2: short press
	time.Sleep(100 * time.Millisecond)
	set(1, false)
	expect("class2 press")

	set(2, true) // train: hold past long press
	expect("train hold-start")
	time.Sleep(2 * time.Second)
	set(2, false)
	expect("train hold-end", "train long-press")

	set(0, true) // class1 (double press on): two quick presses
	time.Sleep(60 * time.Millisecond)
	set(0, false)
	time.Sleep(60 * time.Millisecond)
	set(0, true)
	time.Sleep(60 * time.Millisecond)
	set(0, false)
	expect("class1 double-press")

	// LED on line 3: training blinks it, Close leaves it low.
	value := filepath.Join(sysDir, "sim_gpio3", "value")
	p.Show(panel.Training)
	seen := map[string]bool{}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && len(seen) < 2; time.Sleep(20 * time.Millisecond) {
		seen[readTrim(t, value)] = true
	}
	if !seen["0"] || !seen["1"] {
		t.Errorf("LED values seen while training: %v, want 0 and 1", seen)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v := readTrim(t, value); v != "0" {
		t.Errorf("LED value after Close = %s, want 0", v)
	}
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// simChip creates a live gpio-sim chip with named lines and removes it at
// the end of the test; it returns the sysfs directory with sim_gpioN/.
func simChip(t *testing.T, root, name string, lines []string) string {
	t.Helper()
	chip := filepath.Join(root, name)
	bank := filepath.Join(chip, "bank0")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(chip, 0o755))
	must(os.Mkdir(bank, 0o755))
	must(os.WriteFile(filepath.Join(bank, "label"), []byte(name), 0))
	must(os.WriteFile(filepath.Join(bank, "num_lines"), []byte(fmt.Sprint(len(lines))), 0))
	var dirs []string
	for i, ln := range lines {
		d := filepath.Join(bank, fmt.Sprintf("line%d", i))
		must(os.Mkdir(d, 0o755))
		must(os.WriteFile(filepath.Join(d, "name"), []byte(ln), 0))
		dirs = append(dirs, d)
	}
	must(os.WriteFile(filepath.Join(chip, "live"), []byte("1"), 0))
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(chip, "live"), []byte("0"), 0)
		for _, d := range dirs {
			_ = os.Remove(d)
		}
		_ = os.Remove(bank)
		_ = os.Remove(chip)
	})
	dev := readTrim(t, filepath.Join(chip, "dev_name"))
	chipName := readTrim(t, filepath.Join(bank, "chip_name"))
	return filepath.Join("/sys/devices/platform", dev, chipName)
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
