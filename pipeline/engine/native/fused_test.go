package native

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
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

// chainSpec is the shape of a test block: an [h,w,cin] input, ce expanded
// channels (ce 0: no expand, the depthwise reads the input), cout project
// channels (0: no project), and add 1: ADD(project, x), 2: ADD(x,
// project) with RELU; an expand with a k×k filter and stride ek (SAME
// padding) when k > 0, else 1×1 stride 1.
type chainSpec struct {
	h, w, cin, ce, cout, stride int
	pad                         tflite.Padding
	add                         int
	k, ek                       int
}

// fusedChain builds x → [CONV_2D 1×1 (expand, RELU6) →] DEPTHWISE_CONV_2D
// 3×3 (RELU6) [→ CONV_2D 1×1 (project) [→ ADD x]] with random weights, the
// last tensor the model output. It returns the model, the input and the
// reference output.
func fusedChain(seed uint64, cs chainSpec) (*tflite.Model, []float32, []float32) {
	h, w, cin, ce, cout, stride, pad, add := cs.h, cs.w, cs.cin, cs.ce, cs.cout, cs.stride, cs.pad, cs.add
	r := seeded(seed)
	in := randF32(r, h*w*cin)
	var b modelBuilder
	x := b.f32(1, h, w, cin)
	e, xe := in, x
	if ce > 0 {
		k, ek := max(cs.k, 1), max(cs.ek, 1)
		we, be := randF32(r, ce*k*k*cin), randF32(r, ce)
		e, h, w = conv2DRef(in, 1, h, w, cin, we, ce, k, k, be, ek, ek, 1, 1, tflite.PaddingSame, tflite.ActRelu6)
		xe = b.f32(1, h, w, ce)
		b.op(tflite.OpConv2D, &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideH: ek, StrideW: ek, DilationH: 1, DilationW: 1, Activation: tflite.ActRelu6},
			[]int{x, b.tensor(tflite.Float32, []int{ce, k, k, cin}, we), b.tensor(tflite.Float32, []int{ce}, be)}, []int{xe})
	} else {
		ce = cin
	}
	wd, bd := randF32(r, 9*ce), randF32(r, ce)
	d, oh, ow := depthwiseRef(e, 1, h, w, ce, wd, 3, 3, 1, bd, stride, stride, 1, 1, pad, tflite.ActRelu6)
	xd := b.f32(1, oh, ow, ce)
	b.op(tflite.OpDepthwiseConv2D, &tflite.DepthwiseConv2DOptions{Padding: pad, StrideH: stride, StrideW: stride, DilationH: 1, DilationW: 1, DepthMultiplier: 1, Activation: tflite.ActRelu6},
		[]int{xe, b.tensor(tflite.Float32, []int{1, 3, 3, ce}, wd), b.tensor(tflite.Float32, []int{ce}, bd)}, []int{xd})
	if cout == 0 {
		return b.io([]int{x}, []int{xd}), in, d
	}
	wp, bp := randF32(r, cout*ce), randF32(r, cout)
	y, _, _ := conv2DRef(d, 1, oh, ow, ce, wp, cout, 1, 1, bp, 1, 1, 1, 1, tflite.PaddingSame, tflite.ActNone)
	xp := b.f32(1, oh, ow, cout)
	b.op(tflite.OpConv2D, &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1},
		[]int{xd, b.tensor(tflite.Float32, []int{cout, 1, 1, ce}, wp), b.tensor(tflite.Float32, []int{cout}, bp)}, []int{xp})
	if add == 0 {
		return b.io([]int{x}, []int{xp}), in, y
	}
	xa := b.f32(1, oh, ow, cout)
	ins, act := []int{xp, x}, tflite.ActNone
	if add == 2 {
		ins, act = []int{x, xp}, tflite.ActRelu
	}
	b.op(tflite.OpAdd, &tflite.AddOptions{Activation: act}, ins, []int{xa})
	for j := range y {
		y[j] = clampRef(y[j]+in[j], act) // x has the block output's shape
	}
	return b.io([]int{x}, []int{xa}), in, y
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
// step, a projection to 16 channels (the AVX2 tile under AVX-512), no
// projection, a residual ADD either way round, no expand, and expands that
// gather im2col rows (3×3 stride 2 as MobileNetV2's stem, 1×1 stride 2).
func TestFusedBlocks(t *testing.T) {
	tests := []struct {
		name string
		chainSpec
	}{
		{"stride 1, odd height", chainSpec{11, 9, 5, 24, 8, 1, tflite.PaddingSame, 0, 0, 0}},
		{"stride 2, even height", chainSpec{12, 12, 3, 16, 24, 2, tflite.PaddingSame, 0, 0, 0}},
		{"stride 2, odd height", chainSpec{13, 11, 4, 20, 7, 2, tflite.PaddingSame, 0, 0, 0}},
		{"valid, stride 1", chainSpec{9, 8, 6, 12, 5, 1, tflite.PaddingValid, 0, 0, 0}},
		{"valid, stride 2", chainSpec{10, 7, 3, 8, 9, 2, tflite.PaddingValid, 0, 0, 0}},
		{"three rows", chainSpec{3, 5, 2, 8, 3, 1, tflite.PaddingSame, 0, 0, 0}},
		{"narrow, stride 2", chainSpec{5, 3, 4, 9, 6, 2, tflite.PaddingSame, 0, 0, 0}},
		{"tall and narrow", chainSpec{40, 7, 3, 40, 33, 1, tflite.PaddingSame, 0, 0, 0}},
		{"project to 16", chainSpec{14, 14, 8, 48, 16, 1, tflite.PaddingSame, 0, 0, 0}},
		{"no project, stride 1", chainSpec{10, 10, 4, 24, 0, 1, tflite.PaddingSame, 0, 0, 0}},
		{"no project, stride 2", chainSpec{9, 10, 4, 17, 0, 2, tflite.PaddingSame, 0, 0, 0}},
		{"residual add", chainSpec{13, 12, 8, 48, 8, 1, tflite.PaddingSame, 1, 0, 0}},
		{"residual add, operands swapped, relu", chainSpec{7, 9, 5, 30, 5, 1, tflite.PaddingSame, 2, 0, 0}},
		{"no expand", chainSpec{12, 10, 24, 0, 8, 1, tflite.PaddingSame, 0, 0, 0}},
		{"no expand, stride 2", chainSpec{11, 9, 16, 0, 12, 2, tflite.PaddingSame, 0, 0, 0}},
		{"no expand, residual add", chainSpec{9, 9, 16, 0, 16, 1, tflite.PaddingSame, 1, 0, 0}},
		{"3×3 stride-2 expand (the stem)", chainSpec{22, 21, 3, 32, 16, 1, tflite.PaddingSame, 0, 3, 2}},
		{"3×3 expand, stride-2 depthwise", chainSpec{13, 16, 3, 24, 8, 2, tflite.PaddingSame, 0, 3, 1}},
		{"1×1 stride-2 expand (im2col)", chainSpec{12, 12, 5, 16, 0, 1, tflite.PaddingSame, 0, 1, 2}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, in, want := fusedChain(uint64(i), tc.chainSpec)
			wantFused := len(m.Operators) - 1
			for _, kern := range gemmKernels() {
				unfused, _ := runBuilt(t, m, buildOptions{kern: kern, noFuse: true}, 1, in)
				closeTo(t, unfused, want, 1e-4)
				// Windows of one grain of rows per step, of a few rows, of
				// the whole map; buffers of one step (the rows still needed
				// move to the front every step) or larger.
				row := tc.w * max(tc.ce, tc.cin) * 4 // at least a row of the expanded map
				for _, lim := range []fuseLimits{{1, 1, 1}, {1, 1, 7 * row}, {1, 3 * row, 1}, {1, 3 * row, 0}, {1, 1 << 20, 0}} {
					for _, threads := range []int{1, 2, 3} {
						got, fused := runBuilt(t, m, buildOptions{kern: kern, fuse: lim}, threads, in)
						if fused != wantFused {
							t.Fatalf("%d ops fused into the block's first, want %d", fused, wantFused)
						}
						for j := range got {
							if math.Float32bits(got[j]) != math.Float32bits(unfused[j]) {
								t.Fatalf("%s, limits %+v, %d threads: element %d is %v fused, %v unfused",
									kern.name, lim, threads, j, got[j], unfused[j])
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
	m, _, _ := fusedChain(1, chainSpec{8, 8, 4, 16, 8, 1, tflite.PaddingSame, 0, 0, 0})
	if got := fusedOps(m, buildOptions{fuse: fuseLimits{minPixels: 1}}); fmt.Sprint(got) != "[0 0 0]" {
		t.Errorf("whole chain: ops run by %v, want [0 0 0]", got)
	}
	if got := fusedOps(m, buildOptions{}); fmt.Sprint(got) != "[0 1 2]" {
		t.Errorf("8×8 map under the default threshold: ops run by %v, want [0 1 2]", got)
	}
	// The depthwise output is also a model output: expand and depthwise
	// fuse, the projection reads the stored tensor.
	m2 := *m
	m2.Outputs = append([]int{m.Operators[1].Outputs[0]}, m.Outputs...)
	if got := fusedOps(&m2, buildOptions{fuse: fuseLimits{minPixels: 1}}); fmt.Sprint(got) != "[0 0 2]" {
		t.Errorf("depthwise output read outside: ops run by %v, want [0 0 2]", got)
	}
	// The expanded map is a model output: the expand runs alone, the
	// depthwise and the projection fuse.
	m3 := *m
	m3.Outputs = append([]int{m.Operators[0].Outputs[0]}, m.Outputs...)
	if got := fusedOps(&m3, buildOptions{fuse: fuseLimits{minPixels: 1}}); fmt.Sprint(got) != "[0 1 1]" {
		t.Errorf("expanded map read outside: ops run by %v, want [0 1 1]", got)
	}
	// A residual ADD joins the block; one that broadcasts does not.
	ma, _, _ := fusedChain(2, chainSpec{8, 8, 4, 16, 4, 1, tflite.PaddingSame, 1, 0, 0})
	if got := fusedOps(ma, buildOptions{fuse: fuseLimits{minPixels: 1}}); fmt.Sprint(got) != "[0 0 0 0]" {
		t.Errorf("residual add: ops run by %v, want [0 0 0 0]", got)
	}
	mb := *ma
	mb.Tensors = append([]*tflite.Tensor(nil), ma.Tensors...)
	add := *ma.Operators[3]
	vec := &tflite.Tensor{Index: len(mb.Tensors), Type: tflite.Float32, Shape: []int{4}, Data: make([]byte, 16)}
	mb.Tensors = append(mb.Tensors, vec)
	add.Inputs = []int{add.Inputs[0], vec.Index}
	mb.Operators = append(append([]*tflite.Operator(nil), ma.Operators[:3]...), &add)
	if got := fusedOps(&mb, buildOptions{fuse: fuseLimits{minPixels: 1}}); fmt.Sprint(got) != "[0 0 0 3]" {
		t.Errorf("broadcasting add: ops run by %v, want [0 0 0 3]", got)
	}
	// A depthwise without expand fuses with its project only.
	md, _, _ := fusedChain(3, chainSpec{8, 8, 16, 0, 0, 1, tflite.PaddingSame, 0, 0, 0})
	if got := fusedOps(md, buildOptions{fuse: fuseLimits{minPixels: 1}}); fmt.Sprint(got) != "[0]" {
		t.Errorf("depthwise alone: ops run by %v, want [0]", got)
	}
}

// FuzzFusedBlock runs random block shapes fused (with random window and
// buffer sizes and thread counts) and unfused: the outputs must be equal
// bit for bit.
//
//	go test -run '^$' -fuzz FuzzFusedBlock ./pipeline/engine/native/
func FuzzFusedBlock(f *testing.F) {
	f.Add(uint8(11), uint8(9), uint8(5), uint8(24), uint8(8), uint8(1), false, uint8(0), uint8(0), uint8(1), uint16(1), uint16(1), uint8(2))
	f.Add(uint8(22), uint8(21), uint8(3), uint8(32), uint8(16), uint8(1), false, uint8(0), uint8(3), uint8(2), uint16(40), uint16(0), uint8(1))
	f.Add(uint8(13), uint8(12), uint8(8), uint8(48), uint8(8), uint8(2), true, uint8(1), uint8(0), uint8(0), uint16(3), uint16(9), uint8(3))
	f.Fuzz(func(t *testing.T, h, w, cin, ce, cout, stride uint8, valid bool, add, k, ek uint8, window, buffer uint16, threads uint8) {
		cs := chainSpec{h: 3 + int(h%30), w: 3 + int(w%30), cin: 1 + int(cin%24), ce: int(ce % 50), cout: int(cout % 40),
			stride: 1 + int(stride%2), pad: tflite.PaddingSame, add: int(add % 3), k: []int{0, 1, 3}[k%3], ek: 1 + int(ek%2)}
		if valid {
			cs.pad = tflite.PaddingValid
		}
		if cs.ce == 0 {
			cs.k, cs.ek = 0, 0
		}
		if cs.cout == 0 || cs.stride != 1 || cs.pad != tflite.PaddingSame || cs.ek != 1 && cs.ce > 0 {
			cs.add = 0
		}
		if cs.add > 0 {
			cs.cout = cs.cin // the residual has the input's shape
		}
		if eh, ew := (cs.h+cs.ek-1)/max(cs.ek, 1), (cs.w+cs.ek-1)/max(cs.ek, 1); eh < 3 || ew < 3 {
			t.Skip("the depthwise needs a 3×3 map (VALID would leave no output)")
		}
		m, in, _ := fusedChain(uint64(window)<<16|uint64(buffer), cs)
		kern := gemmKernels()[int(threads/4)%len(gemmKernels())]
		want, _ := runBuilt(t, m, buildOptions{kern: kern, noFuse: true}, 1, in)
		lim := fuseLimits{minPixels: 1, window: int(window) << 8, buffer: int(buffer) << 8}
		got, _ := runBuilt(t, m, buildOptions{kern: kern, fuse: lim}, 1+int(threads%3), in)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("%+v, %s, limits %+v: element %d is %v fused, %v unfused", cs, kern.name, lim, j, got[j], want[j])
			}
		}
	})
}

// TestFusedOracle runs blocks large enough for New to fuse them by itself
// through the real TFLite runtime: a residual block, a stem-like 3×3
// stride-2 expand, and a VALID stride-2 depthwise without project.
func TestFusedOracle(t *testing.T) {
	for i, cs := range []chainSpec{
		{56, 56, 8, 24, 8, 1, tflite.PaddingSame, 1, 0, 0},
		{113, 112, 3, 16, 8, 1, tflite.PaddingSame, 0, 3, 2},
		{60, 59, 4, 12, 0, 2, tflite.PaddingValid, 0, 0, 0},
	} {
		t.Run(fmt.Sprintf("%+v", cs), func(t *testing.T) {
			m, in, _ := fusedChain(uint64(100+i), cs)
			file, parsed := writeModel(t, m, "block.tflite")
			raw := make([]byte, 4*len(in))
			copy(engine.Float32s(raw), in)
			want := engine.Float32s(enginetest.Oracle(t, file, raw))
			for _, threads := range []int{1, 2} {
				got, fused := runBuilt(t, parsed, buildOptions{kern: gemmKernels()[0]}, threads, in)
				if fused != len(m.Operators)-1 {
					t.Fatalf("%d ops fused into the block's first, want %d", fused, len(m.Operators)-1)
				}
				closeTo(t, got, want, 1e-4)
			}
		})
	}
}
