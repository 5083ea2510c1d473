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
//	native   median 98.1 ms  p90 103.2 ms  0 allocs  cpu 97.5 ms
//
// With several thread counts (--threads 1,2) each line names its count
// and a speedup line per engine compares each count with the first:
//
//	native   threads 2  median 5.1 ms  p90 5.4 ms  0 allocs  cpu 10.2 ms
//	speedup  native threads 2/1 1.86x  (cpu 1.07x)
//
// cpu is the process CPU time per inference: on a busy machine the wall
// times grow with the load, the CPU time much less.
func newBenchCmd(d *deps) *cobra.Command {
	var (
		model, engines, oracle, threadList string
		runs                               int
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
			// results[e][t] is engine e with threads[t].
			results := make([][]benchResult, len(selected))
			for i, e := range selected {
				for _, th := range threads {
					r, err := benchEngine(e, m, engine.Options{Threads: th}, runs)
					if err != nil {
						return fmt.Errorf("bench: %s: %w", e.name, err)
					}
					label := e.name
					if len(threads) > 1 {
						label = fmt.Sprintf("%-8s threads %d ", e.name, th)
					}
					fmt.Fprintf(d.stdout, "%-8s median %.1f ms  p90 %.1f ms  %s allocs  cpu %.1f ms\n", label, r.median, r.p90, fmtAllocs(r.allocs), r.cpu)
					results[i] = append(results[i], r)
				}
			}
			for i, e := range selected {
				for t := 1; t < len(threads); t++ {
					r0, r := results[i][0], results[i][t]
					fmt.Fprintf(d.stdout, "speedup  %s threads %d/%d %.2fx  (cpu %.2fx)\n", e.name, threads[t], threads[0], r0.median/r.median, r.cpu/max(r0.cpu, 1e-9))
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

type benchResult struct {
	median, p90 float64 // ms
	allocs      float64 // heap allocations per inference
	cpu         float64 // process CPU ms per inference (0 if unknown)
}

// benchEngine builds e for m, fills the inputs with seeded noise, runs one
// warm-up inference and times runs more.
func benchEngine(e engineEntry, m *tflite.Model, opts engine.Options, runs int) (benchResult, error) {
	eng, err := e.new(m, opts)
	if err != nil {
		return benchResult{}, err
	}
	defer eng.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range m.Inputs {
		fillInput(eng.Input(i), m.Input(i).Type, rng)
	}
	if err := eng.Invoke(); err != nil {
		return benchResult{}, fmt.Errorf("invoke: %w", err)
	}
	times := make([]float64, runs)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cputime.Process()
	for i := range times {
		t0 := time.Now()
		if err := eng.Invoke(); err != nil {
			return benchResult{}, fmt.Errorf("invoke: %w", err)
		}
		times[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	cpu := cputime.Process() - cpu0
	runtime.ReadMemStats(&ms1)
	return benchResult{
		cpu:    float64(cpu.Nanoseconds()) / 1e6 / float64(runs),
		median: quantile(times, 0.5),
		p90:    quantile(times, 0.9),
		allocs: float64(ms1.Mallocs-ms0.Mallocs) / float64(runs),
	}, nil
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
