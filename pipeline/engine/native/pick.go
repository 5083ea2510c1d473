package native

import (
	"slices"
	"time"
)

// threadPicker chooses, Invoke by Invoke, between running the ops on all
// the pool's threads and on the calling goroutine alone. On a machine
// busy with other work the workers compete with it for the cores (a
// worker the OS takes off its CPU holds up every op it has a chunk of),
// and two threads can be slower than one; the picker keeps the last
// pickKeep Invoke times of each way, runs the one with the lower median,
// and tries the other every pickProbe Invokes to see whether the machine
// has changed. Medians, not means: under load the times have a long tail
// that says little about the typical Invoke.
type threadPicker struct {
	n    int                        // Invokes so far
	last [2][pickKeep]time.Duration // recent Invoke times: all threads, caller alone (ring)
	seen [2]int                     // Invokes recorded per way
	cur  int                        // the way in use (0 all threads, 1 alone)
	mode int                        // the way the next Invoke runs
	// confirm is how many more Invokes run the way a probe found faster,
	// so that its median is made of fresh times before it is compared.
	confirm int
}

const (
	// pickProbe is how often (in Invokes) the way not in use is tried: on
	// an idle machine a probe alone costs ~0.7 Invoke times more, ~1 %
	// over pickProbe Invokes.
	pickProbe = 64
	// pickKeep is how many recent times per way the medians are taken of.
	pickKeep = 7
	// pickMargin: running alone is picked only when it is this much
	// faster (1/20 = 5 %), so that noise does not flip the choice.
	pickMargin = 20
)

// record takes the time of the Invoke that just ran the way p.mode said
// and returns whether the next Invoke runs alone.
func (p *threadPicker) record(d time.Duration) (solo bool) {
	m := p.mode
	p.last[m][p.seen[m]%pickKeep] = d
	p.seen[m]++
	p.n++
	switch {
	case p.confirm > 0:
		if p.confirm--; p.confirm > 0 {
			return m == 1
		}
	case m != p.cur && d*pickMargin < p.median(p.cur)*(pickMargin-1):
		// A probe beat the way in use: run it a few more times, so that
		// its older times (from before the machine changed) are outvoted.
		p.confirm = pickKeep / 2
		return m == 1
	}
	p.cur = p.best()
	p.mode = p.cur
	if p.n%pickProbe == 0 {
		p.mode = 1 - p.cur
	}
	return p.mode == 1
}

// best is the faster way as measured so far: all threads until running
// alone has been measured at least pickMargin faster.
func (p *threadPicker) best() int {
	all, alone := p.median(0), p.median(1)
	if alone > 0 && alone*pickMargin < all*(pickMargin-1) {
		return 1
	}
	return 0
}

// median is the median of way m's recent times (0 before any).
func (p *threadPicker) median(m int) time.Duration {
	n := min(p.seen[m], pickKeep)
	if n == 0 {
		return 0
	}
	var s [pickKeep]time.Duration
	copy(s[:], p.last[m][:n])
	slices.Sort(s[:n])
	return s[n/2]
}
