package native

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// opTimes runs e rounds times, timing each op's run function on its own,
// and returns the median per op and the median of the whole pass.
func opTimes(e *Engine, rounds int) (perOp []time.Duration, total time.Duration) {
	samples := make([][]time.Duration, len(e.runs))
	totals := make([]time.Duration, 0, rounds)
	for range 5 { // warm up: caches, page faults, the workers' spin
		for _, run := range e.runs {
			run()
		}
	}
	for range rounds {
		t0 := time.Now()
		prev := t0
		for i, run := range e.runs {
			run()
			now := time.Now()
			samples[i] = append(samples[i], now.Sub(prev))
			prev = now
		}
		totals = append(totals, prev.Sub(t0))
	}
	perOp = make([]time.Duration, len(e.runs))
	for i, s := range samples {
		perOp[i] = medianDur(s)
	}
	return perOp, medianDur(totals)
}

func medianDur(v []time.Duration) time.Duration {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// opSplit describes how op i's jobs split: "-" when it has none (the op
// runs serially on the calling thread), else each job's chunks/items;
// "in op N" when op N's run covers it (a fused block, whose row holds the
// whole block's time and work).
func opSplit(e *Engine, i int) (desc string, split bool) {
	if h := e.fusedInto[i]; h != i {
		return fmt.Sprintf("in op %d", h), true
	}
	if e.chained[i] {
		return fmt.Sprintf("after op %d", i-1), true
	}
	if len(e.opJobs[i]) == 0 {
		return "-", false
	}
	var parts []string
	for _, j := range e.opJobs[i] {
		parts = append(parts, fmt.Sprintf("%d/%d", j.chunks, j.n))
		split = split || j.chunks > 1
	}
	return strings.Join(parts, "+"), split
}

// opWork is the largest work any of op i's jobs declared, or the output's
// element count for an op without jobs (0 for an op fused into another).
func opWork(e *Engine, m *tflite.Model, i int) int {
	if e.fusedInto[i] != i {
		return 0
	}
	w := 0
	for _, j := range e.opJobs[i] {
		w = max(w, j.work)
	}
	if w == 0 && len(m.Operators[i].Outputs) > 0 {
		w = m.Tensors[m.Operators[i].Outputs[0]].NumElements()
	}
	return w
}

// TestOpProfile times every operator of the shared models with one and two
// threads and logs a table (op, output shape, work, how its jobs split,
// median µs at 1 and 2 threads, and the op's share of the 2-thread loss:
// t2 − t1/2). A fused block (fused.go) shows as its first op's row; the
// others read "in op N", with no work and no time. It checks that no op
// with at least poolMinWork of work runs serially with two threads
// (reshape-like views and quantized ops excepted); the timings are
// printed, never asserted.
//
//	go test -run TestOpProfile -v ./pipeline/engine/native/
func TestOpProfile(t *testing.T) {
	for _, model := range []string{
		"mobilenet_v2_1.0_224_dequant_f32.tflite",
		"mobilenet_v2_1.0_224_dequant_f32_features.tflite",
		"mobilenet_v2_1.0_224_quant.tflite",
		"tf2_mobilenet_v2_1.0_224_ptq.tflite",
	} {
		t.Run(model, func(t *testing.T) {
			m, err := tflite.ReadFile(testshared.Path(t, "models", model))
			if err != nil {
				t.Fatal(err)
			}
			rounds := 30
			if testing.Short() {
				rounds = 3
			}
			var times [2][]time.Duration
			var totals [2]time.Duration
			var e2 *Engine
			for ti, threads := range []int{1, 2} {
				e, err := build(m, engine.Options{Threads: threads}, buildOptions{kern: gemmKernels()[0]})
				if err != nil {
					t.Fatal(err)
				}
				times[ti], totals[ti] = opTimes(e, rounds)
				if threads == 2 {
					e2 = e
					defer e.Close()
				} else {
					e.Close()
				}
			}
			type row struct {
				i            int
				loss         time.Duration
				line         string
				serial, used bool
			}
			var rows []row
			var b strings.Builder
			fmt.Fprintf(&b, "%3s %-18s %-16s %10s %-14s %8s %8s %6s %8s\n", "op", "type", "output", "work", "split", "1t µs", "2t µs", "ratio", "loss µs")
			var sum [2]time.Duration
			var lossSerial, lossSplit time.Duration
			for i, op := range m.Operators {
				t1, t2 := times[0][i], times[1][i]
				sum[0] += t1
				sum[1] += t2
				split, isSplit := opSplit(e2, i)
				loss := t2 - t1/2
				work := opWork(e2, m, i)
				name := tflite.OpName(op.Op)
				shape := ""
				if len(op.Outputs) > 0 {
					shape = fmt.Sprint(m.Tensors[op.Outputs[0]].Shape)
				}
				if j := i + 1; j < len(m.Operators) && e2.fusedInto[j] == i {
					// The head of a fused block: its ops, its output.
					for j+1 < len(m.Operators) && e2.fusedInto[j+1] == i {
						j++
					}
					name = fmt.Sprintf("fused %s+%d", name, j-i)
					shape = fmt.Sprint(m.Tensors[m.Operators[j].Outputs[0]].Shape)
				}
				if isSplit {
					lossSplit += loss
				} else {
					lossSerial += loss
				}
				line := fmt.Sprintf("%3d %-18s %-16s %10d %-14s %8.1f %8.1f %6.2f %8.1f", i, name, shape, work, split,
					us(t1), us(t2), float64(t1)/float64(max(t2, 1)), us(loss))
				fmt.Fprintln(&b, line)
				view := op.Op == tflite.OpReshape || op.Op == tflite.OpSqueeze
				// Quantized ops (quant_ops.go, input uint8/int8) are listed
				// but not held to the split rule here.
				float := len(op.Inputs) > 0 && op.Inputs[0] >= 0 && m.Tensors[op.Inputs[0]].Type == tflite.Float32
				rows = append(rows, row{i: i, loss: loss, line: line, serial: float && !isSplit && !view && work >= poolMinWork})
			}
			fmt.Fprintf(&b, "sum of ops: 1t %.0f µs, 2t %.0f µs (%.2f×); whole passes: 1t %.0f µs, 2t %.0f µs (%.2f×)\n",
				us(sum[0]), us(sum[1]), float64(sum[0])/float64(sum[1]), us(totals[0]), us(totals[1]), float64(totals[0])/float64(totals[1]))
			fmt.Fprintf(&b, "2-thread loss (t2 − t1/2): %.0f µs in split ops, %.0f µs in serial ops\n", us(lossSplit), us(lossSerial))
			slices.SortFunc(rows, func(a, b row) int { return int(b.loss - a.loss) })
			fmt.Fprintln(&b, "top 10 by loss:")
			for _, r := range rows[:min(10, len(rows))] {
				fmt.Fprintln(&b, r.line)
			}
			t.Log("\n" + b.String())
			for _, r := range rows {
				if r.serial {
					t.Errorf("op %d runs on one thread with two threads available: %s", r.i, r.line)
				}
			}
		})
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
