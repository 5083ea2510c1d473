// Package enginetest holds the conformance checks every inference engine
// must pass: Golden compares an engine with the real TFLite outputs in
// ../shared/golden, Agree compares two engines with each other. Oracle
// (the real TFLite runtime on one input), PNGRGB (a test image as a model
// input) and Bench (a model benchmark) serve the engines' own tests. It is
// imported only by tests.
package enginetest

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// Case is one row of golden/MANIFEST.tsv; paths are relative to the shared
// directory (Input and Output to its golden/ folder).
type Case struct {
	Model, Image, Input, InputType, Output, OutputType string
}

// Name identifies the case in subtest names: model base name / image.
func (c Case) Name() string {
	return strings.TrimSuffix(filepath.Base(c.Model), ".tflite") + "/" + filepath.Base(c.Image)
}

// Manifest reads golden/MANIFEST.tsv (skipping locally, failing in CI, when
// the shared data is missing).
func Manifest(t testing.TB) []Case {
	t.Helper()
	path := testshared.Path(t, "golden", "MANIFEST.tsv")
	f, err := os.Open(path)
	if err != nil {
		testshared.Lacking(t, testshared.GroupShared, err.Error())
	}
	defer f.Close()
	var cases []Case
	s := bufio.NewScanner(f)
	for line := 1; s.Scan(); line++ {
		if line == 1 || strings.TrimSpace(s.Text()) == "" {
			continue // header
		}
		c := strings.Split(s.Text(), "\t")
		if len(c) != 6 {
			t.Fatalf("%s:%d: %d columns, want 6", path, line, len(c))
		}
		cases = append(cases, Case{Model: c[0], Image: c[1], Input: c[2], InputType: c[3], Output: c[4], OutputType: c[5]})
	}
	if err := s.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s lists no cases", path)
	}
	return cases
}

// Golden runs every manifest row through an engine built by newEngine and
// compares its first output with the real TFLite output: float32 elements
// within tolF absolute, uint8/int8 within tolQ LSB, and the argmax equal.
// It logs the largest difference per row and fails unless every row ran
// (no silent skips; a -run pattern selecting subtests relaxes that).
// Engines are built once per model, with one thread.
func Golden(t *testing.T, newEngine engine.New, tolF float32, tolQ int) {
	t.Helper()
	cases := Manifest(t)
	engines := map[string]engine.Engine{}
	t.Cleanup(func() {
		for _, e := range engines {
			e.Close()
		}
	})
	var ran []string
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			e, ok := engines[c.Model]
			if !ok {
				m, err := tflite.ReadFile(testshared.Path(t, c.Model))
				if err != nil {
					t.Fatalf("read model: %v", err)
				}
				if e, err = newEngine(m, engine.Options{Threads: 1}); err != nil {
					t.Fatalf("build engine for %s: %v", c.Model, err)
				}
				engines[c.Model] = e
			}
			in := readShared(t, "golden", c.Input)
			want := readShared(t, "golden", c.Output)
			if len(in) != len(e.Input(0)) {
				t.Fatalf("input %s: %d bytes, engine wants %d", c.Input, len(in), len(e.Input(0)))
			}
			if len(want) != len(e.Output(0)) {
				t.Fatalf("output %s: %d bytes, engine gives %d", c.Output, len(want), len(e.Output(0)))
			}
			copy(e.Input(0), in)
			if err := e.Invoke(); err != nil {
				t.Fatalf("invoke: %v", err)
			}
			ran = append(ran, c.Name())
			d, err := Compare(e.Output(0), want, elemType(c.OutputType))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v", e.Name(), d)
			d.Check(t, tolF, tolQ)
		})
	}
	if len(ran) != len(cases) && !subtestFilter() {
		t.Errorf("ran %d of %d golden rows: %v", len(ran), len(cases), ran)
	}
}

// Agree builds two engines for the model at modelPath (relative to the
// shared directory, or absolute), feeds each input to both and requires
// their first outputs to agree within tolF (float32, absolute) or tolQ
// (uint8/int8, LSB), argmax equal; 0, 0 demands identical outputs.
func Agree(t *testing.T, a, b engine.New, modelPath string, inputs [][]byte, tolF float32, tolQ int) {
	t.Helper()
	if !filepath.IsAbs(modelPath) {
		modelPath = testshared.Path(t, modelPath)
	}
	m, err := tflite.ReadFile(modelPath)
	if err != nil {
		t.Fatalf("read model: %v", err)
	}
	ea, err := a(m, engine.Options{Threads: 1})
	if err != nil {
		t.Fatalf("build first engine: %v", err)
	}
	defer ea.Close()
	eb, err := b(m, engine.Options{Threads: 1})
	if err != nil {
		t.Fatalf("build second engine: %v", err)
	}
	defer eb.Close()
	typ := m.Output(0).Type
	for i, in := range inputs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if len(in) != len(ea.Input(0)) || len(in) != len(eb.Input(0)) {
				t.Fatalf("input %d: %d bytes, engines want %d and %d", i, len(in), len(ea.Input(0)), len(eb.Input(0)))
			}
			copy(ea.Input(0), in)
			copy(eb.Input(0), in)
			if err := ea.Invoke(); err != nil {
				t.Fatalf("%s: invoke: %v", ea.Name(), err)
			}
			if err := eb.Invoke(); err != nil {
				t.Fatalf("%s: invoke: %v", eb.Name(), err)
			}
			d, err := Compare(ea.Output(0), eb.Output(0), typ)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s vs %s: %v", ea.Name(), eb.Name(), d)
			d.Check(t, tolF, tolQ)
		})
	}
}

// Diff summarises how far an output is from the reference.
type Diff struct {
	Type               tflite.TensorType
	MaxAbs             float64 // float32: largest absolute difference
	MaxLSB             int     // uint8/int8: largest difference in steps
	Differ, Len        int     // elements that differ at all, and total
	Argmax, WantArgmax int
}

func (d Diff) String() string {
	if d.Type == tflite.Float32 {
		return fmt.Sprintf("max abs diff %.3g, %d of %d differ, argmax %d want %d", d.MaxAbs, d.Differ, d.Len, d.Argmax, d.WantArgmax)
	}
	return fmt.Sprintf("max diff %d LSB, %d of %d differ, argmax %d want %d", d.MaxLSB, d.Differ, d.Len, d.Argmax, d.WantArgmax)
}

// Check fails t when d exceeds the tolerances or the argmax differs.
func (d Diff) Check(t testing.TB, tolF float32, tolQ int) {
	t.Helper()
	if d.Type == tflite.Float32 && !(d.MaxAbs <= float64(tolF)) {
		t.Errorf("max abs diff %.3g > %g", d.MaxAbs, tolF)
	}
	if d.Type != tflite.Float32 && d.MaxLSB > tolQ {
		t.Errorf("max diff %d LSB > %d", d.MaxLSB, tolQ)
	}
	if d.Argmax != d.WantArgmax {
		t.Errorf("argmax %d, want %d", d.Argmax, d.WantArgmax)
	}
}

// Compare measures got against want, both raw little-endian tensors of
// element type typ (float32, uint8 or int8).
func Compare(got, want []byte, typ tflite.TensorType) (Diff, error) {
	if len(got) != len(want) {
		return Diff{}, fmt.Errorf("enginetest: output is %d bytes, want %d", len(got), len(want))
	}
	d := Diff{Type: typ}
	switch typ {
	case tflite.Float32:
		g, w := engine.Float32s(got), engine.Float32s(want)
		d.Len = len(w)
		for i := range w {
			diff := math.Abs(float64(g[i]) - float64(w[i]))
			if math.IsNaN(diff) {
				diff = math.Inf(1)
			}
			if diff > 0 {
				d.Differ++
			}
			d.MaxAbs = max(d.MaxAbs, diff)
			if g[i] > g[d.Argmax] {
				d.Argmax = i
			}
			if w[i] > w[d.WantArgmax] {
				d.WantArgmax = i
			}
		}
	case tflite.Uint8, tflite.Int8:
		val := func(b byte) int {
			if typ == tflite.Int8 {
				return int(int8(b))
			}
			return int(b)
		}
		d.Len = len(want)
		for i := range want {
			g, w := val(got[i]), val(want[i])
			if g != w {
				d.Differ++
			}
			d.MaxLSB = max(d.MaxLSB, g-w, w-g)
			if g > val(got[d.Argmax]) {
				d.Argmax = i
			}
			if w > val(want[d.WantArgmax]) {
				d.WantArgmax = i
			}
		}
	default:
		return Diff{}, fmt.Errorf("enginetest: cannot compare %s outputs", typ)
	}
	return d, nil
}

// subtestFilter reports whether -test.run selects subtests (a pattern with
// a slash), in which case not every row is meant to run.
func subtestFilter() bool {
	f := flag.Lookup("test.run")
	return f != nil && strings.Contains(f.Value.String(), "/")
}

// elemType parses the element type of a manifest type column such as
// "float32[1,1001]".
func elemType(s string) tflite.TensorType {
	switch {
	case strings.HasPrefix(s, "float32"):
		return tflite.Float32
	case strings.HasPrefix(s, "uint8"):
		return tflite.Uint8
	case strings.HasPrefix(s, "int8"):
		return tflite.Int8
	}
	return -1
}

func readShared(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(testshared.Path(t, elem...))
	if err != nil {
		t.Fatalf("read golden data: %v", err)
	}
	return b
}
