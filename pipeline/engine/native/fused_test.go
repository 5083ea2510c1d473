package native

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestFusedMatchesUnfused runs the float MobileNetV2 models with and
// without fused blocks, with one and two threads: the outputs must be the
// same bit for bit, and the fused plan must have fused blocks and a
// smaller arena.
func TestFusedMatchesUnfused(t *testing.T) {
	in, err := os.ReadFile(testshared.Path(t, "golden", "inputs", "grace_hopper_224_f32m11.raw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{
		"mobilenet_v2_1.0_224_dequant_f32.tflite",
		"mobilenet_v2_1.0_224_dequant_f32_features.tflite",
	} {
		t.Run(model, func(t *testing.T) {
			m, err := tflite.ReadFile(testshared.Path(t, "models", model))
			if err != nil {
				t.Fatal(err)
			}
			kern := gemmKernels()[0]
			want := invokeFresh(t, m, buildOptions{kern: kern, noFuse: true}, 1, in, nil)
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("threads%d", threads), func(t *testing.T) {
					e, err := build(m, engine.Options{Threads: threads}, buildOptions{kern: kern})
					if err != nil {
						t.Fatal(err)
					}
					defer e.Close()
					fused := 0
					for i, h := range e.fusedInto {
						if h != i {
							fused++
						}
					}
					if fused == 0 {
						t.Fatal("no block fused")
					}
					got := invoke(t, e, in)
					if i := firstDiff(got, want); i >= 0 {
						t.Errorf("fused output byte %d differs from the unfused engine's", i)
					}
					u, err := build(m, engine.Options{Threads: threads}, buildOptions{kern: kern, noFuse: true})
					if err != nil {
						t.Fatal(err)
					}
					defer u.Close()
					t.Logf("%d ops fused into their blocks' first; arena %d bytes, unfused %d", fused, e.ArenaBytes(), u.ArenaBytes())
					if e.ArenaBytes() >= u.ArenaBytes() {
						t.Errorf("arena %d bytes, unfused %d: the fused blocks' tensors still take space", e.ArenaBytes(), u.ArenaBytes())
					}
				})
			}
		})
	}
}

// fusedChain builds x → CONV_2D 1×1 (expand, RELU6) → DEPTHWISE_CONV_2D
// 3×3 (RELU6) [→ CONV_2D 1×1 (project)] with random weights, the last
// tensor the model output (cout 0: no project). It returns the model, the
// input and the reference output.
func fusedChain(seed uint64, h, w, cin, ce, cout, stride int, pad tflite.Padding) (*tflite.Model, []float32, []float32) {
	r := seeded(seed)
	in := randF32(r, h*w*cin)
	we, be := randF32(r, ce*cin), randF32(r, ce)
	wd, bd := randF32(r, 9*ce), randF32(r, ce)
	e, _, _ := conv2DRef(in, 1, h, w, cin, we, ce, 1, 1, be, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActRelu6)
	d, oh, ow := depthwiseRef(e, 1, h, w, ce, wd, 3, 3, 1, bd, stride, stride, 1, 1, pad, tflite.ActRelu6)
	var b modelBuilder
	x := b.f32(1, h, w, cin)
	xe := b.f32(1, h, w, ce)
	xd := b.f32(1, oh, ow, ce)
	b.op(tflite.OpConv2D, &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideH: 1, StrideW: 1, Activation: tflite.ActRelu6},
		[]int{x, b.tensor(tflite.Float32, []int{ce, 1, 1, cin}, we), b.tensor(tflite.Float32, []int{ce}, be)}, []int{xe})
	b.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: pad, StrideH: stride, StrideW: stride, DepthMultiplier: 1, Activation: tflite.ActRelu6},
		[]int{xe, b.tensor(tflite.Float32, []int{1, 3, 3, ce}, wd), b.tensor(tflite.Float32, []int{ce}, bd)}, []int{xd})
	if cout == 0 {
		return b.io([]int{x}, []int{xd}), in, d
	}
	wp, bp := randF32(r, cout*ce), randF32(r, cout)
	y, _, _ := conv2DRef(d, 1, oh, ow, ce, wp, cout, 1, 1, bp, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActNone)
	xp := b.f32(1, oh, ow, cout)
	b.op(tflite.OpConv2D, &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideH: 1, StrideW: 1},
		[]int{xd, b.tensor(tflite.Float32, []int{cout, 1, 1, ce}, wp), b.tensor(tflite.Float32, []int{cout}, bp)}, []int{xp})
	return b.io([]int{x}, []int{xp}), in, y
}

// runBuilt builds m with bo, runs input in and returns output 0, and how
// many ops ran inside another's fused block.
func runBuilt(t *testing.T, m *tflite.Model, bo buildOptions, threads int, in []float32) (out []float32, fused int) {
	t.Helper()
	e, err := build(m, engine.Options{Threads: threads}, bo)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i, h := range e.fusedInto {
		if h != i {
			fused++
		}
	}
	copy(engine.Float32s(e.Input(0)), in)
	for range 2 { // the second run must not reuse the first's windows wrongly
		if err := e.Invoke(); err != nil {
			t.Fatal(err)
		}
	}
	return append([]float32(nil), engine.Float32s(e.Output(0))...), fused
}

// TestFusedBlocks runs small expand → depthwise [→ project] chains fused
// (on any map size, with windows from one grain of rows to the whole map)
// and unfused, with every GEMM kernel and one to three threads: the
// outputs must be equal bit for bit, and match the reference loops.
// The shapes cover the band edges: the first and last bands (clamped
// border windows), stride 2 on even and odd heights, VALID padding, widths
// that cut the GEMM's mr-row units inside a line, a map smaller than one
// step, a projection to 16 channels (the AVX2 tile under AVX-512) and no
// projection.
func TestFusedBlocks(t *testing.T) {
	tests := []struct {
		name                        string
		h, w, cin, ce, cout, stride int
		pad                         tflite.Padding
	}{
		{"stride 1, odd height", 11, 9, 5, 24, 8, 1, tflite.PaddingSame},
		{"stride 2, even height", 12, 12, 3, 16, 24, 2, tflite.PaddingSame},
		{"stride 2, odd height", 13, 11, 4, 20, 7, 2, tflite.PaddingSame},
		{"valid, stride 1", 9, 8, 6, 12, 5, 1, tflite.PaddingValid},
		{"valid, stride 2", 10, 7, 3, 8, 9, 2, tflite.PaddingValid},
		{"three rows", 3, 5, 2, 8, 3, 1, tflite.PaddingSame},
		{"narrow, stride 2", 5, 3, 4, 9, 6, 2, tflite.PaddingSame},
		{"tall and narrow", 40, 7, 3, 40, 33, 1, tflite.PaddingSame},
		{"project to 16", 14, 14, 8, 48, 16, 1, tflite.PaddingSame},
		{"no project, stride 1", 10, 10, 4, 24, 0, 1, tflite.PaddingSame},
		{"no project, stride 2", 9, 10, 4, 17, 0, 2, tflite.PaddingSame},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, in, want := fusedChain(uint64(i), tc.h, tc.w, tc.cin, tc.ce, tc.cout, tc.stride, tc.pad)
			wantFused := 2
			if tc.cout == 0 {
				wantFused = 1
			}
			for _, kern := range gemmKernels() {
				unfused, _ := runBuilt(t, m, buildOptions{kern: kern, noFuse: true}, 1, in)
				closeTo(t, unfused, want, 1e-4)
				// 1 byte: one grain of rows per step; 1 MB: the whole map.
				for _, window := range []int{1, 3 * tc.w * tc.ce * 4, 1 << 20} {
					for _, threads := range []int{1, 2, 3} {
						got, fused := runBuilt(t, m, buildOptions{kern: kern, fuseMin: 1, fuseWindow: window}, threads, in)
						if fused != wantFused {
							t.Fatalf("%d ops fused into the block's first, want %d", fused, wantFused)
						}
						for j := range got {
							if math.Float32bits(got[j]) != math.Float32bits(unfused[j]) {
								t.Fatalf("%s, window %d bytes, %d threads: element %d is %v fused, %v unfused",
									kern.name, window, threads, j, got[j], unfused[j])
							}
						}
					}
				}
			}
		})
	}
}

// TestFusePlanRules checks which chains fusePlan leaves alone: an
// intermediate tensor another op reads too, or that is a model output, is
// stored, so its ops run unfused; maps under the size threshold are not
// fused.
func TestFusePlanRules(t *testing.T) {
	fusedOps := func(m *tflite.Model, bo buildOptions) []int {
		t.Helper()
		bo.kern = gemmKernels()[0]
		e, err := build(m, engine.Options{Threads: 1}, bo)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		return e.fusedInto
	}
	m, _, _ := fusedChain(1, 8, 8, 4, 16, 8, 1, tflite.PaddingSame)
	if got := fusedOps(m, buildOptions{fuseMin: 1}); fmt.Sprint(got) != "[0 0 0]" {
		t.Errorf("whole chain: ops run by %v, want [0 0 0]", got)
	}
	if got := fusedOps(m, buildOptions{}); fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("8×8 map under the default threshold: ops run by %v, want [0 1 2]", got)
	}
	// The depthwise output is also a model output: expand and depthwise
	// fuse, the projection reads the stored tensor.
	m2 := *m
	m2.Outputs = append([]int{m.Operators[1].Outputs[0]}, m.Outputs...)
	if got := fusedOps(&m2, buildOptions{fuseMin: 1}); fmt.Sprint(got) != "[0 0 2]" {
		t.Errorf("depthwise output read outside: ops run by %v, want [0 0 2]", got)
	}
	// The expanded map is a model output: nothing fuses.
	m3 := *m
	m3.Outputs = append([]int{m.Operators[0].Outputs[0]}, m.Outputs...)
	if got := fusedOps(&m3, buildOptions{fuseMin: 1}); fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("expanded map read outside: ops run by %v, want [0 1 2]", got)
	}
}
