package panel_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/device/panel/paneltest"
)

// trace renders recorded LED changes as "on@0s off@500ms …" (logical,
// after active-low inversion).
func trace(cs []paneltest.Change, activeLow bool) string {
	var b strings.Builder
	for _, c := range cs {
		on := bool(c.Level) != activeLow
		s := "off"
		if on {
			s = "on"
		}
		fmt.Fprintf(&b, "%s@%v ", s, c.At)
	}
	return strings.TrimSpace(b.String())
}

func TestLEDPatterns(t *testing.T) {
	type set struct {
		at time.Duration
		p  panel.Pattern
	}
	for _, tc := range []struct {
		name      string
		cfg       panel.LEDConfig
		sets      []set
		until     time.Duration
		want      string
		wantAfter panel.Pattern
	}{
		{"off", panel.LEDConfig{}, []set{{0, panel.Off}}, 3 * time.Second, "off@0s", panel.Off},
		{"heartbeat", panel.LEDConfig{}, []set{{0, panel.Idle}}, 4 * time.Second,
			"off@0s on@0s off@100ms on@250ms off@350ms on@2s off@2.1s on@2.25s off@2.35s on@4s", panel.Idle},
		{"idle off", panel.LEDConfig{Idle: panel.IdleOff}, []set{{0, panel.Idle}}, 4 * time.Second, "off@0s", panel.Idle},
		{"recording", panel.LEDConfig{}, []set{{0, panel.Recording}}, 2 * time.Second,
			"off@0s on@0s off@500ms on@1s off@1.5s on@2s", panel.Recording},
		{"training", panel.LEDConfig{}, []set{{0, panel.Training}}, 450 * time.Millisecond,
			"off@0s on@0s off@100ms on@200ms off@300ms on@400ms", panel.Training},
		{"success returns to off", panel.LEDConfig{}, []set{{0, panel.Success}}, 3 * time.Second,
			"off@0s on@200ms off@1.2s", panel.Off},
		{"error returns to recording", panel.LEDConfig{}, []set{{0, panel.Recording}, {200 * time.Millisecond, panel.Error}}, 2500 * time.Millisecond,
			"off@0s on@0s off@200ms on@350ms off@500ms on@650ms off@800ms on@950ms off@1.1s on@1.6s off@2.1s", panel.Recording},
		{"steady set during one-shot waits for it", panel.LEDConfig{}, []set{{0, panel.Success}, {100 * time.Millisecond, panel.Training}}, 1700 * time.Millisecond,
			"off@0s on@200ms off@1.2s on@1.5s off@1.6s on@1.7s", panel.Training},
		{"same steady pattern keeps its phase", panel.LEDConfig{}, []set{{0, panel.Recording}, {700 * time.Millisecond, panel.Recording}}, 1200 * time.Millisecond,
			"off@0s on@0s off@500ms on@1s", panel.Recording},
		{"switch steady patterns", panel.LEDConfig{}, []set{{0, panel.Recording}, {200 * time.Millisecond, panel.Training}, {450 * time.Millisecond, panel.Idle}}, 700 * time.Millisecond,
			"off@0s on@0s off@300ms on@400ms off@550ms on@700ms", panel.Idle},
		{"active low", panel.LEDConfig{ActiveLow: true}, []set{{0, panel.Training}}, 250 * time.Millisecond,
			"off@0s on@0s off@100ms on@200ms", panel.Training},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := paneltest.NewClock()
			pin := paneltest.NewRecorder("GPIO27", 27, clk)
			led, err := panel.NewLED(pin, tc.cfg, clk, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.sets {
				clk.AdvanceTo(paneltest.Epoch().Add(s.at))
				led.Set(s.p)
			}
			clk.AdvanceTo(paneltest.Epoch().Add(tc.until))
			if got := trace(pin.Changes(), tc.cfg.ActiveLow); got != tc.want {
				t.Errorf("LED:\n  got  %s\n  want %s", got, tc.want)
			}
			if got := led.Pattern(); got != tc.wantAfter {
				t.Errorf("Pattern() = %v, want %v", got, tc.wantAfter)
			}
			if err := led.Halt(); err != nil {
				t.Fatal(err)
			}
			if pin.Read() != gpio.Level(tc.cfg.ActiveLow) {
				t.Errorf("after Halt the pin is %v: LED on", pin.Read())
			}
			pin.Changes()
			clk.Advance(10 * time.Second)
			if c := pin.Changes(); len(c) != 0 || clk.Pending() != 0 {
				t.Errorf("after Halt: changes %v, %d timers pending", c, clk.Pending())
			}
		})
	}
}

// failOut is an LED pin whose writes fail.
type failOut struct{ *paneltest.Recorder }

func (failOut) Out(gpio.Level) error { return fmt.Errorf("line busy") }

func TestLEDWriteError(t *testing.T) {
	clk := paneltest.NewClock()
	_, err := panel.NewLED(failOut{paneltest.NewRecorder("GPIO27", 27, clk)}, panel.LEDConfig{}, clk, nil)
	if err == nil || err.Error() != "panel: led GPIO27: out Low: line busy" {
		t.Errorf("NewLED = %v", err)
	}
}
