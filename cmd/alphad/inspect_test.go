package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

func TestModelInspect(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, m *tflite.Model) string {
		t.Helper()
		data, err := tflite.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unsupported := tflitetest.Tiny()
	unsupported.Operators[3].Op = 150 // GELU
	unsupported.Operators[3].Options = nil
	unsupported.Operators[1].Version = 9 // MEAN v9
	garbage := filepath.Join(dir, "garbage.tflite")
	if err := os.WriteFile(garbage, []byte("0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    func(t *testing.T) string
		want    []string // substrings of stdout
		wantErr string
	}{
		{
			name: "teachable machine",
			path: func(t *testing.T) string {
				return testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite")
			},
			want: []string{"uint8[1,224,224,3]", "per-tensor: scale=0.003921569 zero_point=0", "uint8[1,2]",
				"operators: 73 (8 kinds)", "PAD", "FULLY_CONNECTED", "unsupported: none", "per-channel"},
		},
		{
			name: "tiny",
			path: func(*testing.T) string { return write("tiny.tflite", tflitetest.Tiny()) },
			want: []string{"float32[1,4,4,2]", "not quantized", "operators: 4 (4 kinds)", "unsupported: none"},
		},
		{
			name:    "unsupported ops",
			path:    func(*testing.T) string { return write("unsupported.tflite", unsupported) },
			want:    []string{"unsupported: 2", "operator 1", "MEAN", "v9", "supported versions are 1 to 3", "operator 3", "GELU"},
			wantErr: "2 operators alphad cannot run",
		},
		{
			name:    "garbage",
			path:    func(*testing.T) string { return garbage },
			wantErr: "invalid model",
		},
		{
			name:    "missing",
			path:    func(*testing.T) string { return filepath.Join(dir, "nope.tflite") },
			wantErr: "no such file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := newModelCmd(newDeps(&stdout, &stderr))
			cmd.SetArgs([]string{"inspect", tt.path(t)})
			cmd.SetOut(&stderr)
			cmd.SetErr(&stderr)
			err := cmd.Execute()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("inspect: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("inspect error %v, want one containing %q", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
			if tt.name == "garbage" {
				var fe *tflite.FormatError
				if !errors.As(err, &fe) {
					t.Errorf("error %v is not a *tflite.FormatError", err)
				}
			}
		})
	}
}
