package main

import (
	"errors"
	"fmt"
	"github.com/alphad/alphad/pipeline/engine"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

// deps are what the commands share: output streams, the logger and the
// environment lookup (so tests can run the CLI in-process).
type deps struct {
	stdout, stderr io.Writer
	log            *slog.Logger
	getenv         func(string) string
	stateDir       string // --state-dir; resolve with resolveStateDir
	// newEngine, when set, replaces the engine factory of `alphad run`
	// (the lifecycle tests' hanging engine); nil: engineFactory.
	newEngine func(name string, log *slog.Logger) (engine.New, error)
}

func newDeps(stdout, stderr io.Writer) *deps {
	return &deps{
		stdout: stdout,
		stderr: stderr,
		log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
		getenv: os.Getenv,
	}
}

// exitError carries a specific exit code (2 = bad configuration or usage).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error, stderr io.Writer) int {
	fmt.Fprintln(stderr, "alphad:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func newRootCmd(d *deps) *cobra.Command {
	root := &cobra.Command{
		Use:           "alphad",
		Short:         "Teachable Machine for physical machines: camera → TFLite classifier → MQTT, taught with GPIO buttons",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&d.stateDir, "state-dir", "", "samples and model versions (env ALPHAD_STATE_DIR; default /var/lib/alphad as root, else $XDG_STATE_HOME/alphad or ~/.local/state/alphad)")
	root.AddCommand(
		newWatchCmd(d), newDevicesCmd(d),
		newVersionCmd(d),
		newPanelCmd(d),
		newConfigCmd(d),
		newClassifyCmd(d),
		newModelCmd(d),
		newTrainCmd(d), newDatasetCmd(d), newEvalCmd(d),
		newBenchCmd(d),
		newMQTTCmd(d),
		newRunCmd(d), newWebCmd(d),
	)
	return root
}

func newVersionCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, commit and the engines compiled in",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(d.stdout, "alphad %s (commit %s, %s, %s/%s)\nengines: %s\n",
				version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, strings.Join(engineNames(), ", "))
			return nil
		},
	}
}
