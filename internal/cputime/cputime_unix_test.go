//go:build unix

package cputime_test

import (
	"testing"
	"time"

	"github.com/alphad/alphad/internal/cputime"
)

// TestProcessGrows checks that spinning makes the CPU time grow and that
// it never goes backwards.
func TestProcessGrows(t *testing.T) {
	t0 := cputime.Process()
	if t0 <= 0 {
		t.Fatalf("Process = %v, want > 0", t0)
	}
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for cputime.Process() <= t0 {
		if time.Now().After(deadline) {
			t.Fatalf("Process stayed at %v for 5 s of spinning", t0)
		}
		for i := range 100_000 {
			x += i
		}
	}
	if t1 := cputime.Process(); t1 < t0 {
		t.Fatalf("Process went back from %v to %v (x=%d)", t0, t1, x)
	}
}
