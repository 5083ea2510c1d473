//go:build !linux

package native

import "time"

func processCPU() time.Duration { return 0 }
