package device

import "time"

// Clock is a time source for timeouts and backoff, so that tests drive
// them with a fake clock (devicetest.Clock) instead of sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for a fake clock, in the
	// goroutine that advances time) once d has passed. stop cancels the
	// call and reports whether it did so before f started.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// WallClock is the real time source.
func WallClock() Clock { return wallClock{} }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
