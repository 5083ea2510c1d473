//go:build !linux

package main

import "time"

// crossCoreRoundTrip needs thread pinning (Linux): elsewhere it reports
// nothing.
func crossCoreRoundTrip() (time.Duration, bool) { return 0, false }
