// Command neongen fills in the encodings of the NEON instructions in the
// native engine's arm64 assembly. Go's arm64 assembler lacks most of them
// (FMLA by element, UDOT, UMLAL, SCVTF, FMAXNM, ...), so the .s files
// write each as
//
//	WORD $0x4fa01910 // fmla v16.4s, v8.4s, v0.s[3]
//
// with the instruction in the comment as the source of truth (Go's
// register Rn is xn, Fn/Vn is vn). neongen assembles every such comment
// with llvm-mc (apt-get install llvm) and rewrites the WORD in place;
// with -check it only reports the lines whose WORD differs and exits 1.
//
//	go run ./pipeline/engine/native/neongen [-check] file.s ...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// wordLine matches a WORD line with an instruction comment.
var wordLine = regexp.MustCompile(`^(\s*WORD\s+\$)(0x[0-9a-fA-F]+)(\s*//\s*)([a-z][a-z0-9]*\b.*)$`)

// encoding matches llvm-mc's -show-encoding comment.
var encoding = regexp.MustCompile(`encoding: \[0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2})\]`)

func main() {
	check := flag.Bool("check", false, "report stale encodings, do not rewrite")
	flag.Parse()
	bad := false
	for _, file := range flag.Args() {
		n, err := fix(file, *check)
		if err != nil {
			fmt.Fprintln(os.Stderr, "neongen:", err)
			os.Exit(2)
		}
		if n > 0 {
			bad = true
			verb := "rewrote"
			if *check {
				verb = "stale:"
			}
			fmt.Fprintf(os.Stderr, "neongen: %s: %s %d encodings\n", file, verb, n)
		}
	}
	if *check && bad {
		os.Exit(1)
	}
}

// fix re-encodes the WORD lines of file and returns how many changed.
func fix(file string, check bool) (int, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(string(src), "\n")
	var idx []int
	var asm bytes.Buffer
	for i, l := range lines {
		m := wordLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		idx = append(idx, i)
		fmt.Fprintln(&asm, m[4])
	}
	if len(idx) == 0 {
		return 0, nil
	}
	cmd := exec.Command("llvm-mc", "-triple=aarch64", "-mattr=+dotprod", "-show-encoding")
	cmd.Stdin = &asm
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("%s: llvm-mc: %v: %s", file, err, stderr.String())
	}
	var words []string
	for _, l := range strings.Split(string(out), "\n") {
		if m := encoding.FindStringSubmatch(l); m != nil {
			words = append(words, "0x"+m[4]+m[3]+m[2]+m[1])
		}
	}
	if len(words) != len(idx) {
		return 0, fmt.Errorf("%s: llvm-mc encoded %d of %d instructions: %s", file, len(words), len(idx), stderr.String())
	}
	changed := 0
	for j, i := range idx {
		m := wordLine.FindStringSubmatch(lines[i])
		if strings.EqualFold(m[2], words[j]) {
			continue
		}
		changed++
		if check {
			fmt.Fprintf(os.Stderr, "%s:%d: %s is %s, not %s\n", file, i+1, m[4], words[j], m[2])
		}
		lines[i] = m[1] + words[j] + m[3] + m[4]
	}
	if check || changed == 0 {
		return changed, nil
	}
	return changed, os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644)
}
