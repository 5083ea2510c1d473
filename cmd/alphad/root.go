package main

import (
	"errors"
	"fmt"
	"github.com/alphad/alphad/internal/stillimage"
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
	logLevel       *slog.LevelVar
	verbose        int // -v: info, -vv: debug
	// newEngine, when set, replaces the engine factory of `alphad run`
	// (the lifecycle tests' hanging engine); nil: engineFactory.
	newEngine func(name string, log *slog.Logger) (engine.New, error)
	// images bounds the still images the commands decode (classify,
	// dataset add/import); `alphad run` takes its images: section instead.
	images stillimage.Limits
}

// newDeps returns the CLI's dependencies. Human output goes to stdout;
// logs go to stderr at warn and above unless -v (info) or -vv (debug) —
// `alphad run` logs at its configured log.level instead.
func newDeps(stdout, stderr io.Writer) *deps {
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	return &deps{
		stdout:   stdout,
		stderr:   stderr,
		logLevel: level,
		log:      slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		getenv:   os.Getenv,
		images:   stillimage.DefaultLimits(),
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
	if msg := err.Error(); strings.HasPrefix(msg, "alphad ") {
		fmt.Fprintln(stderr, msg) // already names the command
	} else {
		fmt.Fprintln(stderr, "alphad:", msg)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if strings.HasPrefix(err.Error(), "unknown command ") { // cobra's, for the root
		return 2
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
	root.PersistentFlags().CountVarP(&d.verbose, "verbose", "v", "log more on stderr: -v info, -vv debug (default: warnings and errors only)")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		switch {
		case d.verbose >= 2:
			d.logLevel.Set(slog.LevelDebug)
		case d.verbose == 1:
			d.logLevel.Set(slog.LevelInfo)
		}
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
		newManCmd(d),
		newFleetCmd(d),
	)
	root.Version = version
	root.SetVersionTemplate(fmt.Sprintf("alphad %s (commit %s)\n", version, commit))
	// Usage errors — an unknown flag, a missing or extra argument, a bad
	// flag value — exit 2 like bad configuration (the unit relies on it).
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w (see %s --help)", c.CommandPath(), err, c.CommandPath())}
	})
	usageArgs(root)
	registerCompletions(root, d)
	return root
}

// usageArgs makes every command's argument check an exit-2 usage error.
func usageArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("%s: %w (usage: %s)", cmd.CommandPath(), err, cmd.UseLine())}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
}

func newVersionCmd(d *deps) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print version, commit and the engines compiled in",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				return printJSON(d.stdout, map[string]any{"version": version, "commit": commit, "go": runtime.Version(),
					"os": runtime.GOOS, "arch": runtime.GOARCH, "engines": engineNames()})
			}
			fmt.Fprintf(d.stdout, "alphad %s (commit %s, %s, %s/%s)\nengines: %s\n",
				version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, strings.Join(engineNames(), ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"version", "commit", "go", "os", "arch", "engines"}`)
	return cmd
}
