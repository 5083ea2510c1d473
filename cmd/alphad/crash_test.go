package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestCrashSafety builds alphad and kills `dataset add` and `train` with
// SIGKILL at random moments. After every kill the store must open, hold
// every sample an `added` line acknowledged, and the current model (if
// any) must load.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it 50+ times")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "alphad")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	state := filepath.Join(tmp, "state")
	bb := writeTinyBackbone(t, tmp)
	var images [3][]string
	for c := range images {
		images[c] = writeClassImages(t, filepath.Join(tmp, "img", string(rune('a'+c))), c, 60, 12)
	}
	labels := []string{"red", "green", "blue"}
	newEngine := func(m *tflite.Model, o engine.Options) (engine.Engine, error) { return native.New(m, o) }

	r := rand.New(rand.NewPCG(1, 2))
	acked := map[string]bool{}
	next := [3]int{}
	// Keep going until at least wantKills commands were killed.
	const wantKills, maxRounds = 50, 250
	kills, trained, rounds := 0, 0, 0
	// The first rounds run to completion to time each command; later
	// ones are killed at a random moment within that time.
	took := map[string]time.Duration{}
	for i := 0; i < 4 || kills < wantKills && i < maxRounds; i++ {
		rounds++
		var args []string
		if i < 3 || (i > 3 && r.IntN(3) > 0) {
			c := r.IntN(3)
			n := 1 + r.IntN(4)
			args = []string{"dataset", "add", "--state-dir", state, labels[c]}
			for range n {
				args = append(args, images[c][next[c]%len(images[c])])
				next[c]++
			}
		} else {
			args = []string{"train", "--state-dir", state, "--backbone", bb, "--epochs", "20", "--hidden", "8", "--threads", "1"}
		}
		cmd := exec.Command(bin, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Hour
		if i >= 4 {
			d := took[args[0]]
			delay = d*3/10 + time.Duration(r.Int64N(int64(d)+1))
		}
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
			if i < 4 {
				took[args[0]] = time.Since(start)
			}
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			err = <-done
			kills++
		}
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if err == nil && args[0] == "train" {
			trained++
		}
		if err != nil && i < 4 {
			t.Fatalf("round %d: %v: %v\n%s", i, args, err, errb.String())
		}
		if err != nil && ee.ExitCode() > 0 && args[0] == "dataset" {
			t.Fatalf("round %d: %v exited %d:\n%s", i, args, ee.ExitCode(), errb.String())
		}
		for _, m := range addedRE.FindAllStringSubmatch(out.String(), -1) {
			acked[m[1]] = true
		}

		sd, oerr := store.OpenState(state, nil)
		if oerr != nil {
			t.Fatalf("round %d (%v, killed after %v): open state dir: %v", i, args[:2], delay, oerr)
		}
		st := sd.Samples()
		have := map[string]bool{}
		for _, s := range st.Samples() {
			have[s.ID] = true
			if _, err := st.Image(s.ID); err != nil {
				t.Errorf("round %d: sample %s: %v", i, s.ID, err)
			}
		}
		sd.Close()
		for id := range acked {
			if !have[id] {
				t.Fatalf("round %d (%v, killed after %v): acknowledged sample %s lost", i, args[:2], delay, id)
			}
		}
		m, lerr := store.LoadCurrent(state, newEngine, engine.Options{})
		switch {
		case errors.Is(lerr, store.ErrNoModel):
		case lerr != nil:
			t.Fatalf("round %d: load current model: %v", i, lerr)
		default:
			m.Close()
		}
	}
	t.Logf("dataset add takes %v, train %v", took["dataset"], took["train"])
	t.Logf("%d rounds, %d killed, %d trainings completed, %d samples acknowledged", rounds, kills, trained, len(acked))
	if kills < wantKills || len(acked) == 0 {
		t.Errorf("only %d kills and %d acknowledged samples: the test did not exercise crashes", kills, len(acked))
	}
}
