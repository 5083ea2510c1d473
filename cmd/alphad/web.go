package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"rsc.io/qr"

	"github.com/alphad/alphad/internal/web"
)

// newWebCmd is `alphad ui` (alias `alphad web`): the web app of a running
// daemon — one-time login links and the password.
func newWebCmd(d *deps) *cobra.Command {
	ui := &cobra.Command{
		Use:     "ui",
		Aliases: []string{"web"},
		Short:   "The web app served on http.listen (login links, password)",
	}
	var qrMode string
	url := &cobra.Command{
		Use:     "url",
		Aliases: []string{"link"},
		Short:   "Print a one-time login link for the web app (valid 10 minutes, usable once), with a QR code on a terminal",
		Long: "Ask the running daemon (over its control socket, owner only) for a one-time login link to\n" +
			"the web app. Open it on a phone or a laptop on the same network (or scan the QR code printed\n" +
			"on a terminal); it starts a session and cannot be used again.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if qrMode != "auto" && qrMode != "always" && qrMode != "never" {
				return &exitError{code: 2, err: fmt.Errorf("ui url: --qr %q: want auto, always or never", qrMode)}
			}
			c, err := d.remote()
			if err != nil {
				return fmt.Errorf("ui url: %w", err)
			}
			if c == nil {
				return errors.New("ui url: no daemon runs on this state directory (start alphad run)")
			}
			res, err := d.call(cmd.Context(), c, "ui url", "login_link", nil)
			if err != nil {
				return err
			}
			if qrMode == "always" || qrMode == "auto" && isTerminal(d.stdout) {
				if err := printQR(d.stdout, res.Message); err != nil {
					return fmt.Errorf("ui url: %w", err)
				}
			}
			fmt.Fprintln(d.stdout, res.Message)
			return nil
		},
	}
	url.Flags().StringVar(&qrMode, "qr", "auto", "print a QR code of the link: auto (on a terminal), always, never")
	ui.AddCommand(url, &cobra.Command{
		Use:   "password",
		Short: "Set the web app's password (read from the terminal, or the first line of stdin)",
		Long: "Set the password of the web app's login form. It is stored hashed (argon2id) in the state\n" +
			"directory and applies at once, also to a running daemon, whose web sessions all end. On a\n" +
			"terminal it is asked twice without echo; otherwise the first line of standard input is the password.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := d.mkStateDir()
			if err != nil {
				return fmt.Errorf("ui password: %w", err)
			}
			pw, err := readPassword(cmd.InOrStdin(), d.stderr)
			if err != nil {
				return fmt.Errorf("ui password: %w", err)
			}
			if err := web.ValidPassword(pw); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("ui password: %w", err)}
			}
			if err := web.SetPassword(filepath.Join(dir, web.PasswordFile), pw); err != nil {
				return fmt.Errorf("ui password: %w", err)
			}
			fmt.Fprintln(d.stdout, "web password set")
			return nil
		},
	})
	return ui
}

// readPassword reads the new password: twice without echo from a
// terminal, else the first line of in.
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "New web password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(in, web.MaxPassword+2), web.MaxPassword+2).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// printQR draws text as a QR code with Unicode half blocks, two modules
// per character cell vertically, light modules drawn (it reads on dark
// and light terminals alike: the quiet zone is drawn too).
func printQR(w io.Writer, text string) error {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return fmt.Errorf("qr code: %w", err)
	}
	const quiet = 2
	n := code.Size
	light := func(x, y int) bool {
		if x < 0 || y < 0 || x >= n || y >= n {
			return true
		}
		return !code.Black(x, y)
	}
	var b strings.Builder
	for y := -quiet; y < n+quiet; y += 2 {
		for x := -quiet; x < n+quiet; x++ {
			top, bottom := light(x, y), light(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}
