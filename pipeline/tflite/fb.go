package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	flatbuffers "github.com/google/flatbuffers/go"
)

// reader is a bounds-checked view of a flatbuffer. The flatbuffers runtime
// trusts its input and panics on a bad offset, so every access here checks
// its range first. Errors are sticky: after the first one every accessor
// returns zero values and the parser stops at its next check.
type reader struct {
	buf   []byte
	where location // what is being read, for error messages
	err   *FormatError
}

// location names the part of the file being read. It is formatted only
// when an error occurs, keeping Parse free of per-tensor Sprintf calls.
type location struct {
	kind   string // "model", "tensor", "operator", ...
	index  int    // -1 if none
	name   string // tensor name or op name, if known
	buffer int    // buffer being read for a tensor, or -1
}

func at(kind string, index int) location { return location{kind: kind, index: index, buffer: -1} }

func (l location) String() string {
	s := l.kind
	if l.index >= 0 {
		s += " " + strconv.Itoa(l.index)
	}
	if l.name != "" {
		s += " (" + l.name + ")"
	}
	if l.buffer >= 0 {
		s += ": buffer " + strconv.Itoa(l.buffer)
	}
	return s
}

// table is a located flatbuffer table: its position and its vtable.
type table struct {
	pos    int // start of the table (its soffset to the vtable)
	vt     int // start of the vtable
	vtLen  int // vtable length in bytes
	tblLen int // inline size of the table in bytes
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &FormatError{Where: r.where.String(), Reason: fmt.Sprintf(format, args...)}
	}
}

// in reports whether [pos, pos+n) lies inside the buffer.
func (r *reader) in(pos, n int) bool {
	return pos >= 0 && n >= 0 && pos <= len(r.buf) && n <= len(r.buf)-pos
}

func (r *reader) u16(pos int) int { return int(binary.LittleEndian.Uint16(r.buf[pos:])) }
func (r *reader) u32(pos int) uint32 {
	return binary.LittleEndian.Uint32(r.buf[pos:])
}

// tableAt locates the table at pos and checks its vtable.
func (r *reader) tableAt(pos int) (table, bool) {
	if r.err != nil {
		return table{}, false
	}
	if !r.in(pos, flatbuffers.SizeSOffsetT) {
		r.fail("table offset %d out of range", pos)
		return table{}, false
	}
	vt := pos - int(int32(r.u32(pos)))
	if !r.in(vt, 2*flatbuffers.SizeVOffsetT) {
		r.fail("vtable offset %d out of range", vt)
		return table{}, false
	}
	t := table{pos: pos, vt: vt, vtLen: r.u16(vt), tblLen: r.u16(vt + 2)}
	if t.vtLen < 4 || t.vtLen%2 != 0 || !r.in(vt, t.vtLen) {
		r.fail("bad vtable size %d at %d", t.vtLen, vt)
		return table{}, false
	}
	if t.tblLen < flatbuffers.SizeSOffsetT || !r.in(pos, t.tblLen) {
		r.fail("bad table size %d at %d", t.tblLen, pos)
		return table{}, false
	}
	return t, true
}

// field is the absolute position of field id of t, which has the given
// inline size, or -1 when the field is absent.
func (r *reader) field(t table, id, size int) int {
	if r.err != nil {
		return -1
	}
	slot := 4 + 2*id
	if slot+2 > t.vtLen {
		return -1
	}
	off := r.u16(t.vt + slot)
	if off == 0 {
		return -1
	}
	if off+size > t.tblLen {
		r.fail("field %d (offset %d, size %d) outside its table of %d bytes", id, off, size, t.tblLen)
		return -1
	}
	return t.pos + off
}

func (r *reader) u8(t table, id int, def uint8) uint8 {
	p := r.field(t, id, 1)
	if p < 0 {
		return def
	}
	return r.buf[p]
}

func (r *reader) i8(t table, id int, def int8) int8 { return int8(r.u8(t, id, uint8(def))) }

func (r *reader) bool(t table, id int) bool { return r.u8(t, id, 0) != 0 }

func (r *reader) i32(t table, id int, def int32) int32 {
	p := r.field(t, id, 4)
	if p < 0 {
		return def
	}
	return int32(r.u32(p))
}

func (r *reader) f32(t table, id int, def float32) float32 {
	p := r.field(t, id, 4)
	if p < 0 {
		return def
	}
	return math.Float32frombits(r.u32(p))
}

func (r *reader) u64(t table, id int) uint64 {
	p := r.field(t, id, 8)
	if p < 0 {
		return 0
	}
	return binary.LittleEndian.Uint64(r.buf[p:])
}

// deref follows the uoffset stored at p.
func (r *reader) deref(p int) int {
	if !r.in(p, flatbuffers.SizeUOffsetT) {
		r.fail("offset at %d out of range", p)
		return -1
	}
	target := int64(p) + int64(r.u32(p))
	if target > int64(len(r.buf)) {
		r.fail("offset at %d points to %d, past the end (%d bytes)", p, target, len(r.buf))
		return -1
	}
	return int(target)
}

// subTable is the table referenced by field id, ok=false when absent.
func (r *reader) subTable(t table, id int) (table, bool) {
	p := r.field(t, id, flatbuffers.SizeUOffsetT)
	if p < 0 {
		return table{}, false
	}
	return r.tableAt(r.deref(p))
}

// vector returns the start of the elements and the length of the vector in
// field id, whose elements are elemSize bytes. n is 0 when absent; present
// reports whether the field was there.
func (r *reader) vector(t table, id, elemSize int) (start, n int, present bool) {
	p := r.field(t, id, flatbuffers.SizeUOffsetT)
	if p < 0 {
		return 0, 0, false
	}
	v := r.deref(p)
	if r.err != nil {
		return 0, 0, false
	}
	if !r.in(v, flatbuffers.SizeUOffsetT) {
		r.fail("vector length at %d out of range", v)
		return 0, 0, false
	}
	n64 := uint64(r.u32(v))
	start = v + flatbuffers.SizeUOffsetT
	if n64*uint64(elemSize) > uint64(len(r.buf)-start) {
		r.fail("vector of %d elements at %d overruns the file", n64, v)
		return 0, 0, false
	}
	return start, int(n64), true
}

func (r *reader) bytes(t table, id int) []byte {
	start, n, ok := r.vector(t, id, 1)
	if !ok {
		return nil
	}
	return r.buf[start : start+n : start+n]
}

func (r *reader) string(t table, id int) string { return string(r.bytes(t, id)) }

func (r *reader) ints(t table, id int) []int {
	start, n, ok := r.vector(t, id, 4)
	if !ok {
		return nil
	}
	s := make([]int, n)
	for i := range s {
		s[i] = int(int32(r.u32(start + 4*i)))
	}
	return s
}

func (r *reader) int64s(t table, id int) []int64 {
	start, n, ok := r.vector(t, id, 8)
	if !ok {
		return nil
	}
	s := make([]int64, n)
	for i := range s {
		s[i] = int64(binary.LittleEndian.Uint64(r.buf[start+8*i:]))
	}
	return s
}

func (r *reader) float32s(t table, id int) []float32 {
	start, n, ok := r.vector(t, id, 4)
	if !ok {
		return nil
	}
	s := make([]float32, n)
	for i := range s {
		s[i] = math.Float32frombits(r.u32(start + 4*i))
	}
	return s
}

// tables returns the element tables of the vector of tables in field id.
func (r *reader) tables(t table, id int) []table {
	start, n, ok := r.vector(t, id, flatbuffers.SizeUOffsetT)
	if !ok {
		return nil
	}
	s := make([]table, n)
	for i := range s {
		s[i], ok = r.tableAt(r.deref(start + 4*i))
		if !ok {
			return nil
		}
	}
	return s
}
