package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/control"
)

// TestSettingsCropRule: the store saves exactly the crops the set command
// accepts (control.Crop.Check is the one rule). Before it, the store had
// its own looser copy and saved a side of half MinCrop that the command
// refuses.
func TestSettingsCropRule(t *testing.T) {
	st := openState(t, t.TempDir())
	for _, tt := range []struct {
		crop control.Crop
		ok   bool
	}{
		{control.Crop{Mode: "center"}, true},
		{control.Crop{Mode: "roi", X: 0.25, Y: 0.5, W: 0.5, H: 0.5}, true},
		{control.Crop{Mode: "roi", X: 0.5, Y: 0.5, W: 0.015, H: 0.5}, false}, // the old store rule took it
		{control.Crop{Mode: "roi", X: 0.5, Y: 0.5, W: 0.6, H: 0.5}, false},
		{control.Crop{Mode: "zoom"}, false},
	} {
		crop := tt.crop
		err := st.SetSettings(Settings{Camera: &CameraSettings{Crop: &crop}})
		if (err == nil) != tt.ok || (err == nil) != (crop.Check() == nil) {
			t.Errorf("SetSettings crop %+v: %v (want ok %v)", crop, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "camera.crop") {
			t.Errorf("error %q does not name camera.crop", err)
		}
		if !tt.ok {
			continue
		}
		got, err := st.Settings()
		if err != nil || got.Camera == nil || *got.Camera.Crop != crop {
			t.Errorf("Settings: %+v, %v; want crop %+v", got.Camera, err, crop)
		}
	}
}

// settingsN are the settings a writer saves as its n-th change: every
// field follows n, so a mix of two saves shows.
func settingsN(n int) Settings {
	th := float64(n%100) / 100
	rot := 90 * (n % 4)
	x := float64(n%50) / 100
	return Settings{Threshold: &th, Window: 1 + n%1000, Teach: "class" + strconv.Itoa(n),
		Camera: &CameraSettings{Rotate: &rot, Crop: &control.Crop{Mode: "roi", X: x, Y: 0, W: 0.5, H: 1}}}
}

// TestSettingsSIGKILL: a daemon killed (SIGKILL) while it saves settings
// through its State leaves the last acknowledged settings or the one
// being saved, whole.
func TestSettingsSIGKILL(t *testing.T) {
	if dir := os.Getenv("ALPHAD_SETTINGS_CRASH_DIR"); dir != "" {
		st, err := OpenState(dir, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		start, _ := strconv.Atoi(os.Getenv("ALPHAD_SETTINGS_CRASH_START"))
		for n := start; ; n++ {
			if err := st.SetSettings(settingsN(n)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			fmt.Println("saved", n)
		}
	}
	dir := t.TempDir()
	next := 0
	for round := range 8 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSettingsSIGKILL$")
		cmd.Env = append(os.Environ(), "ALPHAD_SETTINGS_CRASH_DIR="+dir, "ALPHAD_SETTINGS_CRASH_START="+strconv.Itoa(next))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { killChild(cmd) })
		acked, killAfter := -1, 3+round*7
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "saved "))
			if err != nil {
				continue
			}
			acked = n
			if n == next+killAfter {
				time.AfterFunc(time.Duration(round*150)*time.Microsecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
			}
		}
		if err := cmd.Wait(); err == nil || acked < next+killAfter {
			t.Fatalf("round %d: the writer ended by itself (%v) after save %d", round, err, acked)
		}
		st, err := OpenState(dir, nil)
		if err != nil {
			t.Fatalf("round %d: open after SIGKILL: %v", round, err)
		}
		got, err := st.Settings()
		st.Close()
		if err != nil {
			t.Fatalf("round %d: settings after SIGKILL: %v", round, err)
		}
		if !equalSettings(got, settingsN(acked)) && !equalSettings(got, settingsN(acked+1)) {
			t.Fatalf("round %d: window %d, teach %q after the kill; the last acknowledged save was %d", round, got.Window, got.Teach, acked)
		}
		next = acked + 2
	}
}

func equalSettings(a, b Settings) bool {
	return fmt.Sprint(*a.Threshold, a.Window, a.Teach, *a.Camera.Rotate, *a.Camera.Crop) ==
		fmt.Sprint(*b.Threshold, b.Window, b.Teach, *b.Camera.Rotate, *b.Camera.Crop)
}
