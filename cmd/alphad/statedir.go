package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/store"
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

// mkStateDir resolves and creates the state directory.
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

// openState opens the state directory as its owner: for the commands that
// change samples or versions (dataset, train, model rollback/import). It
// fails with store.ErrLocked while the daemon owns it.
func (d *deps) openState() (*store.State, error) {
	dir, err := d.resolveStateDir()
	if err != nil {
		return nil, err
	}
	return store.OpenState(dir, d.log)
}

// openModels opens the state directory's model versions and backbones
// without owning it: for the commands that read versions or install a
// backbone (model ls/export/pull, classify, watch).
func (d *deps) openModels() (*store.Models, error) {
	dir, err := d.resolveStateDir()
	if err != nil {
		return nil, err
	}
	return store.OpenModels(dir)
}

// learningEngine picks the engine for embedding and classification by
// name (see engineFactory) and the thread count (0 = all CPUs).
func learningEngine(name string, threads int, log *slog.Logger) (engine.New, engine.Options, error) {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	f, err := engineFactory(name, log)
	return f, engine.Options{Threads: threads}, err
}
