package main

import (
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// crossCoreRoundTrip times a cache line passed back and forth between two
// goroutines pinned to the first two CPUs the process may run on: what a
// worker pool pays each time one thread waits for what the other wrote.
// Two-thread speedups follow it (on a VM the host may place the two vCPUs
// near or far apart, and move them). It returns the median of seven
// rounds of 2000 round trips, and false when there are not two CPUs (or
// two Go threads) to run on or a thread cannot be pinned.
func crossCoreRoundTrip() (time.Duration, bool) {
	var allowed unix.CPUSet
	if runtime.GOMAXPROCS(0) < 2 || unix.SchedGetaffinity(0, &allowed) != nil {
		return 0, false
	}
	var cpus []int
	for c := 0; c < len(allowed)*64 && len(cpus) < 2; c++ {
		if allowed.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return 0, false
	}
	const rounds, trips = 7, 2000
	var flag atomic.Int64
	pinned := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The thread ends with this goroutine (it stays locked), so its
		// pinning goes with it.
		runtime.LockOSThread()
		ok := pin(cpus[1])
		pinned <- ok
		if !ok {
			return
		}
		for i := int64(0); i < rounds*trips; i++ {
			for v := flag.Load(); v != 2*i+1; v = flag.Load() {
				if v < 0 {
					return // the other side could not be pinned
				}
			}
			flag.Store(2*i + 2)
		}
	}()
	res := make(chan []time.Duration, 1)
	go func() {
		runtime.LockOSThread()
		if !<-pinned || !pin(cpus[0]) {
			flag.Store(-1)
			res <- nil
			return
		}
		var d []time.Duration
		for r := range int64(rounds) {
			t0 := time.Now()
			for i := r * trips; i < (r+1)*trips; i++ {
				flag.Store(2*i + 1)
				for flag.Load() != 2*i+2 {
				}
			}
			d = append(d, time.Since(t0)/trips)
		}
		res <- d
	}()
	d := <-res
	if d == nil {
		return 0, false
	}
	<-done
	slices.Sort(d)
	return d[len(d)/2], true
}

// pin binds the calling (locked) thread to cpu.
func pin(cpu int) bool {
	var s unix.CPUSet
	s.Set(cpu)
	return unix.SchedSetaffinity(0, &s) == nil
}
