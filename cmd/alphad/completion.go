package main

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/internal/control"
)

// Shell completion of flag values and arguments: engines, augmentations,
// class names and model versions. Cobra's `alphad completion bash|zsh|fish`
// prints the scripts; `make install` and the .deb install them.

// registerCompletions adds the value completions to every command of the
// tree that has the flags or arguments.
func registerCompletions(root *cobra.Command, d *deps) {
	fixed := func(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		}
	}
	classes := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return completeClasses(d), cobra.ShellCompDirectiveNoFileComp
	}
	versions := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return completeVersions(d), cobra.ShellCompDirectiveNoFileComp
	}
	engines := append([]string{"auto"}, engineNames()...)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		f := c.Flags()
		if f.Lookup("engine") != nil {
			c.RegisterFlagCompletionFunc("engine", fixed(engines...))
		}
		if f.Lookup("augment") != nil {
			c.RegisterFlagCompletionFunc("augment", fixed("none", "flip", "crops"))
		}
		if f.Lookup("class") != nil {
			c.RegisterFlagCompletionFunc("class", classes)
		}
		if f.Lookup("version") != nil && c.Name() != "alphad" {
			c.RegisterFlagCompletionFunc("version", versions)
		}
		if f.Lookup("format") != nil && c.Name() == "eval" {
			c.RegisterFlagCompletionFunc("format", fixed("text", "json", "row"))
		}
		switch c.CommandPath() {
		case "alphad model rollback", "alphad model activate", "alphad model show":
			c.ValidArgsFunction = onlyFirst(versions)
		case "alphad dataset add", "alphad dataset rename":
			c.ValidArgsFunction = onlyFirst(classes)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// onlyFirst completes the first argument with f and files after it.
func onlyFirst(f func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(c *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return f(c, args, s)
	}
}

// completeClasses lists the state directory's classes (through the
// running daemon when it owns the directory); none on any error.
func completeClasses(d *deps) []string {
	if c, err := d.remote(); err == nil && c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res, err := c.Call(ctx, control.Status, nil, nil)
		if err != nil {
			return nil
		}
		var out []string
		list, _ := res.Details["classes"].([]any)
		for _, x := range list {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	state, err := d.openState()
	if err != nil {
		return nil
	}
	defer state.Close()
	return slices.Clone(state.Samples().Classes())
}

// completeVersions lists the model versions, newest first.
func completeVersions(d *deps) []string {
	models, err := d.openModels()
	if err != nil {
		return nil
	}
	list, cur, err := models.List()
	if err != nil {
		return nil
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		desc := list[i].Created.Format("2006-01-02 15:04")
		if list[i].Name == cur {
			desc += " (current)"
		}
		out = append(out, list[i].Name+"\t"+strings.TrimSpace(desc))
	}
	return out
}
