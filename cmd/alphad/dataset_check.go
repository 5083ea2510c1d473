package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/pipeline/store"
)

// Exit codes of `alphad dataset check` (docs/store.md).
const (
	checkClean    = 0 // nothing wrong (or --repair fixed all it found)
	checkFailed   = 1 // the check could not run: state dir in use, unreadable database
	checkUsage    = 2 // bad flags
	checkProblems = 3 // problems remain: found without --repair, or not repairable
)

func newDatasetCheckCmd(d *deps) *cobra.Command {
	var repair, asJSON bool
	cmd := &cobra.Command{
		Use:   "check [--repair] [--json]",
		Short: "Check the state directory: files without rows, samples whose image is missing or does not decode",
		Long: "Check the state directory as its owner (stop the daemon first). Opening it already removes\n" +
			"temp files and files no sample names (orphans); check lists them, then looks for samples whose\n" +
			"image is missing or does not decode, originals that are gone, and model versions whose head\n" +
			"file is missing. --repair removes the broken samples and forgets missing originals (broken\n" +
			"versions are reported only: roll back or train again).\n\n" +
			"Exit codes: 0 clean (or all repaired), 1 the check could not run, 2 bad usage,\n" +
			"3 problems remain.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			state, err := d.openState()
			if errors.Is(err, store.ErrLocked) {
				return &exitError{code: checkFailed, err: fmt.Errorf("dataset check: %w (stop the daemon first: systemctl stop alphad)", err)}
			}
			if err != nil {
				return &exitError{code: checkFailed, err: fmt.Errorf("dataset check: %w", err)}
			}
			defer state.Close()
			rep, err := state.Check(repair)
			if err != nil {
				return &exitError{code: checkFailed, err: fmt.Errorf("dataset check: %w", err)}
			}
			if asJSON {
				out := struct {
					store.CheckReport
					Repair     bool `json:"repair"`
					Problems   int  `json:"problems"`
					Unrepaired int  `json:"unrepaired"`
				}{rep, repair, rep.Problems(), rep.Unrepaired()}
				b, _ := json.MarshalIndent(out, "", "  ")
				fmt.Fprintf(d.stdout, "%s\n", b)
			} else {
				printCheck(d.stdout, rep, repair)
			}
			left := rep.Problems()
			if repair {
				left = rep.Unrepaired()
			}
			if left > 0 {
				hint := "run alphad dataset check --repair"
				if repair {
					hint = "roll back (alphad model rollback) or train again"
				}
				return &exitError{code: checkProblems, err: fmt.Errorf("dataset check: %d problems remain (%s)", left, hint)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "remove samples whose image is missing or bad, forget missing originals")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printCheck(w io.Writer, rep store.CheckReport, repair bool) {
	fmt.Fprintf(w, "checked %d samples\n", rep.Samples)
	list := func(what string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", what, len(items))
		for _, it := range items {
			fmt.Fprintf(w, "  %s\n", it)
		}
	}
	list("removed orphan files (temp files, files no sample names)", rep.Orphans)
	list("samples whose image is missing", rep.Missing)
	var bad []string
	for _, b := range rep.BadImages {
		bad = append(bad, b.ID+": "+b.Err)
	}
	list("samples whose image does not decode", bad)
	list("samples whose original is missing", rep.MissingOriginals)
	var broken []string
	for _, v := range rep.BrokenVersions {
		broken = append(broken, v.Name+": "+v.Err)
	}
	list("model versions that cannot load", broken)
	if repair {
		list("removed samples", rep.Removed)
		list("forgot originals of", rep.RemovedOriginals)
	}
	if rep.Problems() == 0 {
		fmt.Fprintln(w, "ok")
	}
}
