package native

import "time"

// threadPicker chooses, Invoke by Invoke, between running the ops on all
// the pool's threads and on the calling goroutine alone. On a machine
// busy with other work the workers compete with it for the cores (a
// worker the OS takes off its CPU holds up every op it has a chunk of),
// and two threads can be slower than one; the picker keeps a smoothed
// Invoke time for each way, runs the faster, and tries the other every
// pickProbe Invokes to see whether the machine has changed.
type threadPicker struct {
	n    int              // Invokes so far
	est  [2]time.Duration // smoothed Invoke time: all threads, caller alone (0: not measured yet)
	mode int              // the way the next Invoke runs (0 all threads, 1 alone)
}

const (
	// pickProbe is how often (in Invokes) the way not in use is tried: on
	// an idle machine a probe alone costs ~0.7 Invoke times more, ~1 %
	// over pickProbe Invokes.
	pickProbe = 64
	// pickMargin: running alone is picked only when it is this much
	// faster (1/20 = 5 %), so that noise does not flip the choice.
	pickMargin = 20
)

// record takes the time of the Invoke that just ran the way p.mode said
// and returns whether the next Invoke runs alone.
func (p *threadPicker) record(d time.Duration) (solo bool) {
	e := &p.est[p.mode]
	switch {
	case *e == 0:
		*e = d
	case p.mode == p.best():
		*e += (d - *e) / 4
	default: // a probe: one sample, weighed more
		*e += (d - *e) / 2
	}
	p.n++
	p.mode = p.best()
	if p.n%pickProbe == 0 {
		p.mode = 1 - p.mode
	}
	return p.mode == 1
}

// best is the faster way as measured so far: all threads until running
// alone has been measured at least pickMargin faster.
func (p *threadPicker) best() int {
	if p.est[1] > 0 && p.est[1]*pickMargin < p.est[0]*(pickMargin-1) {
		return 1
	}
	return 0
}
