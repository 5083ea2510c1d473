package native

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestQuantLayerProbe cuts a model after each of the first operators and
// compares that prefix with the real TFLite runtime, to find the first
// layer that disagrees. Diagnostic: set ALPHAD_PROBE=model-path[:ops].
func TestQuantLayerProbe(t *testing.T) {
	spec := os.Getenv("ALPHAD_PROBE")
	if spec == "" {
		t.Skip("set ALPHAD_PROBE=shared-relative-model[:first,last]")
	}
	path, rng, _ := strings.Cut(spec, ":")
	first, last := 0, 5
	if rng != "" {
		a, b, _ := strings.Cut(rng, ",")
		first, _ = strconv.Atoi(a)
		last, _ = strconv.Atoi(b)
	}
	m, err := tflite.ReadFile(testshared.Path(t, path))
	if err != nil {
		t.Fatal(err)
	}
	input, err := os.ReadFile(testshared.Path(t, "golden", "inputs", "grace_hopper_224_u8.raw"))
	if err != nil {
		t.Fatal(err)
	}
	for k := first; k <= last && k < len(m.Operators); k++ {
		sub := *m
		sub.Operators = m.Operators[:k+1]
		sub.Outputs = []int{m.Operators[k].Outputs[0]}
		data, err := tflite.Marshal(&sub)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "cut.tflite")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cut, err := tflite.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		want := enginetest.Oracle(t, file, input)
		got := runModel(t, cut, input, 1)
		signed := cut.Output(0).Type == tflite.Int8
		d, at, _ := compareQuant(got, want, signed)
		nd := 0
		hist := map[int]int{}
		for i := range got {
			if got[i] != want[i] {
				nd++
				if signed {
					hist[int(int8(got[i]))-int(int8(want[i]))]++
				} else {
					hist[int(got[i])-int(want[i])]++
				}
			}
		}
		t.Logf("op %d %s: max diff %d at %d, %d/%d differ %v", k, tflite.OpName(m.Operators[k].Op), d, at, nd, len(got), hist)
	}
}
