package native

import (
	"testing"
	"unsafe"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/tflite"
)

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

func overlap(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa, pb := uintptrOf(a), uintptrOf(b)
	return pa < pb+uintptr(len(b)) && pb < pa+uintptr(len(a))
}

func TestLayout(t *testing.T) {
	m := chain()
	views, arena := layout(m, false, 1, nil)
	size := len(arena)
	// Tensors: 0 x (input), 1 relu, 2 reshape(relu), 3 reshape(x), 4 add, 5 softmax (output).
	if uintptrOf(views[1]) != uintptrOf(views[2]) || uintptrOf(views[0]) != uintptrOf(views[3]) {
		t.Error("RESHAPE outputs do not alias their inputs")
	}
	// The input lives for the whole run: nothing may overlap it.
	for i := 1; i < len(views); i++ {
		if i != 3 && overlap(views[0], views[i]) {
			t.Errorf("tensor %d overlaps the model input", i)
		}
	}
	// The softmax output may reuse the RELU buffer (dead after ADD), never
	// the ADD output it reads.
	if overlap(views[4], views[5]) || overlap(views[4], views[1]) {
		t.Error("live tensors overlap")
	}
	if size > 4*alignUp(48) {
		t.Errorf("arena %d bytes, want reuse to keep it ≤ %d", size, 4*alignUp(48))
	}
	for i, v := range views {
		if uintptrOf(v)%arenaAlign != 0 {
			t.Errorf("tensor %d not %d-byte aligned", i, arenaAlign)
		}
	}
}

// TestPlaceGreedy checks that buffers with disjoint lifetimes share space.
func TestPlaceGreedy(t *testing.T) {
	a := &buffer{size: 100, first: 0, last: 1}
	a.offset = place(a, nil)
	b := &buffer{size: 100, first: 1, last: 2}
	b.offset = place(b, []*buffer{a})
	c := &buffer{size: 50, first: 2, last: 3}
	c.offset = place(c, []*buffer{a, b})
	if a.offset != 0 || b.offset != alignUp(100) || c.offset != 0 {
		t.Errorf("offsets %d %d %d, want 0 %d 0", a.offset, b.offset, c.offset, alignUp(100))
	}
}

// TestLayoutCentered lays out the uint8 MobileNetV2 for two threads: the
// operands of every op stay disjoint (and the model input apart from
// everything), and the 112×112×96 expansion output shares its middle with
// the stem convolution's output, whose bytes it reuses (placeCentered).
func TestLayoutCentered(t *testing.T) {
	m, err := tflite.ReadFile(testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	views, arena := layout(m, false, 2, nil)
	_, packed := layout(m, false, 1, nil)
	t.Logf("arena %d bytes for two threads, %d packed", len(arena), len(packed))
	in := m.Inputs[0]
	for i, op := range m.Operators {
		var ts []int
		for _, x := range append(append([]int{}, op.Inputs...), op.Outputs...) {
			if x >= 0 && views[x] != nil {
				ts = append(ts, x)
			}
		}
		for a, x := range ts {
			for _, y := range ts[a+1:] {
				alias := op.Op == tflite.OpReshape || op.Op == tflite.OpSqueeze || x == y
				if !alias && overlap(views[x], views[y]) {
					t.Errorf("op %d (%s): tensors %d and %d overlap", i, tflite.OpName(op.Op), x, y)
				}
			}
			if x != in && overlap(views[x], views[in]) && !(op.Op == tflite.OpReshape && op.Inputs[0] == in) {
				t.Errorf("op %d: tensor %d overlaps the model input", i, x)
			}
		}
	}
	mid := func(x int) int { return int(uintptrOf(views[x])-uintptrOf(arena)) + len(views[x])/2 }
	stem, expand := m.Operators[0].Outputs[0], m.Operators[3].Outputs[0]
	if !overlap(views[stem], views[expand]) {
		t.Fatalf("the expansion output does not reuse the stem output's bytes")
	}
	if d := mid(stem) - mid(expand); d < -arenaAlign || d > arenaAlign {
		t.Errorf("middles %d and %d differ by %d bytes, want at most %d", mid(stem), mid(expand), d, arenaAlign)
	}
}
