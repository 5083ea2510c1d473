// Package labels reads class label files: one label per line, as the
// ImageNet label lists ship, or Teachable Machine's "<index> <label>"
// lines. The class index is the line number (from 0).
package labels

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxLabels bounds the number of classes a file may hold.
const maxLabels = 100000

// Parse reads a label file. Lines are trimmed; trailing blank lines, a
// UTF-8 byte order mark and CRLF endings are ignored. When every line is
// "<i> <label>" with i counting up from 0 (Teachable Machine's labels.txt)
// the indices are dropped.
func Parse(data []byte) ([]string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("labels: not UTF-8 text")
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("labels: no labels")
	}
	if len(lines) > maxLabels {
		return nil, fmt.Errorf("labels: %d lines, more than %d", len(lines), maxLabels)
	}
	out := make([]string, len(lines))
	indexed := true
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			return nil, fmt.Errorf("labels: line %d: empty label", i+1)
		}
		out[i] = l
		if indexed {
			idx, rest, ok := strings.Cut(l, " ")
			n, err := strconv.Atoi(idx)
			indexed = ok && err == nil && n == i && strings.TrimSpace(rest) != "" && idx == strconv.Itoa(n)
		}
	}
	if indexed {
		for i, l := range out {
			_, rest, _ := strings.Cut(l, " ")
			out[i] = strings.TrimSpace(rest)
		}
	}
	return out, nil
}

// ReadFile reads and parses the label file at path.
func ReadFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	l, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}
