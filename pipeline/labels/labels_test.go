package labels

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"plain", "background\ntench\ngoldfish\n", []string{"background", "tench", "goldfish"}},
		{"teachable machine", "0 Class 1\n1 Class 2\n2 hand up\n", []string{"Class 1", "Class 2", "hand up"}},
		{"crlf bom trailing blank", "\ufeff0 a\r\n1 b\r\n\r\n\n", []string{"a", "b"}},
		{"numbers that are not indices", "1 euro\n2 euro\n", []string{"1 euro", "2 euro"}},
		{"partly indexed", "0 cat\ndog\n", []string{"0 cat", "dog"}},
		{"no final newline", "x\ny", []string{"x", "y"}},
		{"padded", "  a  \n\tb\n", []string{"a", "b"}},
		{"leading zero index kept", "00 a\n01 b\n", []string{"00 a", "01 b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "no labels"},
		{"blank", "\n \n", "no labels"},
		{"blank line inside", "a\n\nb\n", "line 2: empty label"},
		{"binary", "\xff\xfe", "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReadFileShared(t *testing.T) {
	tests := []struct {
		path  []string
		n     int
		first string
	}{
		{[]string{"models", "imagenet_labels.txt"}, 1001, "background"},
		{[]string{"teachable-machine", "rpi4-coral-uint8", "labels.txt"}, -1, ""},
	}
	for _, tt := range tests {
		t.Run(filepath.Join(tt.path...), func(t *testing.T) {
			l, err := ReadFile(testshared.Path(t, tt.path...))
			if err != nil {
				t.Fatal(err)
			}
			if tt.n >= 0 && len(l) != tt.n {
				t.Fatalf("%d labels, want %d", len(l), tt.n)
			}
			if tt.first != "" && l[0] != tt.first {
				t.Fatalf("first %q, want %q", l[0], tt.first)
			}
			for i, s := range l {
				if s == "" || strings.HasPrefix(s, "0 ") {
					t.Fatalf("label %d = %q", i, s)
				}
			}
			t.Logf("%d labels: %q…", len(l), l[:min(3, len(l))])
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none.txt")); err == nil {
		t.Fatal("missing file: no error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("0 a\n1 b\n"))
	f.Add([]byte("background\ntench\n"))
	f.Add([]byte("\ufeffx\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if err != nil {
			return
		}
		if len(l) == 0 {
			t.Fatal("no labels and no error")
		}
		for _, s := range l {
			if s == "" || strings.ContainsAny(s, "\n") || strings.TrimSpace(s) != s {
				t.Fatalf("bad label %q", s)
			}
		}
	})
}
