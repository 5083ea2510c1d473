package main

import "github.com/spf13/cobra"

// newModelCmd is the parent of the model subcommands (inspect, and the
// model store's ls/rollback/export/import/pull).
func newModelCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Inspect and manage TFLite models",
	}
	cmd.AddCommand(
		newModelInspectCmd(d),
		newModelLsCmd(d), newModelShowCmd(d), newModelRollbackCmd(d), newModelActivateCmd(d), newModelExportCmd(d), newModelImportCmd(d),
		newModelPullCmd(d),
		newModelPublishCmd(d),
	)
	return cmd
}
