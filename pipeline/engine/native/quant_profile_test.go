package native

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/tflite"
)

// quantOpProfile times every operator of one Invoke of engines at 1 and 2
// threads, in alternating blocks of invokes so both see the same machine
// load (the first invoke of a block, whose workers may have parked, is
// left out), and returns the per-op median and mean wall times in µs:
// med[threads-1][op], and the median whole-invoke time in µs per thread
// count.
func quantOpProfile(b *testing.B, m *tflite.Model, input []byte, runs int) (med, mean [2][]float64, whole [2]float64) {
	b.Helper()
	var es [2]*Engine
	for i := range es {
		e, err := build(m, engine.Options{Threads: i + 1}, buildOptions{kern: gemmKernels()[0]})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		copy(e.Input(0), input)
		if err := e.Invoke(); err != nil { // warm up
			b.Fatal(err)
		}
		es[i] = e
	}
	var samples [2][][]float64
	var totals [2][]float64
	for i := range samples {
		samples[i] = make([][]float64, len(m.Operators))
	}
	const block = 5
	for r := 0; r < runs; r += block {
		for i, e := range es {
			for j := range block + 1 {
				t00 := time.Now()
				for k, run := range e.runs {
					t0 := time.Now()
					run()
					if j > 0 {
						samples[i][k] = append(samples[i][k], float64(time.Since(t0).Nanoseconds())/1e3)
					}
				}
				if j > 0 {
					totals[i] = append(totals[i], float64(time.Since(t00).Nanoseconds())/1e3)
				}
			}
		}
	}
	for i := range med {
		for _, s := range samples[i] {
			med[i] = append(med[i], enginetest.Median(s))
			var sum float64
			for _, v := range s {
				sum += v
			}
			mean[i] = append(mean[i], sum/float64(len(s)))
		}
		whole[i] = enginetest.Median(totals[i])
	}
	return med, mean, whole
}

// BenchmarkQuantOpProfile prints, per operator of the quantized MobileNetV2
// models (uint8 classifier and feature extractor, int8 post-training
// quantized), the median time at 1 and 2 threads and the loss against
// perfect scaling (t2 - t1/2), largest first; b.N is the number of
// Invokes per engine.
//
//	go test -run '^$' -bench QuantOpProfile -benchtime 50x -v ./pipeline/engine/native/
func BenchmarkQuantOpProfile(b *testing.B) {
	for _, tc := range []struct{ model, input string }{
		{"mobilenet_v2_1.0_224_quant.tflite", "grace_hopper_224_u8.raw"},
		{"mobilenet_v2_1.0_224_quant_features.tflite", "grace_hopper_224_u8.raw"},
		{"tf2_mobilenet_v2_1.0_224_ptq.tflite", "parrot_224_u8.raw"},
	} {
		b.Run(strings.TrimSuffix(tc.model, ".tflite"), func(b *testing.B) {
			m, err := tflite.ReadFile(testshared.Path(b, "models", tc.model))
			if err != nil {
				b.Fatal(err)
			}
			in, err := os.ReadFile(testshared.Path(b, "golden", "inputs", tc.input))
			if err != nil {
				b.Fatal(err)
			}
			med, mean, whole := quantOpProfile(b, m, in, b.N)
			type row struct {
				k        int
				t1, t2   float64
				m1, m2   float64
				loss     float64
				op, desc string
			}
			var rows []row
			var s1, s2, sm1, sm2 float64
			for k, op := range m.Operators {
				t1, t2 := med[0][k], med[1][k]
				s1 += t1
				s2 += t2
				sm1 += mean[0][k]
				sm2 += mean[1][k]
				out := m.Tensors[op.Outputs[0]]
				rows = append(rows, row{k, t1, t2, mean[0][k], mean[1][k], t2 - t1/2, tflite.OpName(op.Op), fmt.Sprintf("%v %s", out.Shape, out.Type)})
			}
			slices.SortFunc(rows, func(a, b row) int {
				if a.loss > b.loss {
					return -1
				}
				if a.loss < b.loss {
					return 1
				}
				return 0
			})
			var sb strings.Builder
			fmt.Fprintf(&sb, "whole invoke (median): 1t %.0f µs, 2t %.0f µs (%.2f×)\n", whole[0], whole[1], whole[0]/whole[1])
			fmt.Fprintf(&sb, "sum of op medians: 1t %.0f µs, 2t %.0f µs (%.2f×), loss vs perfect %.0f µs\n", s1, s2, s1/s2, s2-s1/2)
			fmt.Fprintf(&sb, "sum of op means:   1t %.0f µs, 2t %.0f µs (%.2f×)\n", sm1, sm2, sm1/sm2)
			fmt.Fprintf(&sb, "%4s %-18s %-26s %8s %8s %6s %8s %8s %8s\n", "op", "kind", "output", "1t µs", "2t µs", "ratio", "loss µs", "1t mean", "2t mean")
			for _, r := range rows {
				fmt.Fprintf(&sb, "%4d %-18s %-26s %8.1f %8.1f %6.2f %8.1f %8.1f %8.1f\n", r.k, r.op, r.desc, r.t1, r.t2, r.t1/r.t2, r.loss, r.m1, r.m2)
			}
			b.Log("\n" + sb.String())
			b.ReportMetric(s1/1e3, "1t-ms")
			b.ReportMetric(s2/1e3, "2t-ms")
		})
	}
}
