package native

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolCoversEveryIndexOnce runs jobs of many sizes on pools of one to
// four threads and checks that each index ran exactly once per run, also
// after the workers have parked (a pause longer than poolSpin).
func TestPoolCoversEveryIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("threads%d", threads), func(t *testing.T) {
			p := newPool(threads)
			defer p.close()
			for _, n := range []int{0, 1, 2, 3, 7, 64, 1000} {
				hits := make([]atomic.Int32, n)
				j := p.newJob(n, poolMinWork, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for run := 1; run <= 50; run++ {
					if run == 25 {
						time.Sleep(3 * poolSpin) // let the workers park; the next run must wake them
					}
					p.runJob(j)
					for i := range hits {
						if got := hits[i].Load(); got != int32(run) {
							t.Fatalf("n=%d run %d: index %d ran %d times", n, run, i, got)
						}
					}
				}
			}
		})
	}
}

// TestPoolSharesWork checks that the workers take part: with a chunk that
// waits until another thread has run a chunk, a run can only finish if at
// least two threads claimed work.
func TestPoolSharesWork(t *testing.T) {
	p := newPool(2)
	defer p.close()
	var ran atomic.Int32
	j := p.newJob(2, poolMinWork, func(lo, hi int) {
		ran.Add(1)
		for ran.Load() < 2 {
			// the other chunk must be running on the other thread
		}
	})
	p.runJob(j)
	if ran.Load() != 2 {
		t.Fatalf("%d chunks ran, want 2", ran.Load())
	}
}

func TestPoolRunAllocatesNothing(t *testing.T) {
	p := newPool(2)
	defer p.close()
	sum := make([]int, 100)
	j := p.newJob(len(sum), poolMinWork, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			sum[i]++
		}
	})
	if n := testing.AllocsPerRun(100, func() { p.runJob(j) }); n != 0 {
		t.Errorf("%v allocs per run, want 0", n)
	}
}

func TestPoolCloseTwice(t *testing.T) {
	p := newPool(3)
	p.close()
	p.close()
}

func BenchmarkPoolRun(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads%d", threads), func(b *testing.B) {
			p := newPool(threads)
			defer p.close()
			var sink [64]int64
			j := p.newJob(64, poolMinWork, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					sink[i]++
				}
			})
			for b.Loop() {
				p.runJob(j)
			}
		})
	}
}

// TestPoolClosedGeneration checks that a worker arriving after a run has
// finished claims nothing (the closed index must not wrap to a chunk on
// 32-bit platforms).
func TestPoolClosedGeneration(t *testing.T) {
	p := newPool(2)
	defer p.close()
	var ran atomic.Int32
	j := p.newJob(8, poolMinWork, func(lo, hi int) { ran.Add(int32(hi - lo)) })
	p.runJob(j)
	if ran.Load() != 8 {
		t.Fatalf("run covered %d of 8", ran.Load())
	}
	p.claim(p.gen.Load(), 1) // as a late worker would
	if ran.Load() != 8 {
		t.Fatalf("a claim after the run ran %d more", ran.Load()-8)
	}
}

// TestPoolSmallJobInline checks that a job under poolMinWork runs whole
// on the calling goroutine, in one call.
func TestPoolSmallJobInline(t *testing.T) {
	p := newPool(2)
	defer p.close()
	calls := 0
	j := p.newJob(64, poolMinWork-1, func(lo, hi int) {
		calls++ // no atomics: only the caller may run it
		if lo != 0 || hi != 64 {
			t.Errorf("chunk [%d,%d), want [0,64)", lo, hi)
		}
	})
	p.runJob(j)
	if calls != 1 {
		t.Fatalf("%d calls, want 1", calls)
	}
}

// TestPoolPrewake checks that prewake wakes a parked worker (it is
// awake before any run announces work) and that the run after it still
// covers every index once; on one thread and after close it does nothing.
// The woken worker spins for an hour here rather than defaultPrewakeSpin:
// on a loaded machine (or under qemu-user) the test goroutine can be held
// up longer than 5 ms between prewake and the check, and a worker that
// parked again in between would fail it.
func TestPoolPrewake(t *testing.T) {
	p := newPool(2)
	p.prewakeSpin = time.Hour // the run below ends the spin
	w := p.workers[0]
	for !w.asleep.Load() {
		runtime.Gosched() // the worker parks after poolSpin
	}
	p.prewake()
	if w.asleep.Load() {
		t.Fatal("worker still parked after prewake")
	}
	hits := make([]atomic.Int32, 64)
	j := p.newJob(len(hits), poolMinWork, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			hits[i].Add(1)
		}
	})
	p.runJob(j)
	for i := range hits {
		if got := hits[i].Load(); got != 1 {
			t.Fatalf("index %d ran %d times", i, got)
		}
	}
	p.close()
	p.prewake() // closed: must not block on a worker that is gone
	one := newPool(1)
	defer one.close()
	one.prewake()
}

// TestPoolClaims checks how a thread claims a run's chunks: its own
// segment half of what is left at a time (one call per claim), then the
// other segments one chunk at a time. The pool has no workers, so thread
// 0 claims every chunk itself, in a fixed order.
func TestPoolClaims(t *testing.T) {
	p := &pool{threads: 2, segs: make([]segment, 2)}
	n := 2 * chunksPerThread
	var calls [][2]int
	j := p.newThreadJob(n, poolMinWork, func(lo, hi, thread int) {
		if thread != 0 {
			t.Errorf("thread %d ran a chunk", thread)
		}
		calls = append(calls, [2]int{lo, hi})
	})
	if j.chunks != n {
		t.Fatalf("%d chunks, want %d", j.chunks, n)
	}
	p.claim(p.open(j), 0)
	var want [][2]int
	for lo := 0; lo < n/2; {
		k := max(1, (n/2-lo)/2)
		want = append(want, [2]int{lo, lo + k})
		lo += k
	}
	for lo := n / 2; lo < n; lo++ {
		want = append(want, [2]int{lo, lo + 1})
	}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	if got := p.finished(); got != int64(n) {
		t.Errorf("%d chunks counted done, want %d", got, n)
	}
}
