//go:build xnnpack && cgo && linux

package xnnpack

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the test process has used. Benchmarks report
// it per op beside wall time because the shared build machines are busy:
// CPU time does not count the time the scheduler gave to others.
func processCPU() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
