package panel

import "time"

// Clock is the time source of the panel: debounce, gesture and LED timers
// all run on it, so tests drive them with a fake clock (paneltest.Clock)
// instead of sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for a fake clock, in the
	// goroutine that advances time) once d has passed. stop cancels the call
	// and reports whether it did so before f started.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// WallClock is the real time source, the default when Options.Clock is nil.
func WallClock() Clock { return realClock{} }
