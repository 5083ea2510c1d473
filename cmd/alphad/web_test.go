package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rsc.io/qr"

	"github.com/alphad/alphad/internal/web"
)

// TestUIPassword: `alphad ui password` reads the first line of stdin,
// stores its hash in the state directory (internal/web tests that the
// login takes what SetPassword stores); a bad password exits 2 naming the rule and changes nothing.
func TestUIPassword(t *testing.T) {
	dir := t.TempDir()
	runPW := func(input string) (int, string) {
		var out, errb bytes.Buffer
		d := newDeps(&out, &errb)
		root := newRootCmd(d)
		root.SetArgs([]string{"--state-dir", dir, "ui", "password"})
		root.SetIn(strings.NewReader(input))
		root.SetOut(&out)
		root.SetErr(&errb)
		if err := root.ExecuteContext(context.Background()); err != nil {
			return exitCode(err, &errb), errb.String()
		}
		return 0, out.String()
	}
	if code, out := runPW("open sesame 42\n"); code != 0 || !strings.Contains(out, "web password set") {
		t.Fatalf("ui password: exit %d: %s", code, out)
	}
	file := filepath.Join(dir, web.PasswordFile)
	stored, err := os.ReadFile(file)
	if err != nil || strings.Contains(string(stored), "open sesame") || !strings.HasPrefix(string(stored), "$argon2id$") {
		t.Fatalf("password file %q: %v", stored, err)
	}
	if code, msg := runPW("short\n"); code != 2 || !strings.Contains(msg, "shorter than 8") {
		t.Errorf("short password: exit %d: %s", code, msg)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, stored) {
		t.Error("a refused password changed the file")
	}
}

// TestPrintQR: the half-block drawing is the QR code's modules (light
// drawn, two rows a line, a two-module quiet zone).
func TestPrintQR(t *testing.T) {
	const text = "http://garage:9464/login?t=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	var b bytes.Buffer
	if err := printQR(&b, text); err != nil {
		t.Fatal(err)
	}
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		t.Fatal(err)
	}
	n := code.Size + 4
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != (n+1)/2 {
		t.Fatalf("%d lines, want %d", len(lines), (n+1)/2)
	}
	for ly, line := range lines {
		cells := []rune(line)
		if len(cells) != n {
			t.Fatalf("line %d has %d cells, want %d", ly, len(cells), n)
		}
		for x, c := range cells {
			top := c == '█' || c == '▀'
			bottom := c == '█' || c == '▄'
			for i, light := range []bool{top, bottom} {
				mx, my := x-2, 2*ly+i-2
				want := mx < 0 || my < 0 || mx >= code.Size || my >= code.Size || !code.Black(mx, my)
				if my < n-2 && light != want {
					t.Fatalf("module (%d,%d): light %v, want %v", mx, my, light, want)
				}
			}
		}
	}
}
