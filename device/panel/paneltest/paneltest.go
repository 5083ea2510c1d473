// Package paneltest provides fakes for testing code that uses device/panel:
// a manual clock, a button pin whose edges a test injects synchronously, and
// an output pin that records its levels with the time they were set.
package paneltest

import (
	"sort"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// Epoch is the time a new Clock starts at.
func Epoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// Clock is a fake panel.Clock: time moves only by Advance, and due
// callbacks run in the goroutine that calls Advance, in deadline order.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*timer
}

type timer struct {
	at  time.Time
	seq int
	f   func()
}

// NewClock returns a clock at Epoch().
func NewClock() *Clock { return &Clock{now: Epoch()} }

// Now implements panel.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Since is the time elapsed since Epoch().
func (c *Clock) Since() time.Duration { return c.Now().Sub(Epoch()) }

// AfterFunc implements panel.Clock.
func (c *Clock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.timers {
			if x == t {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				return true
			}
		}
		return false
	}
}

// Advance moves time forward by d, running every callback that falls due
// on the way with the clock set to its deadline.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	c.AdvanceTo(end)
}

// AdvanceTo moves time forward to t (never backwards).
func (c *Clock) AdvanceTo(t time.Time) {
	for {
		c.mu.Lock()
		sort.Slice(c.timers, func(i, j int) bool {
			if !c.timers[i].at.Equal(c.timers[j].at) {
				return c.timers[i].at.Before(c.timers[j].at)
			}
			return c.timers[i].seq < c.timers[j].seq
		})
		if len(c.timers) == 0 || c.timers[0].at.After(t) {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		next := c.timers[0]
		c.timers = c.timers[1:]
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
	}
}

// Pending is the number of callbacks waiting.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Pin is a button input: periph's gpiotest.Pin whose WaitForEdge also
// reports when the reader is back waiting, so Edge can return only after the
// panel has handled the edge. Create it with NewPin.
type Pin struct {
	gpiotest.Pin

	mu   sync.Mutex
	cond *sync.Cond
	sent int  // edges sent by Edge
	recv int  // edges received by WaitForEdge
	done int  // edges handled: recv at the last entry into WaitForEdge
	wait bool // a reader has called WaitForEdge
}

// NewPin returns an input named name (GPIO17) at number n.
func NewPin(name string, n int) *Pin {
	p := &Pin{Pin: gpiotest.Pin{N: name, Num: n, EdgesChan: make(chan gpio.Level)}}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// WaitForEdge implements gpio.PinIn.
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	p.mu.Lock()
	p.done, p.wait = p.recv, true
	p.cond.Broadcast()
	p.mu.Unlock()
	if !p.Pin.WaitForEdge(timeout) {
		return false
	}
	p.mu.Lock()
	p.recv++
	p.mu.Unlock()
	return true
}

// Edge sets the line to l as an edge the reader sees, and returns once the
// reader has handled it and waits again. It first waits for a reader to call
// WaitForEdge (so In, which flushes edges, is done); it blocks for ever if
// none does.
func (p *Pin) Edge(l gpio.Level) {
	p.mu.Lock()
	for !p.wait {
		p.cond.Wait()
	}
	p.mu.Unlock()
	p.EdgesChan <- l
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent++
	for p.done < p.sent {
		p.cond.Wait()
	}
}

// Level is the line's current level.
func (p *Pin) Level() gpio.Level { return p.Pin.Read() }

// Change is one level written to a Recorder.
type Change struct {
	At    time.Duration // since Epoch()
	Level gpio.Level
}

// Recorder is an output pin that records every level written with the clock's
// time. Create it with NewRecorder.
type Recorder struct {
	gpiotest.Pin
	Clock *Clock

	mu      sync.Mutex
	changes []Change
}

// NewRecorder returns an output named name recording with clock.
func NewRecorder(name string, n int, clock *Clock) *Recorder {
	return &Recorder{Pin: gpiotest.Pin{N: name, Num: n}, Clock: clock}
}

// Out implements gpio.PinOut.
func (o *Recorder) Out(l gpio.Level) error {
	o.mu.Lock()
	o.changes = append(o.changes, Change{At: o.Clock.Since(), Level: l})
	o.mu.Unlock()
	return o.Pin.Out(l)
}

// Changes returns the recorded levels and forgets them.
func (o *Recorder) Changes() []Change {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.changes
	o.changes = nil
	return c
}
