package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/internal/cputime"
	"github.com/alphad/alphad/internal/tfliteoracle"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// newBenchCmd times the engines (and optionally the real TFLite runtime)
// on one model, one line per engine and thread count:
//
//	native   median 98.1 ms  p90 103.2 ms  min 97.0 ms  0 allocs  cpu 97.5 ms
//
// With several thread counts (--threads 1,2) each line names its count
// and a speedup line per engine compares each count with the first:
//
//	native   threads 2  median 5.1 ms  p90 5.4 ms  min 4.9 ms  0 allocs  cpu 10.2 ms
//	speedup  native threads 2/1 1.86x  (min 1.90x, cpu 1.07x)
//	cores    cache line round trip between two CPUs 0.13 µs (2-thread speedups fall as it grows)
//
// The cores line (Linux, two CPUs or more) gives the context of the
// speedups: see crossCoreRoundTrip.
//
// An engine's thread counts are timed round-robin (one inference each per
// round) so that they see the same machine load; engines one after the
// other. cpu is the process CPU time per inference, all threads, over
// --runs inferences of each in a row after the timed rounds: on a busy
// machine the wall times grow with the load, the CPU time much less; min
// is the least loaded run.
func newBenchCmd(d *deps) *cobra.Command {
	var (
		model, engines, oracle, threadList string
		runs                               int
		cold                               bool
	)
	cmd := &cobra.Command{
		Use:   "bench --model M [--runs N] [--threads N[,N...]] [--engine native,xnnpack] [--oracle run_tflite.js]",
		Short: "Time inference of a model on the compiled-in engines (and the real TFLite runtime)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model == "" {
				return &exitError{code: 2, err: errors.New("bench: --model is required")}
			}
			if runs < 1 {
				return &exitError{code: 2, err: fmt.Errorf("bench: --runs %d: want at least 1", runs)}
			}
			threads, err := parseThreads(threadList)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("bench: %w", err)}
			}
			selected, err := selectEngines(engines)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("bench: %w", err)}
			}
			m, err := tflite.ReadFile(model)
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			// results[e][t] is engine e with threads[t]. One engine's thread
			// counts are timed round-robin; engines one after another, so that
			// one engine's idle worker threads (XNNPACK's spin before they
			// sleep) do not take the CPU from the next engine's runs.
			var all []benchResult
			for _, e := range selected {
				var combos []benchCombo
				for _, th := range threads {
					combos = append(combos, benchCombo{e: e, opts: engine.Options{Threads: th}})
				}
				r, err := benchInterleaved(m, combos, runs, cold)
				if err != nil {
					return fmt.Errorf("bench: %w", err)
				}
				all = append(all, r...)
			}
			results := make([][]benchResult, len(selected))
			for i, e := range selected {
				for t, th := range threads {
					r := all[i*len(threads)+t]
					label := e.name
					if len(threads) > 1 {
						label = fmt.Sprintf("%-8s threads %d ", e.name, th)
					}
					fmt.Fprintf(d.stdout, "%-8s median %.1f ms  p90 %.1f ms  min %.1f ms  %s allocs  cpu %.1f ms\n", label, r.median, r.p90, r.min, fmtAllocs(r.allocs), r.cpu)
					results[i] = append(results[i], r)
				}
			}
			for i, e := range selected {
				for t := 1; t < len(threads); t++ {
					r0, r := results[i][0], results[i][t]
					fmt.Fprintf(d.stdout, "speedup  %s threads %d/%d %.2fx  (min %.2fx, cpu %.2fx)\n", e.name, threads[t], threads[0], r0.median/r.median, r0.min/r.min, r.cpu/max(r0.cpu, 1e-9))
				}
			}
			if slices.Max(threads) > 1 {
				if rt, ok := crossCoreRoundTrip(); ok {
					fmt.Fprintf(d.stdout, "cores    cache line round trip between two CPUs %.2f µs (2-thread speedups fall as it grows)\n", rt.Seconds()*1e6)
				}
			}
			for i := 1; i < len(selected); i++ {
				for t, th := range threads {
					label := ""
					if len(threads) > 1 {
						label = fmt.Sprintf(" threads %d", th)
					}
					fmt.Fprintf(d.stdout, "ratio    %s/%s%s %.2fx\n", selected[0].name, selected[i].name, label, results[0][t].median/results[i][t].median)
				}
			}
			if oracle != "" {
				med, err := tfliteoracle.Median(cmd.Context(), oracle, model, runs, threads[0])
				if err != nil {
					return fmt.Errorf("bench: tflite oracle: %w", err)
				}
				fmt.Fprintf(d.stdout, "tflite-oracle median %.1f ms  threads %d  (%s/tflite %.2fx)\n", med, threads[0], selected[0].name, results[0][0].median/med)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "path of the .tflite model")
	f.IntVar(&runs, "runs", 20, "timed inferences per engine (after one warm-up)")
	f.BoolVar(&cold, "cold", false, "do not tell the engine an inference is coming (its worker threads are parked, as after an idle gap)")
	f.StringVar(&threadList, "threads", "1", "threads per engine, or a comma list (1,2) to time each")
	f.StringVar(&engines, "engine", "auto", "auto, one engine or a comma list ("+strings.Join(engineNames(), ", ")+")")
	f.StringVar(&oracle, "oracle", "", "path of run_tflite.js: also time the real TFLite runtime (node, first thread count)")
	return cmd
}

// parseThreads reads --threads: one count or a comma list, each ≥ 1.
func parseThreads(spec string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--threads %q: want counts of at least 1, comma separated", spec)
		}
		out = append(out, n)
	}
	return out, nil
}

// selectEngines resolves --engine: "auto" is the first engine of the table
// (the preferred one compiled in), else each named engine in order.
func selectEngines(spec string) ([]engineEntry, error) {
	table := engineTable()
	if spec == "" || spec == "auto" {
		for _, e := range table {
			if e.new != nil {
				return []engineEntry{e}, nil
			}
		}
		return nil, errors.New("no engine compiled in")
	}
	var out []engineEntry
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(table, func(e engineEntry) bool { return e.name == name })
		if i < 0 || table[i].new == nil {
			return nil, fmt.Errorf("engine %q not compiled in (have %s)", name, strings.Join(engineNames(), ", "))
		}
		out = append(out, table[i])
	}
	return out, nil
}

// prewaker is an engine that can be told an inference is coming.
type prewaker interface{ Prewake() }

type benchResult struct {
	median, p90, min float64 // ms
	allocs           float64 // heap allocations per inference
	cpu              float64 // process CPU ms per inference (0 if unknown)
}

// benchCombo is one engine with one thread count.
type benchCombo struct {
	e    engineEntry
	opts engine.Options
}

// benchInterleaved builds every combo for m, fills the inputs with seeded
// noise, runs one warm-up inference each, then times runs rounds in which
// every combo runs once in turn: on a shared machine the load changes
// over seconds, and interleaving lets every combo see the same load, so
// their ratios hold even when the absolute times do not.
//
// Each timed inference is prepared as the daemon prepares a frame's: the
// engine is told an inference is coming (Prewake: the native engine's
// parked workers wake; unless cold), then the input is written afresh,
// then Invoke is timed.
func benchInterleaved(m *tflite.Model, combos []benchCombo, runs int, cold bool) ([]benchResult, error) {
	engs := make([]engine.Engine, len(combos))
	rngs := make([]*rand.Rand, len(combos))
	defer func() {
		for _, eng := range engs {
			if eng != nil {
				eng.Close()
			}
		}
	}()
	fill := func(i int) {
		for j := range m.Inputs {
			fillInput(engs[i].Input(j), m.Input(j).Type, rngs[i])
		}
	}
	for i, c := range combos {
		eng, err := c.e.new(m, c.opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.e.name, err)
		}
		engs[i] = eng
		rngs[i] = rand.New(rand.NewPCG(1, 2))
		fill(i)
		if err := eng.Invoke(); err != nil {
			return nil, fmt.Errorf("%s: invoke: %w", c.e.name, err)
		}
	}
	times := make([][]float64, len(combos))
	for range runs {
		for i, eng := range engs {
			if pw, ok := eng.(prewaker); ok && !cold {
				pw.Prewake()
			}
			fill(i)
			t0 := time.Now()
			if err := eng.Invoke(); err != nil {
				return nil, fmt.Errorf("%s: invoke: %w", combos[i].e.name, err)
			}
			times[i] = append(times[i], float64(time.Since(t0).Nanoseconds())/1e6)
		}
	}
	// CPU time, counted apart: runs inferences in a row per combo, on the
	// input of its last timed run. The process clock adds another
	// thread's time only at that thread's scheduler ticks and switches, so
	// per-inference differences taken between other combos' runs gave the
	// worker threads' time partly to the wrong combo or to none: 2-thread
	// figures came out below 1.7× wall time with both threads busy. Over a
	// block the lag is at most a tick per thread.
	cpu := make([]time.Duration, len(combos))
	for i, eng := range engs {
		pw, prewake := eng.(prewaker)
		cpu0 := cputime.Process()
		for range runs {
			if prewake && !cold {
				pw.Prewake()
			}
			if err := eng.Invoke(); err != nil {
				return nil, fmt.Errorf("%s: invoke: %w", combos[i].e.name, err)
			}
		}
		cpu[i] = cputime.Process() - cpu0
	}
	// Allocations, counted apart: a few more inferences per combo in a
	// row (the heap statistics are process-wide).
	allocRuns := min(runs, 5)
	mallocs := make([]uint64, len(combos))
	var ms0, ms1 runtime.MemStats
	for i, eng := range engs {
		runtime.ReadMemStats(&ms0)
		for range allocRuns {
			if err := eng.Invoke(); err != nil {
				return nil, fmt.Errorf("%s: invoke: %w", combos[i].e.name, err)
			}
		}
		runtime.ReadMemStats(&ms1)
		mallocs[i] = ms1.Mallocs - ms0.Mallocs
	}
	out := make([]benchResult, len(combos))
	for i := range out {
		out[i] = benchResult{
			cpu:    float64(cpu[i].Nanoseconds()) / 1e6 / float64(runs),
			median: quantile(times[i], 0.5),
			p90:    quantile(times[i], 0.9),
			min:    slices.Min(times[i]),
			allocs: float64(mallocs[i]) / float64(allocRuns),
		}
	}
	return out, nil
}

// fillInput writes seeded noise of the input's type: floats in [-1,1),
// anything else as random bytes.
func fillInput(b []byte, typ tflite.TensorType, rng *rand.Rand) {
	if typ == tflite.Float32 {
		f := engine.Float32s(b)
		for i := range f {
			f[i] = rng.Float32()*2 - 1
		}
		return
	}
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

// quantile is the q-quantile (nearest rank) of v; v is not modified.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if q == 0.5 && len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func fmtAllocs(a float64) string {
	if a == float64(int64(a)) {
		return strconv.FormatInt(int64(a), 10)
	}
	return strconv.FormatFloat(a, 'g', 2, 64)
}
