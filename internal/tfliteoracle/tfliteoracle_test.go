package tfliteoracle

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

func TestParseInferMS(t *testing.T) {
	tests := []struct {
		name, out string
		want      []float64
		wantErr   bool
	}{
		{"list", "wasm=cc_simd init_ms=50.1 load_ms=3.2 infer_ms=[30.5, 25.0, 26.5]\noutput 0 ...", []float64{30.5, 25, 26.5}, false},
		{"one", "infer_ms=[7]", []float64{7}, false},
		{"missing", "error: boom", nil, true},
		{"empty", "infer_ms=[]", nil, true},
		{"garbage", "infer_ms=[1.0, x]", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseInferMS([]byte(tc.out))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMedian runs a stand-in for run_tflite.js that prints its arguments
// and a fixed infer_ms list.
func TestMedian(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		testshared.Lacking(t, testshared.GroupOracle, "node not found: "+err.Error())
	}
	tests := []struct {
		name, list string
		want       float64
		wantErr    string
	}{
		{"odd after warm-up", "[100, 3, 1, 2]", 2, ""},
		{"even after warm-up", "[100, 4, 1, 3, 2]", 2.5, ""},
		{"single run kept", "[7]", 7, ""},
		{"no list", "", 0, "no infer_ms list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := filepath.Join(t.TempDir(), "fake.js")
			js := `console.log(process.argv.slice(2).join(" "));`
			if tc.list != "" {
				js += "console.log(\"infer_ms=" + tc.list + "\");"
			}
			if err := os.WriteFile(script, []byte(js), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := Median(context.Background(), script, "m.tflite", 3, 0)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "m.tflite --repeat=4 --threads=1") {
					t.Errorf("err = %v, want the arguments echoed", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Median = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
