package native

import "sync"

// pool is a persistent set of worker goroutines that heavy ops split their
// work over. With one thread it runs everything on the calling goroutine.
// It allocates nothing per run.
type pool struct {
	threads int
	jobs    chan job
	wg      sync.WaitGroup // parts of the current run
	workers sync.WaitGroup // live worker goroutines
}

type job struct {
	fn     func(lo, hi int)
	lo, hi int
}

// newPool starts threads-1 workers (the caller is the last thread).
func newPool(threads int) *pool {
	if threads < 1 {
		threads = 1
	}
	p := &pool{threads: threads}
	if threads > 1 {
		p.jobs = make(chan job, threads)
		p.workers.Add(threads - 1)
		for i := 0; i < threads-1; i++ {
			go p.work()
		}
	}
	return p
}

func (p *pool) work() {
	defer p.workers.Done()
	for j := range p.jobs {
		j.fn(j.lo, j.hi)
		p.wg.Done()
	}
}

// run splits [0,n) into up to threads contiguous parts, runs fn on each and
// waits for all. fn must be safe to run concurrently on disjoint ranges.
func (p *pool) run(n int, fn func(lo, hi int)) {
	parts := min(p.threads, n)
	if parts <= 1 || p.jobs == nil {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	p.wg.Add(parts - 1)
	for i := 1; i < parts; i++ {
		p.jobs <- job{fn: fn, lo: n * i / parts, hi: n * (i + 1) / parts}
	}
	fn(0, n/parts)
	p.wg.Wait()
}

// close stops the workers and waits for them to exit.
func (p *pool) close() {
	if p.jobs != nil {
		close(p.jobs)
		p.workers.Wait()
		p.jobs = nil
	}
}
