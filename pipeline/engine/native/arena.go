package native

import (
	"sort"
	"unsafe"

	"github.com/alphad/alphad/pipeline/tflite"
)

// arenaAlign is the alignment of every tensor in the arena (a cache line).
const arenaAlign = 64

// buffer is one arena allocation shared by a tensor and its aliases.
type buffer struct {
	size        int
	first, last int // op indices of the first write and the last read
	offset      int
}

// layout assigns every non-constant tensor the operators touch a view of
// one arena. Tensors whose lifetimes (first write .. last read, in op order)
// overlap get disjoint bytes; the others reuse space greedily, largest
// first. Model inputs live for the whole run (so a caller may invoke twice
// on one input), model outputs from their write to the end. RESHAPE and
// SQUEEZE outputs alias their input. It returns the per-tensor views and the
// arena itself. With separate (tests only) no two buffers share bytes, so
// a test can tell a kernel that reads memory it did not write from one
// that is correct under reuse.
//
// With threads ≥ 2 the reused space is laid out for the pool's split
// instead of packed tightly (see placeCentered): the arena grows (MobileNetV2
// uint8: 1.66 → 2.03 MB) so that a thread writing its share of a tensor
// mostly writes lines its own core held last.
//
// fz (nil: none) are the plan's fused blocks: the ops of a block count as
// one, its first, and its internal tensors get no storage.
func layout(m *tflite.Model, separate bool, threads int, fz *fusion) (views [][]byte, arena []byte) {
	n := len(m.Tensors)
	nops := len(m.Operators)
	root := make([]int, n)
	for i := range root {
		root[i] = i
	}
	isInput := make([]bool, n)
	for _, i := range m.Inputs {
		isInput[i] = true
	}
	for _, op := range m.Operators {
		if (op.Op == tflite.OpReshape || op.Op == tflite.OpSqueeze) && len(op.Inputs) > 0 && len(op.Outputs) == 1 {
			in, out := op.Inputs[0], op.Outputs[0]
			if in >= 0 && !m.Tensors[in].IsConst() && !isInput[out] && m.Tensors[in].ByteSize() == m.Tensors[out].ByteSize() {
				root[out] = root[in]
			}
		}
	}
	bufs := map[int]*buffer{}
	touch := func(t, at int) {
		if t < 0 || m.Tensors[t].IsConst() || fz != nil && fz.internal[t] {
			return
		}
		if fz != nil && at >= 0 && at < nops {
			at = fz.head[at]
			if fz.chained[at] {
				at-- // runs inside the op before it
			}
		}
		r := root[t]
		b := bufs[r]
		if b == nil {
			b = &buffer{first: at, last: at}
			bufs[r] = b
		}
		b.size = max(b.size, m.Tensors[t].ByteSize())
		b.first = min(b.first, at)
		b.last = max(b.last, at)
	}
	for _, t := range m.Inputs {
		touch(t, -1)
		touch(t, nops)
	}
	for i, op := range m.Operators {
		for _, t := range op.Inputs {
			touch(t, i)
		}
		for _, t := range op.Outputs {
			touch(t, i)
		}
	}
	for _, t := range m.Outputs {
		touch(t, nops)
	}

	order := make([]*buffer, 0, len(bufs))
	roots := make([]int, 0, len(bufs))
	for r := range bufs {
		roots = append(roots, r)
	}
	sort.Ints(roots) // deterministic layout
	for _, r := range roots {
		order = append(order, bufs[r])
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].size > order[j].size })
	var placed []*buffer
	var centers []int
	size := 0
	for _, b := range order {
		switch {
		case separate:
			b.offset = alignUp(size)
		case threads >= 2:
			b.offset, centers = placeCentered(b, placed, centers, size)
		default:
			b.offset = place(b, placed)
		}
		size = max(size, b.offset+b.size)
		placed = append(placed, b)
	}
	size = alignUp(size)

	arena = alignedBytes(size)
	views = make([][]byte, n)
	for t := range m.Tensors {
		if b := bufs[root[t]]; b != nil && !m.Tensors[t].IsConst() {
			sz := m.Tensors[t].ByteSize()
			views[t] = arena[b.offset : b.offset+sz : b.offset+sz]
		}
	}
	return views, arena
}

// place returns the lowest aligned offset where b fits beside the placed
// buffers whose lifetimes overlap its own.
func place(b *buffer, placed []*buffer) int {
	var live []*buffer
	for _, o := range placed {
		if o.first <= b.last && b.first <= o.last {
			live = append(live, o)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].offset < live[j].offset })
	off := 0
	for _, o := range live {
		if off+b.size <= o.offset {
			break
		}
		off = max(off, alignUp(o.offset+o.size))
	}
	return off
}

// placeCentered returns the offset of b in a layout for a pool of two or
// more threads, and the centers with b's own added when it starts one. The
// ops split a tensor's bytes in order, so with two threads thread 0 writes
// and reads the bytes below a tensor's middle, thread 1 those above. Two
// tensors placed on one center split their shared bytes the same way: the
// thread writing a line of the later one is the thread whose cache holds it
// from the earlier one, where with offsets packed from 0 (place) a
// 1.2 MB tensor over a 0.4 MB one gave thread 0 the 0.4 MB one's upper half
// (~50 µs of the 112×112×96 convolution at two threads). b goes on the
// first center where it fits beside the placed buffers whose lifetimes
// overlap its own, else on top of the arena (size) as a new center.
func placeCentered(b *buffer, placed []*buffer, centers []int, size int) (int, []int) {
	for _, c := range centers {
		off := (c - b.size/2) &^ (arenaAlign - 1)
		if off >= 0 && fits(b, off, placed) {
			return off, centers
		}
	}
	off := alignUp(size)
	return off, append(centers, off+b.size/2)
}

// fits reports whether b may take [off, off+b.size): no placed buffer whose
// lifetime overlaps b's holds any of those bytes.
func fits(b *buffer, off int, placed []*buffer) bool {
	for _, o := range placed {
		if o.first <= b.last && b.first <= o.last && off < o.offset+o.size && o.offset < off+b.size {
			return false
		}
	}
	return true
}

func alignUp(n int) int { return (n + arenaAlign - 1) &^ (arenaAlign - 1) }

// alignedBytes allocates n zeroed bytes aligned to arenaAlign.
func alignedBytes(n int) []byte {
	raw := make([]byte, n+arenaAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(raw))) % arenaAlign); r != 0 {
		off = arenaAlign - r
	}
	return raw[off : off+n : off+n]
}

// alignedF32 allocates n zeroed float32s aligned to arenaAlign.
func alignedF32(n int) []float32 { return asF32Len(alignedBytes(4*n), n) }

func asF32Len(b []byte, n int) []float32 {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}
