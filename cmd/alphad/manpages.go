package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/alphad/alphad/internal/atomicfile"
)

// newManCmd is the hidden `alphad __man DIR`: one man page (section 1)
// per command, generated from the command tree at build and package time
// (make man, scripts/deb.sh). A few lines of roff instead of cobra/doc,
// which would pull a Markdown renderer into the module.
func newManCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:    "__man DIR",
		Short:  "Write the man pages (alphad.1, alphad-train.1, …) into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := writeManPages(cmd.Root(), args[0])
			if err != nil {
				return fmt.Errorf("man: %w", err)
			}
			fmt.Fprintf(d.stdout, "wrote %d man pages to %s\n", n, args[0])
			return nil
		},
	}
}

func writeManPages(root *cobra.Command, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	n := 0
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if c.Hidden || c.Name() == "help" || !c.IsAvailableCommand() && c != root {
			return nil
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-")
		if err := atomicfile.WriteFile(filepath.Join(dir, name+".1"), manPage(c), 0o644); err != nil {
			return err
		}
		n++
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return n, walk(root)
}

// roff escapes text for a man page line.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			b.WriteString(`\&`)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func manPage(c *cobra.Command) []byte {
	var b bytes.Buffer
	name := strings.ReplaceAll(c.CommandPath(), " ", "-")
	fmt.Fprintf(&b, ".TH %q 1 \"\" \"alphad %s\" \"alphad manual\"\n", strings.ToUpper(name), version)
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", name, roff(c.Short))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n", roff(c.UseLine()))
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	fmt.Fprintf(&b, ".SH DESCRIPTION\n%s\n", roff(desc))
	flags := func(title string, fs *pflag.FlagSet) {
		var rows []string
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			head := "\\fB--" + f.Name + "\\fR"
			if f.Shorthand != "" {
				head = "\\fB-" + f.Shorthand + "\\fR, " + head
			}
			if f.Value.Type() != "bool" && f.Value.Type() != "count" {
				head += " " + f.Value.Type()
			}
			usage := f.Usage
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
				usage += " (default " + f.DefValue + ")"
			}
			rows = append(rows, ".TP\n"+head+"\n"+roff(usage))
		})
		if len(rows) > 0 {
			fmt.Fprintf(&b, ".SH %s\n%s\n", title, strings.Join(rows, "\n"))
		}
	}
	flags("OPTIONS", c.NonInheritedFlags())
	flags("GLOBAL OPTIONS", c.InheritedFlags())
	if c.Example != "" {
		fmt.Fprintf(&b, ".SH EXAMPLES\n.nf\n%s\n.fi\n", roff(c.Example))
	}
	if c == c.Root() {
		b.WriteString(".SH EXIT STATUS\n0 success; 1 failure; 2 bad configuration or usage (an unknown flag or command, a wrong argument, a bad value).\n")
		b.WriteString(".SH FILES\n/etc/alphad/alphad.yaml (see /usr/share/doc/alphad/config.md), /var/lib/alphad (the state directory)\n")
	}
	var see []string
	if p := c.Parent(); p != nil {
		see = append(see, strings.ReplaceAll(p.CommandPath(), " ", "-")+"(1)")
	}
	for _, sub := range c.Commands() {
		if !sub.Hidden && sub.IsAvailableCommand() {
			see = append(see, strings.ReplaceAll(sub.CommandPath(), " ", "-")+"(1)")
		}
	}
	if len(see) > 0 {
		fmt.Fprintf(&b, ".SH SEE ALSO\n%s\n", strings.Join(see, ", "))
	}
	return b.Bytes()
}
