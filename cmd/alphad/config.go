package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/internal/daemon"
)

func newConfigCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or print the daemon's YAML configuration",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Validate a configuration file; exit 2 listing every bad field",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if _, err := loadConfig(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "%s: ok\n", args[0])
			return nil
		},
	}, &cobra.Command{
		Use:   "example",
		Short: "Print a complete, commented configuration with the defaults",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(d.stdout, daemon.ExampleConfig)
			return err
		},
	})
	return cmd
}

// loadConfig reads and validates a configuration file; every failure is an
// exit-code-2 error.
func loadConfig(path string) (daemon.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return daemon.Config{}, &exitError{code: 2, err: fmt.Errorf("config: %w", err)}
	}
	cfg, err := daemon.ParseConfig(path, data)
	if err != nil {
		return cfg, &exitError{code: 2, err: err}
	}
	return cfg, nil
}
