// Command alphad is the Teachable-Machine-for-physical-machines daemon and
// its command-line tools. This package is the only composition root: it
// reads the environment, initialises hardware and wires the packages.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Set by the linker (see Makefile).
var (
	version = "0.1.0-dev" // the Makefile sets the release tag's version (v1.2.3 → 1.2.3)
	commit  = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, newDeps(stdout, stderr), args)
}

// runWith executes the CLI with the given dependencies.
func runWith(ctx context.Context, d *deps, args []string) int {
	stdout, stderr := d.stdout, d.stderr
	root := newRootCmd(d)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		return exitCode(err, stderr)
	}
	return 0
}
