//go:build unix

package qmath

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time (robust to a busy machine,
// unlike wall time).
func cpuTime() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
