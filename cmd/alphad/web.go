package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// newWebCmd is `alphad web`: the web app of a running daemon.
func newWebCmd(d *deps) *cobra.Command {
	web := &cobra.Command{
		Use:   "web",
		Short: "The web app served on http.listen (login links)",
	}
	web.AddCommand(&cobra.Command{
		Use:   "link",
		Short: "Print a one-time login link for the web app (valid 10 minutes, usable once)",
		Long: "Ask the running daemon (over its control socket, owner only) for a one-time login link to\n" +
			"the web app. Open it on a phone or a laptop on the same network; it starts a session and\n" +
			"cannot be used again.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := d.remote()
			if err != nil {
				return fmt.Errorf("web link: %w", err)
			}
			if c == nil {
				return errors.New("web link: no daemon runs on this state directory (start alphad run)")
			}
			res, err := d.call(cmd.Context(), c, "web link", "login_link", nil)
			if err != nil {
				return err
			}
			fmt.Fprintln(d.stdout, res.Message)
			return nil
		},
	})
	return web
}
