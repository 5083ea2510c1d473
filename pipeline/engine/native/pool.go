package native

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// pool is a persistent set of worker goroutines that heavy ops split their
// work over. With one thread it runs everything on the calling goroutine.
// It allocates nothing per run.
//
// A run splits [0,n) into chunks that the caller and the workers claim one
// at a time from a shared counter, so a thread the OS deschedules (the
// machine may be busy) delays the op by at most the chunk it holds: the
// others take the rest. Between runs a worker spins for poolSpin, then
// parks until the next run wakes it; within one Invoke the ops follow each
// other closely, so the workers rarely park.
//
// The claim counter and the run's generation share one atomic word
// (gen<<32 | next chunk). A worker reads the word, then the current task,
// then claims a chunk by compare-and-swap on the word it read: the task
// changes only after the generation has moved on, so a successful claim
// always pairs a chunk with its own task.
//
// The claim word and the done counter sit on cache lines of their own
// (every thread writes both, once per chunk), apart from the fields that
// are only read.
type pool struct {
	threads int
	quit    atomic.Bool
	workers []*worker
	jobs    []*job         // every job newJob made, in order (for the op profile)
	wg      sync.WaitGroup // live worker goroutines
	_       [64]byte
	state   atomic.Uint64       // gen<<32 | index of the next chunk to claim
	cur     atomic.Pointer[job] // the task of the current generation
	_       [64]byte
	done    atomic.Int64 // chunks finished in the current generation
	_       [64]byte
}

// job is one parallel loop, immutable while any run of it may be claimed:
// fn over [0,n) in chunks chunks.
type job struct {
	fn     func(lo, hi int)
	n      int
	chunks int
	work   int // the op's work as newJob was told it
}

// bounds is the range of chunk i.
func (j *job) bounds(i int) (lo, hi int) { return j.n * i / j.chunks, j.n * (i + 1) / j.chunks }

// worker is the parking state of one worker goroutine.
type worker struct {
	asleep atomic.Bool
	wake   chan struct{} // buffered 1
}

// closedIdx marks a generation no chunk can be claimed from (between
// runs).
const closedIdx = 1<<32 - 1

// poolSpin is how long an idle worker polls for the next run before it
// parks: longer than the gap between two ops of one Invoke, much shorter
// than the gap between two frames.
const poolSpin = 200 * time.Microsecond

// chunksPerThread is how many chunks a run is split into per thread: more
// balance the load when a thread is descheduled, fewer cost less in
// claims and per-chunk setup.
const chunksPerThread = 4

// newPool starts threads-1 workers (the caller is the last thread).
func newPool(threads int) *pool {
	p := &pool{threads: max(threads, 1)}
	p.state.Store(closedIdx)
	for range p.threads - 1 {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		go p.work(w, 0)
	}
	return p
}

// poolMinWork is the least work (multiply-adds, or elements for
// element-wise ops) worth splitting: below it, waking the workers and
// waiting for them costs about what a second thread saves (~10 µs).
const poolMinWork = 64 << 10

// elemWork is roughly how many GEMM multiply-adds one element of an
// element-wise or pooling op costs in time (measured: an ADD element
// ~0.5–1 ns, a GEMM multiply-add ~0.03 ns with AVX-512): such ops pass
// elements·elemWork as their work, so that mid-sized ones split too.
const elemWork = 16

// elemBlock is the grain, in elements, element-wise ops split into.
const elemBlock = 4096

// newJob prepares fn over [0,n) for run; build it in prepare, not per run.
// work is the op's total work in multiply-adds (or elements): a job under
// poolMinWork runs whole on the calling thread.
func (p *pool) newJob(n, work int, fn func(lo, hi int)) *job {
	chunks := min(n, p.threads*chunksPerThread)
	if work < poolMinWork {
		chunks = 1
	}
	j := &job{fn: fn, n: n, chunks: chunks, work: work}
	p.jobs = append(p.jobs, j)
	return j
}

// runJob runs j across the pool and returns when all its chunks are done.
func (p *pool) runJob(j *job) {
	if j.n <= 0 {
		return
	}
	if len(p.workers) == 0 || j.chunks <= 1 {
		j.fn(0, j.n)
		return
	}
	gen := (p.state.Load()>>32 + 1) & closedIdx // wraps after 2^32 runs
	p.done.Store(0)
	p.cur.Store(j)
	p.state.Store(gen << 32)
	for _, w := range p.workers {
		if w.asleep.Load() && w.asleep.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	p.claim(gen)
	for spins := 0; p.done.Load() != int64(j.chunks); spins++ {
		// Only chunks other threads hold are left: at most one each.
		if spins > 64 {
			runtime.Gosched() // a worker may be waiting for this P
			spins = 0
		}
	}
	p.state.Store(gen<<32 | closedIdx)
}

// claim runs chunks of generation gen until none is left.
func (p *pool) claim(gen uint64) {
	for {
		s := p.state.Load()
		if s>>32 != gen {
			return
		}
		// Compare in uint64: closedIdx is -1 as a 32-bit int (arm).
		i := s & closedIdx
		j := p.cur.Load()
		if i >= uint64(j.chunks) {
			return
		}
		if !p.state.CompareAndSwap(s, s+1) {
			continue
		}
		j.fn(j.bounds(int(i)))
		p.done.Add(1)
	}
}

// work is a worker goroutine: it joins every run after generation seen
// until the pool closes.
func (p *pool) work(w *worker, seen uint64) {
	defer p.wg.Done()
	for !p.quit.Load() {
		gen := p.wait(w, seen)
		if gen == seen {
			continue
		}
		seen = gen
		p.claim(gen)
	}
}

// wait returns the generation once it differs from seen (or the pool is
// closing): spinning for poolSpin, then parked.
func (p *pool) wait(w *worker, seen uint64) uint64 {
	t0 := time.Now()
	for spins := 0; ; spins++ {
		if g := p.state.Load() >> 32; g != seen || p.quit.Load() {
			return g
		}
		if spins&255 == 255 && time.Since(t0) > poolSpin {
			break
		}
	}
	w.asleep.Store(true)
	if g := p.state.Load() >> 32; g != seen || p.quit.Load() {
		if w.asleep.CompareAndSwap(true, false) {
			return g
		}
		// A run (or close) has claimed the wake-up: take its token.
	}
	<-w.wake
	return p.state.Load() >> 32
}

// close stops the workers and waits for them to exit.
func (p *pool) close() {
	if p.quit.Swap(true) {
		return
	}
	for _, w := range p.workers {
		if w.asleep.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	p.wg.Wait()
}
