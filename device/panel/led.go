package panel

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Pattern is what the status LED shows; the daemon sets it from its state.
type Pattern int

// LED patterns. Idle, Recording and Training are steady (they repeat until
// the next Set); Success and Error are one-shots that play once and then
// return to the steady pattern.
const (
	Off       Pattern = iota // dark
	Idle                     // heartbeat (two 100 ms beats every 2 s), or dark with idle: off
	Recording                // slow blink: 500 ms on, 500 ms off
	Training                 // fast blink: 100 ms on, 100 ms off
	Success                  // one-shot: 200 ms dark, one 1 s pulse, 300 ms dark
	Error                    // one-shot: three 150 ms blinks 150 ms apart, 500 ms dark
)

func (p Pattern) String() string {
	switch p {
	case Off:
		return "off"
	case Idle:
		return "idle"
	case Recording:
		return "recording"
	case Training:
		return "training"
	case Success:
		return "success"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Pattern(%d)", int(p))
}

func (p Pattern) oneShot() bool { return p == Success || p == Error }

// step is one segment of a pattern: the LED on or off for d.
type step struct {
	on bool
	d  time.Duration
}

const ms = time.Millisecond

// steps is the pattern table. An empty table is a steady off; steady
// patterns loop, one-shots end. One-shots start dark so their pulses stand
// out from whatever was showing.
func (l *LED) steps(p Pattern) []step {
	switch p {
	case Idle:
		if l.idleOff {
			return nil
		}
		return []step{{true, 100 * ms}, {false, 150 * ms}, {true, 100 * ms}, {false, 1650 * ms}}
	case Recording:
		return []step{{true, 500 * ms}, {false, 500 * ms}}
	case Training:
		return []step{{true, 100 * ms}, {false, 100 * ms}}
	case Success:
		return []step{{false, 200 * ms}, {true, 1000 * ms}, {false, 300 * ms}}
	case Error:
		return []step{{false, 150 * ms}, {true, 150 * ms}, {false, 150 * ms}, {true, 150 * ms}, {false, 150 * ms}, {true, 150 * ms}, {false, 500 * ms}}
	}
	return nil
}

// LED plays Patterns on a gpio.PinOut with timers on a Clock; it starts no
// goroutine of its own. Its methods are safe for concurrent use.
type LED struct {
	pin     gpio.PinOut
	onLevel gpio.Level
	idleOff bool
	clock   Clock
	log     *slog.Logger

	mu     sync.Mutex
	steady Pattern // what to return to after a one-shot
	cur    Pattern // what is playing
	step   int
	gen    int
	stop   func() bool
	level  gpio.Level
	known  bool // level was written
	failed bool // an Out error was logged
}

// NewLED drives pin off and returns an LED showing Off. A nil clock is the
// wall clock, a nil log discards.
func NewLED(pin gpio.PinOut, cfg LEDConfig, clock Clock, log *slog.Logger) (*LED, error) {
	if clock == nil {
		clock = realClock{}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &LED{pin: pin, onLevel: !gpio.Level(cfg.ActiveLow), idleOff: cfg.idle() == IdleOff, clock: clock, log: log}
	if err := l.Halt(); err != nil {
		return nil, err
	}
	return l, nil
}

// Set shows p. A one-shot (Success, Error) starts at once and then returns
// to the steady pattern; a steady pattern set during a one-shot waits for it
// to end. Setting the steady pattern that is already playing keeps its
// phase.
func (l *LED) Set(p Pattern) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p.oneShot() {
		l.play(p)
		return
	}
	l.steady = p
	if l.cur.oneShot() || l.cur == p {
		return
	}
	l.play(p)
}

// Pattern reports what the LED is showing now.
func (l *LED) Pattern() Pattern {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// Halt stops any pattern and turns the LED off. A later Set starts again.
func (l *LED) Halt() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cancel()
	l.steady, l.cur = Off, Off
	l.known = false
	return l.write(false)
}

func (l *LED) cancel() {
	l.gen++
	if l.stop != nil {
		l.stop()
		l.stop = nil
	}
}

// play starts p from its first step. Called with mu held.
func (l *LED) play(p Pattern) {
	l.cancel()
	l.cur, l.step = p, 0
	l.apply()
}

// apply writes the current step and schedules the next.
func (l *LED) apply() {
	steps := l.steps(l.cur)
	if len(steps) == 0 {
		l.logErr(l.write(false))
		return
	}
	s := steps[l.step]
	l.logErr(l.write(s.on))
	gen := l.gen
	l.stop = l.clock.AfterFunc(s.d, func() { l.next(gen) })
}

func (l *LED) next(gen int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.gen {
		return
	}
	l.stop = nil
	l.step++
	if l.step < len(l.steps(l.cur)) {
		l.apply()
		return
	}
	if l.cur.oneShot() {
		l.cur = l.steady
	}
	l.step = 0
	l.apply()
}

func (l *LED) write(on bool) error {
	lvl := l.onLevel
	if !on {
		lvl = !lvl
	}
	if l.known && lvl == l.level {
		return nil
	}
	if err := l.pin.Out(lvl); err != nil {
		return fmt.Errorf("panel: led %s: out %v: %w", l.pin.Name(), lvl, err)
	}
	l.level, l.known = lvl, true
	return nil
}

func (l *LED) logErr(err error) {
	if err != nil && !l.failed {
		l.failed = true
		l.log.Error("panel: led write failed; further failures are not logged", "err", err)
	}
}
