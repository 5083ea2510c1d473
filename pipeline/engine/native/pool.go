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
// A run splits [0,n) into chunks, dealt out as one contiguous segment per
// thread: thread t (the caller is thread 0) claims the chunks of its own
// segment first, front to back, then helps with the others'. Because every
// op deals its range the same way, a thread mostly reads what it wrote in
// the op before (the same rows of the feature map, or the same channels)
// and writes lines its own cache already holds: on a machine where a cache
// line moving between cores costs ~250 ns, this is most of what a second
// thread can gain. A thread claims half of what is left of its own segment
// at a time (the chunks of one claim are one call of the task, so an op
// with setup per call pays it a few times per run, not per chunk), and
// helpers take one chunk at a time: when one thread runs slower (the OS or
// the hypervisor gives its CPU to other work), the others take the rest
// of its segment in small pieces, and the op waits at most one small chunk
// for it.
//
// Between runs a worker spins for poolSpin, then parks until the next run
// wakes it; within one Invoke the ops follow each other closely, so the
// workers rarely park.
//
// Each segment's claim word holds the run's generation and the next chunk
// to claim (gen<<32 | chunk index). A worker reads the run's generation,
// then a segment's word, then the current task, and claims by
// compare-and-swap on the word it read. At the end of a run every segment
// is closed (its index set to closedIdx) before the task may change, so a
// successful claim always pairs a chunk with its own task.
//
// Every segment sits on cache lines of its own, apart from the fields that
// are only read.
type pool struct {
	threads int
	quit    atomic.Bool
	workers []*worker
	jobs    []*job         // every job newJob made, in order (for the op profile)
	wg      sync.WaitGroup // live worker goroutines
	_       [64]byte
	gen     atomic.Uint64       // the current run's generation
	cur     atomic.Pointer[job] // the task of the current generation
	_       [64]byte
	segs    []segment // one per thread
	epoch   time.Time // spinUntil counts from here (monotonic)
	// solo makes every run go on the caller alone (set by the caller
	// between runs; see threadPicker).
	solo bool
	// spinUntil is how long after epoch idle workers keep spinning
	// rather than park (set by prewake).
	spinUntil atomic.Int64
	// prewakeSpin is how long prewake keeps woken workers spinning
	// (defaultPrewakeSpin; tests that must observe a woken worker make it
	// longer than any scheduling delay).
	prewakeSpin time.Duration
}

// segment is one thread's share of a run's chunks.
type segment struct {
	state atomic.Uint64 // gen<<32 | index of the next chunk to claim
	done  atomic.Int64  // chunks of this segment finished in the current generation
	_     [112]byte
}

// job is one parallel loop, immutable while any run of it may be claimed:
// fn over [0,n) in chunks chunks.
type job struct {
	fn     func(lo, hi, thread int)
	n      int
	chunks int
	work   int // the op's work as newJob was told it
}

// bounds is the range of chunk i.
func (j *job) bounds(i int) (lo, hi int) { return j.n * i / j.chunks, j.n * (i + 1) / j.chunks }

// segEnd is the chunk past the last of segment s of j on a pool of
// threads threads (segment s starts at segEnd(s-1)).
func (j *job) segEnd(s, threads int) uint64 { return uint64(j.chunks * (s + 1) / threads) }

// worker is the parking state of one worker goroutine.
type worker struct {
	asleep atomic.Bool
	wake   chan struct{} // buffered 1
}

// closedIdx marks a segment no chunk can be claimed from (between runs).
const closedIdx = 1<<32 - 1

// poolSpin is how long an idle worker polls for the next run before it
// parks: longer than the gap between two ops of one Invoke, much shorter
// than the gap between two frames.
const poolSpin = 200 * time.Microsecond

// defaultPrewakeSpin is how long workers woken by prewake spin waiting
// for the run it announces: longer than preparing a frame's input takes.
const defaultPrewakeSpin = 5 * time.Millisecond

// chunksPerThread is how many chunks a run is split into per thread: the
// grain of the balance at the end of a run, when one thread is slower.
// Claims of half a segment keep the cost per run low (see claim).
// Measured (MobileNetV2, two threads, Invokes interleaved in one process,
// while the host slowed one vCPU): 4 chunks, one per claim: float32 2776 µs,
// uint8 2596 µs; 16 in halving claims: 2690 and 2490 µs; on a quiet host
// the same within 1 %.
const chunksPerThread = 16

// itemsPerThread is how many items per thread ops with a cost per item
// cut their work into (depthwise channel blocks, which each make a pass
// over their rows, and the row chunks of a GEMM cut by columns).
const itemsPerThread = 4

// newPool starts threads-1 workers (the caller is thread 0).
func newPool(threads int) *pool {
	p := &pool{threads: max(threads, 1), epoch: time.Now(), prewakeSpin: defaultPrewakeSpin}
	p.segs = make([]segment, p.threads)
	for s := range p.segs {
		p.segs[s].state.Store(closedIdx)
	}
	for t := range p.threads - 1 {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		go p.work(w, t+1)
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
	return p.newThreadJob(n, work, func(lo, hi, _ int) { fn(lo, hi) })
}

// newThreadJob is newJob for a fn that is told which thread runs it
// (0 ≤ thread < p.threads; no two calls run at once with the same
// thread), for per-thread scratch space.
func (p *pool) newThreadJob(n, work int, fn func(lo, hi, thread int)) *job {
	chunks := min(n, p.threads*chunksPerThread)
	if work < poolMinWork {
		chunks = 1
	}
	j := &job{fn: fn, n: n, chunks: chunks, work: work}
	p.jobs = append(p.jobs, j)
	return j
}

// prewake wakes parked workers and keeps them spinning until the next
// run (for up to p.prewakeSpin): a worker parked between frames takes
// ~0.2 ms to run again (the OS, and on a VM the hypervisor, must wake its
// CPU), which the first op of an Invoke would otherwise wait for. Call it when a run is
// about to come, before work of the caller's own (preparing the input).
func (p *pool) prewake() {
	if len(p.workers) == 0 || p.quit.Load() || p.solo {
		return
	}
	p.spinUntil.Store(int64(time.Since(p.epoch) + p.prewakeSpin))
	p.wakeParked()
}

// runJob runs j across the pool and returns when all its chunks are done.
func (p *pool) runJob(j *job) {
	if j.n <= 0 {
		return
	}
	if len(p.workers) == 0 || j.chunks <= 1 || p.solo {
		j.fn(0, j.n, 0)
		return
	}
	if p.spinUntil.Load() != 0 {
		p.spinUntil.Store(0) // the run prewake announced has come
	}
	gen := p.open(j)
	p.wakeParked()
	p.claim(gen, 0)
	for spins := 0; p.finished() != int64(j.chunks); spins++ {
		// Only chunks other threads hold are left: at most one each.
		if spins > 64 {
			runtime.Gosched() // a worker may be waiting for this P
			spins = 0
		}
	}
	for s := range p.segs {
		p.segs[s].state.Store(gen<<32 | closedIdx)
	}
}

// open starts a run of j: it deals the segments and announces the run's
// generation, which it returns.
func (p *pool) open(j *job) uint64 {
	gen := (p.gen.Load() + 1) & closedIdx // wraps after 2^32 runs
	p.cur.Store(j)
	start := uint64(0)
	for s := range p.segs {
		p.segs[s].done.Store(0)
		p.segs[s].state.Store(gen<<32 | start)
		start = j.segEnd(s, p.threads)
	}
	p.gen.Store(gen)
	return gen
}

// finished is the number of chunks done in the current run.
func (p *pool) finished() int64 {
	var n int64
	for s := range p.segs {
		n += p.segs[s].done.Load()
	}
	return n
}

// claim runs chunks of generation gen as thread t until none is left: its
// own segment's first, half of what is left at a time, then the other
// segments' in turn, one at a time.
func (p *pool) claim(gen uint64, t int) {
	for k := range p.threads {
		s := (t + k) % p.threads
		seg := &p.segs[s]
		for {
			w := seg.state.Load()
			if w>>32 != gen {
				return // the run is over
			}
			// Compare in uint64: closedIdx is -1 as a 32-bit int (arm).
			i := w & closedIdx
			j := p.cur.Load()
			end := j.segEnd(s, p.threads)
			if i >= end {
				break // this segment is taken: help the next
			}
			k := uint64(1) // a helper's share
			if s == t {
				k = max(1, (end-i)/2) // half of what is left of its own
			}
			if !seg.state.CompareAndSwap(w, w+k) {
				continue
			}
			lo, _ := j.bounds(int(i))
			_, hi := j.bounds(int(i + k - 1))
			j.fn(lo, hi, t)
			seg.done.Add(int64(k))
		}
	}
}

// work is worker goroutine number t: it joins every run after generation
// seen until the pool closes.
func (p *pool) work(w *worker, t int) {
	defer p.wg.Done()
	var seen uint64
	for !p.quit.Load() {
		gen := p.wait(w, seen)
		if gen == seen {
			continue
		}
		seen = gen
		p.claim(gen, t)
	}
}

// wait returns the generation once it differs from seen (or the pool is
// closing): spinning for poolSpin (or until the spin prewake asked for
// ends, whichever is later), then parked.
func (p *pool) wait(w *worker, seen uint64) uint64 {
	t0 := time.Now()
	for spins := 0; ; spins++ {
		if g := p.gen.Load(); g != seen || p.quit.Load() {
			return g
		}
		if spins&255 == 255 && time.Since(t0) > poolSpin && time.Since(p.epoch) > time.Duration(p.spinUntil.Load()) {
			break
		}
	}
	w.asleep.Store(true)
	if g := p.gen.Load(); g != seen || p.quit.Load() {
		if w.asleep.CompareAndSwap(true, false) {
			return g
		}
		// A run (or close) has claimed the wake-up: take its token.
	}
	<-w.wake
	return p.gen.Load()
}

// close stops the workers and waits for them to exit.
func (p *pool) close() {
	if p.quit.Swap(true) {
		return
	}
	p.wakeParked()
	p.wg.Wait()
}

// wakeParked hands every parked worker its wake-up token (a worker that
// is still spinning needs none).
func (p *pool) wakeParked() {
	for _, w := range p.workers {
		if w.asleep.Load() && w.asleep.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
}
