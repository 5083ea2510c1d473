package panel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Gesture is what a button did.
type Gesture int

// Gestures, see the package documentation for the exact rules.
const (
	Press       Gesture = iota + 1 // short press (released before HoldAfter)
	DoublePress                    // two short presses (buttons with DoublePress only)
	HoldStart                      // pressed continuously for HoldAfter
	HoldEnd                        // released after a HoldStart
	LongPress                      // after HoldEnd, when the hold lasted LongPress or more
)

func (g Gesture) String() string {
	switch g {
	case Press:
		return "press"
	case DoublePress:
		return "double-press"
	case HoldStart:
		return "hold-start"
	case HoldEnd:
		return "hold-end"
	case LongPress:
		return "long-press"
	}
	return fmt.Sprintf("Gesture(%d)", int(g))
}

// Event is one recognised gesture.
type Event struct {
	Button  string // ButtonConfig name
	Action  Action
	Gesture Gesture
	Time    time.Time     // when the gesture was recognised (panel clock)
	Held    time.Duration // how long the button was down (for Press: that press; DoublePress: the second one)
}

// ErrClosed is returned by Run on a panel that was closed or already ran.
var ErrClosed = errors.New("panel: closed")

// eventBuffer is how many events wait for a slow reader before new ones are
// dropped (and logged): the GPIO side never blocks.
const eventBuffer = 64

// defaultWake is how often an idle edge wait returns to check for shutdown.
const defaultWake = 200 * time.Millisecond

// Options are the non-configuration dependencies of a Panel.
type Options struct {
	Log   *slog.Logger // nil: discard
	Clock Clock        // nil: the wall clock
	// Wake bounds how long Close waits for an edge watcher: WaitForEdge is
	// called with this timeout in a loop. 0: 200 ms.
	Wake time.Duration
}

// Panel turns button edges into gesture Events and shows Patterns on the
// status LED. Create it with New, run it with Run, stop it by cancelling
// Run's context or with Close.
type Panel struct {
	cfg     Config
	clock   Clock
	log     *slog.Logger
	wake    time.Duration
	buttons []*button
	led     *LED // nil without LED
	events  chan Event

	mu      sync.Mutex // guards everything below and all button state
	closed  bool
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
	err     error // from shutdown, for Close
}

type gstate int

const (
	idle       gstate = iota
	down              // first press, before HoldAfter
	holding           // after HoldStart
	waitDouble        // released a short press, DoublePress on, window open
	secondDown        // second press of a possible double press
)

type button struct {
	name   string
	action Action
	double bool
	pin    gpio.PinIn
	active gpio.Level // level that means pressed

	// debounced state
	pressed    bool
	seen       bool // the current press was seen going down (false if held at start)
	settleGen  int
	stopSettle func() bool

	// gesture state
	state     gstate
	t0        time.Time     // start of the current press
	first     time.Duration // first press of a possible double press
	timerGen  int
	stopTimer func() bool
}

// New configures the pins (inputs with their pull and both edges, the LED
// off) and returns a panel that is not running yet. pins comes from Resolve
// or, in tests, from fakes.
func New(cfg Config, pins Pins, o Options) (*Panel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(pins.Buttons) != len(cfg.Buttons) {
		return nil, fmt.Errorf("panel: %d button pins for %d buttons", len(pins.Buttons), len(cfg.Buttons))
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Wake <= 0 {
		o.Wake = defaultWake
	}
	p := &Panel{cfg: cfg, clock: o.Clock, log: o.Log, wake: o.Wake, events: make(chan Event, eventBuffer)}
	for i, bc := range cfg.Buttons {
		pin := pins.Buttons[i]
		if pin == nil {
			return nil, fmt.Errorf("panel: button %q: no pin", bc.name())
		}
		pull := map[string]gpio.Pull{PullUp: gpio.PullUp, PullDown: gpio.PullDown, PullNone: gpio.Float}[bc.pull()]
		if err := pin.In(pull, gpio.BothEdges); err != nil {
			return nil, fmt.Errorf("panel: button %q: configure %s as input: %w", bc.name(), bc.Pin, err)
		}
		action, _ := ParseAction(bc.Action) // checked by Validate
		b := &button{name: bc.name(), action: action, double: bc.DoublePress, pin: pin, active: gpio.High}
		if bc.IsActiveLow() {
			b.active = gpio.Low
		}
		b.pressed = pin.Read() == b.active
		if b.pressed {
			p.log.Warn("panel: button pressed at start; ignored until released", "button", b.name, "pin", bc.Pin)
		}
		p.buttons = append(p.buttons, b)
	}
	if pins.LED != nil {
		led, err := NewLED(pins.LED, cfg.LED, o.Clock, o.Log)
		if err != nil {
			return nil, err
		}
		p.led = led
	}
	return p, nil
}

// Events delivers gestures in order. It is closed when Run returns or the
// panel is closed. Events that find the buffer full are dropped and logged.
func (p *Panel) Events() <-chan Event { return p.events }

// Show sets the LED pattern (see LED.Set). Without an LED, or once closed,
// it does nothing.
func (p *Panel) Show(pat Pattern) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.led != nil && !p.closed {
		p.led.Set(pat)
	}
}

// Run watches the buttons until ctx ends or Close is called, then closes
// the panel (LED off, Events closed) and returns nil once every goroutine it
// started has ended. It may be called once.
func (p *Panel) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.closed || p.running {
		p.mu.Unlock()
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	p.running, p.cancel, p.done = true, cancel, make(chan struct{})
	p.mu.Unlock()
	defer close(p.done)
	defer cancel()

	var wg sync.WaitGroup
	for _, b := range p.buttons {
		wg.Go(func() { p.watch(ctx, b) })
	}
	<-ctx.Done()
	wg.Wait()
	return p.shutdown()
}

// Close stops Run and waits for it, or, if Run was never called, leaves the
// hardware inert itself: LED off, timers stopped, Events closed. It is safe
// to call more than once.
func (p *Panel) Close() error {
	p.mu.Lock()
	if p.running {
		cancel, done := p.cancel, p.done
		p.mu.Unlock()
		cancel()
		<-done
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	}
	p.mu.Unlock()
	return p.shutdown()
}

func (p *Panel) shutdown() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	for _, b := range p.buttons {
		b.settleGen++
		b.timerGen++
		if b.stopSettle != nil {
			b.stopSettle()
		}
		if b.stopTimer != nil {
			b.stopTimer()
		}
	}
	close(p.events)
	if p.led != nil {
		p.err = p.led.Halt()
	}
	return p.err
}

// watch waits for edges on one button. WaitForEdge has a timeout so the
// loop notices cancellation; it is still edge-driven, never polling levels.
func (p *Panel) watch(ctx context.Context, b *button) {
	fast := 0
	for ctx.Err() == nil {
		start := time.Now()
		if b.pin.WaitForEdge(p.wake) {
			fast = 0
			p.edge(b)
			continue
		}
		// A pin that is not set up for edges returns false at once: back
		// off instead of spinning.
		if time.Since(start) < p.wake/4 {
			if fast++; fast == 3 {
				p.log.Error("panel: waiting for edges fails immediately; is the line configured for edge detection?", "button", b.name)
			}
			select {
			case <-ctx.Done():
			case <-time.After(p.wake):
			}
		}
	}
}

// edge restarts the button's debounce: the level counts once no edge came
// for Debounce.
func (p *Panel) edge(b *button) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	b.settleGen++
	if b.stopSettle != nil {
		b.stopSettle()
	}
	gen := b.settleGen
	b.stopSettle = p.clock.AfterFunc(p.cfg.Debounce, func() { p.settle(b, gen) })
}

func (p *Panel) settle(b *button, gen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || gen != b.settleGen {
		return
	}
	b.stopSettle = nil
	pressed := b.pin.Read() == b.active
	if pressed == b.pressed {
		return
	}
	b.pressed = pressed
	now := p.clock.Now()
	if pressed {
		b.seen = true
		p.down(b, now)
	} else if b.seen {
		b.seen = false
		p.up(b, now)
	}
}

// arm replaces the button's gesture timer.
func (p *Panel) arm(b *button, d time.Duration, f func(*button, time.Time)) {
	p.disarm(b)
	gen := b.timerGen
	b.stopTimer = p.clock.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed || gen != b.timerGen {
			return
		}
		b.stopTimer = nil
		f(b, p.clock.Now())
	})
}

func (p *Panel) disarm(b *button) {
	b.timerGen++
	if b.stopTimer != nil {
		b.stopTimer()
		b.stopTimer = nil
	}
}

func (p *Panel) down(b *button, now time.Time) {
	switch b.state {
	case idle:
		b.state = down
	case waitDouble:
		b.state = secondDown
	default:
		return
	}
	b.t0 = now
	p.arm(b, p.cfg.HoldAfter, p.hold)
}

func (p *Panel) hold(b *button, now time.Time) {
	switch b.state {
	case secondDown:
		p.emit(b, Press, now, b.first) // the first press was not a double after all
	case down:
	default:
		return
	}
	b.state = holding
	p.emit(b, HoldStart, now, now.Sub(b.t0))
}

func (p *Panel) up(b *button, now time.Time) {
	held := now.Sub(b.t0)
	if (b.state == down || b.state == secondDown) && held >= p.cfg.HoldAfter {
		p.disarm(b) // the hold timer is late: decide by the durations
		p.hold(b, now)
	}
	switch b.state {
	case holding:
		b.state = idle
		p.emit(b, HoldEnd, now, held)
		if held >= p.cfg.LongPress {
			p.emit(b, LongPress, now, held)
		}
	case down:
		p.disarm(b)
		if !b.double {
			b.state = idle
			p.emit(b, Press, now, held)
			return
		}
		b.state, b.first = waitDouble, held
		p.arm(b, p.cfg.DoubleWindow, p.window)
	case secondDown:
		p.disarm(b)
		b.state = idle
		p.emit(b, DoublePress, now, held)
	}
}

func (p *Panel) window(b *button, now time.Time) {
	if b.state == waitDouble {
		b.state = idle
		p.emit(b, Press, now, b.first)
	}
}

func (p *Panel) emit(b *button, g Gesture, now time.Time, held time.Duration) {
	e := Event{Button: b.name, Action: b.action, Gesture: g, Time: now, Held: held}
	select {
	case p.events <- e:
	default:
		p.log.Warn("panel: event buffer full, dropping event", "button", b.name, "gesture", g)
	}
}
