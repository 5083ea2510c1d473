//go:build xnnpack && cgo && !linux

package xnnpack

import "time"

// processCPU is not measured outside Linux.
func processCPU() time.Duration { return 0 }
