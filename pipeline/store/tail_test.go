package store

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestTailMatchesBackbone: MobileNetV2's tail (Conv_1, ReLU6, average
// pool) run in float32 on the cached activations entering it gives the
// embeddings the quantized backbone computes, within its output
// quantization (one step is 6/255 ≈ 0.0235; the engine rounds twice, after
// Conv_1 and after the pool), and a second EmbedTail reads the cache.
func TestTailMatchesBackbone(t *testing.T) {
	backbone, err := os.ReadFile(testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	root := testshared.Path(t, "datasets", "rps_picam")
	state := openState(t, t.TempDir())
	for _, class := range []string{"rock", "paper"} {
		files, _ := filepath.Glob(filepath.Join(root, class, "*.*"))
		slices.Sort(files)
		if len(files) < 3 {
			t.Fatalf("%s: %d photos", class, len(files))
		}
		var ns []NewSample
		for _, f := range files[:3] {
			img, err := decodeFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ns = append(ns, NewSample{Label: class, Image: img})
		}
		if _, err := state.Samples().Add(state.Samples().NextBurst(), ns); err != nil {
			t.Fatal(err)
		}
	}
	opts := TrainOptions{Backbone: backbone, BackboneSource: "quant", NewEngine: newNative,
		Engine: engine.Options{Threads: 1}, Views: []int{ViewFlipped}}
	emb, err := EmbedStore(context.Background(), state, opts)
	if err != nil {
		t.Fatal(err)
	}
	td, err := EmbedTail(context.Background(), state, opts)
	if err != nil {
		t.Fatal(err)
	}
	if td.Tail.In != 320 || td.Tail.Out != 1280 || td.Tail.Clip != 6 || td.Embedded != 12 {
		t.Fatalf("tail %d→%d clip %g, %d activations computed; want 320→1280 clip 6, 12", td.Tail.In, td.Tail.Out, td.Tail.Clip, td.Embedded)
	}
	got := td.Tail.Embed(head.TailSamples(td.Tail, td.Samples), td.Tail.Identity())
	var worst, sum float64
	n := 0
	for i, s := range emb.Samples {
		for v, want := range append([][]float32{s.X}, s.Views...) {
			g := got[i].X
			if v > 0 {
				g = got[i].Views[v-1]
			}
			if got[i].Label != s.Label || len(g) != len(want) {
				t.Fatalf("sample %d view %d: label %d, %d values; want %d, %d", i, v, got[i].Label, len(g), s.Label, len(want))
			}
			for k := range want {
				d := math.Abs(float64(g[k] - want[k]))
				worst, sum, n = max(worst, d), sum+d, n+1
			}
		}
	}
	if worst > 0.05 || sum/float64(n) > 0.01 {
		t.Errorf("float tail vs quantized backbone: max |Δ| %.4f, mean %.5f; want ≤ 0.05 and ≤ 0.01", worst, sum/float64(n))
	}
	t.Logf("float tail vs quantized backbone: max |Δ| %.4f, mean %.5f over %d values", worst, sum/float64(n), n)
	again, err := EmbedTail(context.Background(), state, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Embedded != 0 || !slices.Equal(again.Samples[0].X, td.Samples[0].X) {
		t.Errorf("second EmbedTail computed %d activations (want 0, from the cache) or differs", again.Embedded)
	}
}

// TestFindTailModels: the tail is found in the float and quantized
// MobileNetV2 files alphad ships with (full classifiers and features-only
// exports) with the same shape, and the dequantized float model's
// weights equal the quantized model's, dequantized.
func TestFindTailModels(t *testing.T) {
	var ref *head.Tail
	for _, name := range []string{"mobilenet_v2_1.0_224_quant.tflite", "mobilenet_v2_1.0_224_quant_features.tflite",
		"mobilenet_v2_1.0_224_dequant_f32.tflite", "mobilenet_v2_1.0_224_dequant_f32_features.tflite",
		"tf2_mobilenet_v2_1.0_224_ptq.tflite"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(testshared.Path(t, "models", name))
			if err != nil {
				t.Fatal(err)
			}
			m, err := tflite.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			fm, _, err := backboneModel(m)
			if err != nil {
				t.Fatal(err)
			}
			tail, at, err := head.FindTail(fm)
			if err != nil {
				t.Fatal(err)
			}
			if tail.In != 320 || tail.Out != 1280 || tail.Clip != 6 || fm.Tensors[at].NumElements() != 7*7*320 {
				t.Fatalf("tail %d→%d clip %g at %v", tail.In, tail.Out, tail.Clip, fm.Tensors[at].Shape)
			}
			if ref == nil {
				ref = tail
				return
			}
			if strings.HasPrefix(name, "tf2_") {
				return // other weights (int8 per channel)
			}
			// The dequantized float model holds the quantized weights.
			var worst float64
			for i, w := range tail.W {
				worst = max(worst, math.Abs(float64(w-ref.W[i])))
			}
			if worst > 1e-3 {
				t.Errorf("weights differ from the quantized model's by up to %g", worst)
			}
		})
	}
}
