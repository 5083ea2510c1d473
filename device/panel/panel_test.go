package panel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"periph.io/x/conn/v3/gpio"

	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/device/panel/paneltest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ panel.Clock = (*paneltest.Clock)(nil)

// rig is a running panel on fake pins and a fake clock.
type rig struct {
	t    *testing.T
	clk  *paneltest.Clock
	pins []*paneltest.Pin
	led  *paneltest.Recorder
	p    *panel.Panel
	done chan error
}

func newRig(t *testing.T, cfg panel.Config) *rig {
	t.Helper()
	r := &rig{t: t, clk: paneltest.NewClock(), done: make(chan error, 1)}
	var pins panel.Pins
	for i, b := range cfg.Buttons {
		pin := paneltest.NewPin(b.Pin, 17+i)
		r.pins = append(r.pins, pin)
		pins.Buttons = append(pins.Buttons, pin)
	}
	if cfg.LED.Pin != "" {
		r.led = paneltest.NewRecorder(cfg.LED.Pin, 27, r.clk)
		pins.LED = r.led
	}
	p, err := panel.New(cfg, pins, panel.Options{Clock: r.clk, Wake: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r.p = p
	go func() { r.done <- p.Run(context.Background()) }()
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// play runs a script on button 0: "down" / "up" are edges (active low),
// "+30ms" advances the fake clock.
func (r *rig) play(script string) {
	r.t.Helper()
	for _, w := range strings.Fields(script) {
		switch {
		case w == "down":
			r.pins[0].Edge(gpio.Low)
		case w == "up":
			r.pins[0].Edge(gpio.High)
		case strings.HasPrefix(w, "+"):
			d, err := time.ParseDuration(w[1:])
			if err != nil {
				r.t.Fatalf("script %q: %v", w, err)
			}
			r.clk.Advance(d)
		default:
			r.t.Fatalf("script word %q", w)
		}
	}
}

// events drains the buffered events as "gesture held=… at=…".
func (r *rig) events() []string {
	var out []string
	for {
		select {
		case e := <-r.p.Events():
			out = append(out, fmt.Sprintf("%s held=%v at=%v", e.Gesture, e.Held, e.Time.Sub(paneltest.Epoch())))
		default:
			return out
		}
	}
}

func oneButton(double bool) panel.Config {
	c := panel.Default()
	c.Buttons = []panel.ButtonConfig{{Name: "b", Pin: "GPIO17", Action: "class:b", DoublePress: double}}
	c.LED.Pin = ""
	return c
}

func TestGestures(t *testing.T) {
	// Times: an edge counts 30 ms (Debounce) after the last edge of its
	// train, so durations are edge to edge and events come 30 ms late.
	for _, tc := range []struct {
		name   string
		double bool
		script string
		want   []string
	}{
		{"press", false, "down +100ms up +1s", []string{"press held=100ms at=130ms"}},
		{"bounce on press and release", false,
			"down +2ms up +3ms down +1ms up +4ms down +100ms up +2ms down +3ms up +1s",
			[]string{"press held=105ms at=145ms"}}, // last edges at 10ms and 115ms
		{"glitch shorter than debounce", false, "down +29ms up +1s", nil},
		{"bounces never settle then press", false,
			"down +20ms up +20ms down +20ms up +20ms down +200ms up +1s",
			[]string{"press held=200ms at=310ms"}},
		{"just below hold", false, "down +499ms up +1s", []string{"press held=499ms at=529ms"}},
		{"hold at threshold", false, "down +500ms up +1s",
			[]string{"hold-start held=500ms at=530ms", "hold-end held=500ms at=530ms"}},
		{"just above hold", false, "down +501ms up +1s",
			[]string{"hold-start held=500ms at=530ms", "hold-end held=501ms at=531ms"}},
		{"hold-start while still held", false, "down +529ms",
			nil},
		{"hold-start fires at hold_after", false, "down +530ms",
			[]string{"hold-start held=500ms at=530ms"}},
		{"just below long press", false, "down +1999ms up +1s",
			[]string{"hold-start held=500ms at=530ms", "hold-end held=1.999s at=2.029s"}},
		{"long press at threshold", false, "down +2s up +1s",
			[]string{"hold-start held=500ms at=530ms", "hold-end held=2s at=2.03s", "long-press held=2s at=2.03s"}},
		{"just above long press", false, "down +2001ms up +1s",
			[]string{"hold-start held=500ms at=530ms", "hold-end held=2.001s at=2.031s", "long-press held=2.001s at=2.031s"}},
		{"two presses without double", false, "down +100ms up +100ms down +100ms up +1s",
			[]string{"press held=100ms at=130ms", "press held=100ms at=330ms"}},
		{"double press", true, "down +100ms up +100ms down +100ms up +1s",
			[]string{"double-press held=100ms at=330ms"}},
		{"double press, second just inside window", true, "down +100ms up +299ms down +100ms up +1s",
			[]string{"double-press held=100ms at=529ms"}},
		{"double press, second at window end", true, "down +100ms up +300ms down +100ms up +1s",
			[]string{"press held=100ms at=430ms", "press held=100ms at=830ms"}},
		{"single press waits for the window", true, "down +100ms up +329ms",
			nil},
		{"single press after the window", true, "down +100ms up +330ms",
			[]string{"press held=100ms at=430ms"}},
		{"double then hold", true, "down +100ms up +100ms down +600ms up +1s",
			[]string{"press held=100ms at=730ms", "hold-start held=500ms at=730ms", "hold-end held=600ms at=830ms"}},
		{"hold on a double button", true, "down +700ms up +1s",
			[]string{"hold-start held=500ms at=530ms", "hold-end held=700ms at=730ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, oneButton(tc.double))
			r.play(tc.script)
			got := r.events()
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("events:\n  got  %q\n  want %q", got, tc.want)
			}
		})
	}
}

func TestEventFields(t *testing.T) {
	cfg := panel.Default()
	cfg.LED.Pin = ""
	r := newRig(t, cfg)
	r.pins[2].Edge(gpio.Low)
	r.clk.Advance(2100 * time.Millisecond)
	r.pins[2].Edge(gpio.High)
	r.clk.Advance(time.Second)
	r.pins[0].Edge(gpio.Low)
	r.clk.Advance(100 * time.Millisecond)
	r.pins[0].Edge(gpio.High)
	r.clk.Advance(time.Second)
	var got []string
	for range 4 {
		e := <-r.p.Events()
		got = append(got, fmt.Sprintf("%s %s %s %s", e.Button, e.Action, e.Gesture, e.Intent()))
	}
	want := []string{
		"train train hold-start none",
		"train train hold-end none",
		"train train long-press undo",
		"class1 class:class1 press sample",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestActiveHighPullDown(t *testing.T) {
	cfg := oneButton(false)
	no := false
	cfg.Buttons[0].ActiveLow, cfg.Buttons[0].Pull = &no, panel.PullDown
	r := newRig(t, cfg)
	if r.pins[0].Pull() != gpio.PullDown {
		t.Errorf("pull = %v, want down", r.pins[0].Pull())
	}
	r.pins[0].Edge(gpio.High)
	r.clk.Advance(100 * time.Millisecond)
	r.pins[0].Edge(gpio.Low)
	r.clk.Advance(time.Second)
	if got := r.events(); len(got) != 1 || !strings.HasPrefix(got[0], "press held=100ms") {
		t.Errorf("events %q, want one press", got)
	}
}

func TestHeldAtStartIsIgnored(t *testing.T) {
	cfg := oneButton(false)
	no := false
	cfg.Buttons[0].ActiveLow, cfg.Buttons[0].Pull = &no, panel.PullNone
	r := &rig{t: t, clk: paneltest.NewClock(), done: make(chan error, 1)}
	pin := paneltest.NewPin("GPIO17", 17)
	pin.L = gpio.High // pressed (active high) before the panel starts
	r.pins = []*paneltest.Pin{pin}
	p, err := panel.New(cfg, panel.Pins{Buttons: []gpio.PinIn{pin}}, panel.Options{Clock: r.clk, Wake: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.p = p
	go func() { r.done <- p.Run(context.Background()) }()
	pin.Edge(gpio.Low) // release of the stuck press
	r.clk.Advance(time.Second)
	if got := r.events(); len(got) != 0 {
		t.Errorf("release of a press held at start gave %q", got)
	}
	pin.Edge(gpio.High)
	r.clk.Advance(100 * time.Millisecond)
	pin.Edge(gpio.Low)
	r.clk.Advance(time.Second)
	if got := r.events(); len(got) != 1 {
		t.Errorf("then a press gave %q, want one press", got)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
}

func TestCloseLeavesLEDOffAndClosesEvents(t *testing.T) {
	cfg := panel.Default()
	r := newRig(t, cfg)
	r.p.Show(panel.Training)
	r.clk.Advance(50 * time.Millisecond)
	if r.led.Read() != gpio.High {
		t.Fatalf("LED not on while training")
	}
	// A press in progress has timers pending; Close must cancel them.
	r.pins[0].Edge(gpio.Low)
	r.clk.Advance(40 * time.Millisecond)
	if err := r.p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-r.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	r.done <- nil // for the cleanup
	if r.led.Read() != gpio.Low {
		t.Errorf("LED left on after Close")
	}
	r.led.Changes()
	r.p.Show(panel.Recording)
	r.clk.Advance(10 * time.Second)
	if c := r.led.Changes(); len(c) != 0 {
		t.Errorf("LED changed after Close: %v", c)
	}
	if _, ok := <-r.p.Events(); ok {
		t.Errorf("Events not closed")
	}
	if err := r.p.Run(context.Background()); err != panel.ErrClosed {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	p, err := panel.New(oneButton(false), panel.Pins{Buttons: []gpio.PinIn{paneltest.NewPin("GPIO17", 17)}},
		panel.Options{Wake: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close after Run = %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	cfg := oneButton(false)
	if _, err := panel.New(cfg, panel.Pins{}, panel.Options{}); err == nil || !strings.Contains(err.Error(), "0 button pins for 1 buttons") {
		t.Errorf("missing pins: %v", err)
	}
	bad := cfg
	bad.Debounce = -1
	if _, err := panel.New(bad, panel.Pins{}, panel.Options{}); err == nil || !strings.Contains(err.Error(), "panel.debounce") {
		t.Errorf("invalid config: %v", err)
	}
	if _, err := panel.New(cfg, panel.Pins{Buttons: []gpio.PinIn{&noEdges{paneltest.NewPin("GPIO17", 17)}}}, panel.Options{}); err == nil ||
		!strings.Contains(err.Error(), `panel: button "b": configure GPIO17 as input: no edges here`) {
		t.Errorf("In failure: %v", err)
	}
}

// noEdges is a pin whose In fails.
type noEdges struct{ *paneltest.Pin }

func (noEdges) In(gpio.Pull, gpio.Edge) error { return fmt.Errorf("no edges here") }
