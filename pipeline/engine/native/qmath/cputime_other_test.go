//go:build !unix

package qmath

import "time"

func cpuTime() time.Duration { return 0 }
