package mqtt

// ring is a bounded FIFO that overwrites its oldest entry when full.
type ring[T any] struct {
	buf     []T
	head, n int
}

func newRing[T any](size int) ring[T] { return ring[T]{buf: make([]T, size)} }

// push appends v and reports whether the oldest entry was dropped for it.
func (r *ring[T]) push(v T) (dropped bool) {
	if r.n == len(r.buf) {
		r.buf[r.head] = v
		r.head = (r.head + 1) % len(r.buf)
		return true
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
	return false
}

// pushFront puts v back at the head (after a failed publish); it reports
// false, dropping v, when the ring is full.
func (r *ring[T]) pushFront(v T) bool {
	if r.n == len(r.buf) {
		return false
	}
	r.head = (r.head - 1 + len(r.buf)) % len(r.buf)
	r.buf[r.head] = v
	r.n++
	return true
}

func (r *ring[T]) pop() (T, bool) {
	var zero T
	if r.n == 0 {
		return zero, false
	}
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return v, true
}

func (r *ring[T]) len() int { return r.n }
