package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/tflite"
)

// resolveStateDir is where samples and model versions live: --state-dir,
// else $ALPHAD_STATE_DIR, else /var/lib/alphad as root, else
// $XDG_STATE_HOME/alphad, else ~/.local/state/alphad.
func (d *deps) resolveStateDir() (string, error) {
	if d.stateDir != "" {
		return d.stateDir, nil
	}
	if v := d.getenv("ALPHAD_STATE_DIR"); v != "" {
		return v, nil
	}
	if os.Geteuid() == 0 {
		return "/var/lib/alphad", nil
	}
	if v := d.getenv("XDG_STATE_HOME"); v != "" {
		return filepath.Join(v, "alphad"), nil
	}
	home := d.getenv("HOME")
	if home == "" {
		return "", errors.New("state dir: no --state-dir, ALPHAD_STATE_DIR, XDG_STATE_HOME or HOME")
	}
	return filepath.Join(home, ".local", "state", "alphad"), nil
}

// stateDirOrDie resolves and creates the state directory.
func (d *deps) mkStateDir() (string, error) {
	dir, err := d.resolveStateDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("state dir: %w", err)
	}
	return dir, nil
}

// learningEngine picks the engine for embedding and classification by
// name ("auto": the first compiled-in engine with a constructor, else
// native) and the thread count (0 = all CPUs).
func learningEngine(name string, threads int) (engine.New, engine.Options, error) {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	opts := engine.Options{Threads: threads}
	nativeNew := func(m *tflite.Model, o engine.Options) (engine.Engine, error) { return native.New(m, o) }
	for _, e := range engineTable() {
		if (name == "auto" || name == e.name) && e.new != nil {
			return e.new, opts, nil
		}
	}
	if name == "auto" || name == "native" {
		return nativeNew, opts, nil
	}
	return nil, opts, &exitError{code: 2, err: fmt.Errorf("engine %q not compiled in (have %v)", name, engineNames())}
}
