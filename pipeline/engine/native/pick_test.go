package native

import (
	"testing"
	"time"
)

// TestThreadPicker feeds the picker Invoke times of an idle machine (all
// threads faster), then of a busy one (alone faster), then idle again, and
// checks which way it runs: the faster but for one probe in pickProbe,
// switching within two probes of the machine changing.
func TestThreadPicker(t *testing.T) {
	var p threadPicker
	phase := func(all, alone time.Duration, invokes int) (soloRuns int) {
		for range invokes {
			d := all
			if p.mode == 1 {
				d, soloRuns = alone, soloRuns+1
			}
			p.record(d)
		}
		return soloRuns
	}
	if n := phase(3*time.Millisecond, 5*time.Millisecond, 10*pickProbe); n != 9 {
		t.Errorf("idle: %d of %d Invokes ran alone, want 9 (the probes)", n, 10*pickProbe)
	}
	if n := phase(6*time.Millisecond, 4300*time.Microsecond, 10*pickProbe); n < 10*pickProbe-pickProbe-10 {
		t.Errorf("busy: %d of %d Invokes ran alone, want all but a probe in %d after the first probe", n, 10*pickProbe, pickProbe)
	}
	if n := phase(3*time.Millisecond, 5*time.Millisecond, 10*pickProbe); n > 2*pickProbe+10 {
		t.Errorf("idle again: %d of %d Invokes ran alone, want at most two probe periods and the probes", n, 10*pickProbe)
	}
	// Noise: alone at most 5 % faster never wins.
	var q threadPicker
	p = q
	if n := phase(4000*time.Microsecond, 3850*time.Microsecond, 10*pickProbe); n != 9 {
		t.Errorf("within the margin: %d Invokes ran alone, want 9 (the probes)", n)
	}
}
