package tflite_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

func TestMarshalRoundTrip(t *testing.T) {
	t.Run("tiny", func(t *testing.T) {
		want := tflitetest.Tiny()
		data, err := tflite.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tflite.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip differs:\n got %s\nwant %s", dump(got), dump(want))
		}
	})
	for _, s := range sharedModels {
		t.Run(s.name(), func(t *testing.T) {
			orig := readShared(t, s.path...)
			want, err := tflite.Parse(orig)
			if err != nil {
				t.Fatal(err)
			}
			data, err := tflite.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tflite.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			checkAligned(t, data, got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip differs:\n got %s\nwant %s", dump(got), dump(want))
			}
			// A second round is byte-identical: the writer is deterministic.
			again, err := tflite.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Error("second Marshal differs from the first")
			}
		})
	}
}

// checkAligned checks that the constant data of m, parsed from data,
// starts at 16-byte offsets in the file.
func checkAligned(t *testing.T, data []byte, m *tflite.Model) {
	t.Helper()
	for _, tn := range m.Tensors {
		if !tn.IsConst() {
			continue
		}
		off := int(uintptr(unsafe.Pointer(unsafe.SliceData(tn.Data))) - uintptr(unsafe.Pointer(unsafe.SliceData(data))))
		if off%16 != 0 {
			t.Errorf("tensor %d: data at offset %d, not 16-byte aligned", tn.Index, off)
			return
		}
	}
}

// dump summarizes a model for failure messages.
func dump(m *tflite.Model) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %d %q in %v out %v", m.Version, m.Description, m.Inputs, m.Outputs)
	for _, tn := range m.Tensors {
		fmt.Fprintf(&b, "\n  tensor %d %q %s%v data=%d bytes quant=%+v", tn.Index, tn.Name, tn.Type, tn.Shape, len(tn.Data), tn.Quant)
	}
	for _, op := range m.Operators {
		fmt.Fprintf(&b, "\n  op %d %s v%d %v -> %v %+v %q", op.Index, op.Op, op.Version, op.Inputs, op.Outputs, op.Options, op.CustomCode)
	}
	return b.String()
}

// goldenCase is one line of ../shared/golden/MANIFEST.tsv.
type goldenCase struct {
	model, image, input, output string
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	data, err := os.ReadFile(testshared.Path(t, "golden", "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 {
			continue
		}
		if len(f) < 6 {
			t.Fatalf("MANIFEST.tsv line %d: %d fields, want 6", i+1, len(f))
		}
		cases = append(cases, goldenCase{model: f[0], image: f[1], input: f[2], output: f[4]})
	}
	return cases
}

// runOracle runs model in the real TFLite runtime on input and returns the
// output bytes.
func runOracle(t *testing.T, oracle string, model []byte, input string) []byte {
	t.Helper()
	dir := t.TempDir()
	mp := filepath.Join(dir, "model.tflite")
	op := filepath.Join(dir, "out.raw")
	if err := os.WriteFile(mp, model, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", oracle, mp, input, "--out="+op, "--threads=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oracle: %v\n%s", err, out)
	}
	got, err := os.ReadFile(op)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestMarshalRunsInTFLite checks that re-marshaled shared models load in
// the real TFLite runtime and give the golden outputs byte for byte.
// One image per model keeps the run short.
func TestMarshalRunsInTFLite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node")
	}
	oracle := testshared.Oracle(t)
	seen := map[string]bool{}
	ran := 0
	for _, c := range goldenCases(t) {
		if seen[c.model] {
			continue
		}
		seen[c.model] = true
		t.Run(filepath.Base(c.model), func(t *testing.T) {
			m, err := tflite.ReadFile(testshared.Path(t, c.model))
			if err != nil {
				t.Fatal(err)
			}
			data, err := tflite.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got := runOracle(t, oracle, data, testshared.Path(t, "golden", c.input))
			want := readShared(t, "golden", c.output)
			if !bytes.Equal(got, want) {
				t.Errorf("%s on %s: output differs from golden %s", c.model, c.image, c.output)
			}
			ran++
		})
	}
	if ran != 5 {
		t.Errorf("ran %d models, want the 5 of MANIFEST.tsv", ran)
	}
}

// TestMarshalExternalBuffers checks the offset/size buffer form (constant
// data after the flatbuffer, as in models over 2 GB) both ways.
func TestMarshalExternalBuffers(t *testing.T) {
	models := map[string]func(t *testing.T) *tflite.Model{
		"tiny": func(*testing.T) *tflite.Model { return tflitetest.Tiny() },
		"teachable machine": func(t *testing.T) *tflite.Model {
			m, err := tflite.ReadFile(testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite"))
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
	}
	for name, load := range models {
		t.Run(name, func(t *testing.T) {
			want := load(t)
			data, err := tflite.MarshalExternal(want)
			if err != nil {
				t.Fatal(err)
			}
			inline, err := tflite.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(data, inline) {
				t.Fatal("external form equals the inline form")
			}
			got, err := tflite.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			checkAligned(t, data, got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip differs:\n got %s\nwant %s", dump(got), dump(want))
			}
			// Cutting the file short must be caught by the range checks.
			for _, n := range []int{len(data) - 1, len(data) - len(data)/4} {
				if _, err := tflite.Parse(data[:n]); err == nil {
					t.Errorf("Parse of %d of %d bytes succeeded", n, len(data))
				}
			}
		})
	}
}
