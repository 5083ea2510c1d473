//go:build xnnpack && cgo

package xnnpack

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// goldenCase is one row of ../shared/golden/MANIFEST.tsv.
type goldenCase struct {
	model, image, input, output, outputType string
}

func manifest(t *testing.T) []goldenCase {
	t.Helper()
	f, err := os.Open(testshared.Path(t, "golden", "MANIFEST.tsv"))
	if err != nil {
		testshared.Missing(t, err.Error())
	}
	defer f.Close()
	var cases []goldenCase
	s := bufio.NewScanner(f)
	for first := true; s.Scan(); first = false {
		c := strings.Split(s.Text(), "\t")
		if first || len(c) < 6 {
			continue
		}
		cases = append(cases, goldenCase{model: c[0], image: c[1], input: c[2], output: c[4], outputType: c[5]})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// tolerance is what the package doc promises: float outputs within 1e-4,
// uint8 outputs within maxLSB, argmax equal.
const (
	floatTol = 1e-4
	maxLSB   = 2
)

func TestGolden(t *testing.T) {
	cases := manifest(t)
	if len(cases) == 0 {
		t.Fatal("MANIFEST.tsv lists no cases")
	}
	engines := map[string]*Engine{}
	t.Cleanup(func() {
		for _, e := range engines {
			e.Close()
		}
	})
	ran := 0
	for _, c := range cases {
		t.Run(filepath.Base(c.model)+"/"+filepath.Base(c.image), func(t *testing.T) {
			e, ok := engines[c.model]
			if !ok {
				m, err := tflite.ReadFile(testshared.Path(t, c.model))
				if err != nil {
					t.Fatal(err)
				}
				if e, err = New(m, engine.Options{}); err != nil {
					t.Fatal(err)
				}
				engines[c.model] = e
			}
			in, err := os.ReadFile(testshared.Path(t, "golden", c.input))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(testshared.Path(t, "golden", c.output))
			if err != nil {
				t.Fatal(err)
			}
			if len(in) != len(e.Input(0)) || len(want) != len(e.Output(0)) {
				t.Fatalf("sizes: input %d want %d, output %d want %d", len(in), len(e.Input(0)), len(want), len(e.Output(0)))
			}
			copy(e.Input(0), in)
			if err := e.Invoke(); err != nil {
				t.Fatal(err)
			}
			got := e.Output(0)
			ran++
			if strings.HasPrefix(c.outputType, "float32") {
				g, w := engine.Float32s(got), engine.Float32s(want)
				var worst float64
				for i := range w {
					worst = max(worst, abs(float64(g[i])-float64(w[i])))
				}
				t.Logf("max abs diff %.3g, argmax %d want %d", worst, argmax(g), argmax(w))
				if worst > floatTol {
					t.Errorf("max abs diff %.3g > %g", worst, floatTol)
				}
				if argmax(g) != argmax(w) {
					t.Errorf("argmax %d, want %d", argmax(g), argmax(w))
				}
				return
			}
			worst, off := 0, 0
			for i := range want {
				d := int(got[i]) - int(want[i])
				worst = max(worst, d, -d)
				if d != 0 {
					off++
				}
			}
			t.Logf("max %d LSB, %d of %d differ, argmax %d want %d", worst, off, len(want), argmaxU8(got), argmaxU8(want))
			if worst > maxLSB {
				t.Errorf("max diff %d LSB > %d", worst, maxLSB)
			}
			if argmaxU8(got) != argmaxU8(want) {
				t.Errorf("argmax %d, want %d", argmaxU8(got), argmaxU8(want))
			}
		})
	}
	if ran != len(cases) {
		t.Errorf("ran %d of %d golden cases", ran, len(cases))
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func argmaxU8(v []byte) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
