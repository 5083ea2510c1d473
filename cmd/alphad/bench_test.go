package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/testshared"
)

func TestQuantile(t *testing.T) {
	tests := []struct {
		v    []float64
		q    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{4, 1, 3, 2}, 0.5, 2.5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9},
		{[]float64{5}, 0.9, 5},
		{nil, 0.5, 0},
	}
	for _, tc := range tests {
		if got := quantile(tc.v, tc.q); got != tc.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", tc.v, tc.q, got, tc.want)
		}
	}
}

func TestSelectEngines(t *testing.T) {
	if e, err := selectEngines("auto"); err != nil || len(e) != 1 || e[0].new == nil {
		t.Fatalf("auto: %v, %v", e, err)
	}
	if e, err := selectEngines("native"); err != nil || len(e) != 1 || e[0].name != "native" {
		t.Fatalf("native: %v, %v", e, err)
	}
	if _, err := selectEngines("native,nosuch"); err == nil {
		t.Fatal("unknown engine accepted")
	}
}

func TestBenchCommand(t *testing.T) {
	model := testshared.Path(t, "models", "mobilenet_v2_1.0_224_dequant_f32_features.tflite")
	var out, errb bytes.Buffer
	root := newRootCmd(newDeps(&out, &errb))
	root.SetArgs([]string{"bench", "--model", model, "--runs", "1", "--engine", "native"})
	if err := root.Execute(); err != nil {
		t.Fatalf("bench: %v (stderr %s)", err, errb.String())
	}
	line := out.String()
	if !strings.HasPrefix(line, "native   median ") || !strings.Contains(line, " 0 allocs") {
		t.Errorf("output %q, want a native line with 0 allocs", line)
	}
}

// TestBenchThreads times two thread counts: one line each and a speedup.
func TestBenchThreads(t *testing.T) {
	model := testshared.Path(t, "models", "mobilenet_v2_1.0_224_dequant_f32_features.tflite")
	var out, errb bytes.Buffer
	root := newRootCmd(newDeps(&out, &errb))
	root.SetArgs([]string{"bench", "--model", model, "--runs", "1", "--engine", "native", "--threads", "1,2"})
	if err := root.Execute(); err != nil {
		t.Fatalf("bench: %v (stderr %s)", err, errb.String())
	}
	wants := []string{"native   threads 1  median ", "\nnative   threads 2  median ", "\nspeedup  native threads 2/1 "}
	if _, ok := crossCoreRoundTrip(); ok {
		wants = append(wants, "\ncores    cache line round trip between two CPUs ")
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q, want %q", out.String(), want)
		}
	}
}

func TestParseThreads(t *testing.T) {
	if got, err := parseThreads("1, 2"); err != nil || len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("parseThreads(1, 2) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "-2"} {
		if _, err := parseThreads(bad); err == nil {
			t.Errorf("parseThreads(%q) accepted", bad)
		}
	}
}

// TestBenchOracle times the real TFLite runtime beside the native engine.
func TestBenchOracle(t *testing.T) {
	oracle := testshared.Oracle(t)
	model := testshared.Path(t, "models", "mobilenet_v2_1.0_224_dequant_f32_features.tflite")
	var out, errb bytes.Buffer
	root := newRootCmd(newDeps(&out, &errb))
	root.SetArgs([]string{"bench", "--model", model, "--runs", "2", "--engine", "native", "--oracle", oracle})
	if err := root.Execute(); err != nil {
		t.Fatalf("bench: %v (stderr %s)", err, errb.String())
	}
	if !strings.Contains(out.String(), "\ntflite-oracle median ") || !strings.Contains(out.String(), "native/tflite ") {
		t.Errorf("output %q, want a tflite-oracle line with the ratio", out.String())
	}
}

func TestFmtAllocs(t *testing.T) {
	for a, want := range map[float64]string{0: "0", 3: "3", 0.033: "0.033", 1.5: "1.5", 12.25: "12"} {
		if got := fmtAllocs(a); got != want {
			t.Errorf("fmtAllocs(%v) = %q, want %q", a, got, want)
		}
	}
}

// TestCrossCoreRoundTrip measures the round trip on this machine: with two
// CPUs to run on it must succeed and lie between 10 ns and 1 ms (a cache
// line between two cores takes 0.05–1 µs); with one it reports nothing.
func TestCrossCoreRoundTrip(t *testing.T) {
	rt, ok := crossCoreRoundTrip()
	two := runtime.NumCPU() >= 2 && runtime.GOMAXPROCS(0) >= 2
	if ok != two && runtime.GOOS == "linux" {
		t.Fatalf("round trip measured %v, want %v (%d CPUs, GOMAXPROCS %d)", ok, two, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	}
	if ok && (rt < 10*time.Nanosecond || rt > time.Millisecond) {
		t.Errorf("round trip %v, want 10 ns .. 1 ms", rt)
	}
	t.Logf("round trip %v", rt)
}
