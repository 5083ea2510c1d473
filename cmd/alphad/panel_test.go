package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"periph.io/x/conn/v3/gpio"

	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/device/panel/paneltest"
)

func TestPanelTestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // config summary or error
	}{
		{"defaults", nil, "class1=GPIO17/class:class1 class2=GPIO22/class:class2 train=GPIO23/train led=GPIO27"},
		{"custom", []string{"--button", "red=GPIO5", "--button", "train=GPIO6", "--led", "none", "--double", "red"},
			"red=GPIO5/class:red(double) train=GPIO6/train led="},
		{"bad button", []string{"--button", "red"}, `--button "red": want NAME=PIN, e.g. train=GPIO23`},
		{"unknown double", []string{"--double", "blue"}, `--double "blue": no such button`},
		{"invalid", []string{"--button", "a=GPIO5", "--button", "b=GPIO5"}, "panel.buttons[1].pin: GPIO5 is already used by buttons[0].pin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f panelTestFlags
			fl := pflag.NewFlagSet("test", pflag.ContinueOnError)
			f.register(fl)
			if err := fl.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.config()
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				var parts []string
				for _, b := range cfg.Buttons {
					s := b.Name + "=" + b.Pin + "/" + b.Action
					if b.DoublePress {
						s += "(double)"
					}
					parts = append(parts, s)
				}
				got = strings.Join(append(parts, "led="+cfg.LED.Pin), " ")
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPanelTestPrintsEvents(t *testing.T) {
	cfg := panel.Default()
	clk := paneltest.NewClock()
	var pins panel.Pins
	var fakes []*paneltest.Pin
	for i, b := range cfg.Buttons {
		p := paneltest.NewPin(b.Pin, i)
		fakes = append(fakes, p)
		pins.Buttons = append(pins.Buttons, p)
	}
	led := paneltest.NewRecorder(cfg.LED.Pin, 27, clk)
	pins.LED = led
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- panelTest(ctx, &out, cfg, pins, panel.Options{Clock: clk, Wake: 10 * time.Millisecond}, time.Second)
	}()
	press := func(p *paneltest.Pin, d time.Duration) {
		p.Edge(gpio.Low)
		clk.Advance(d)
		p.Edge(gpio.High)
		clk.Advance(time.Second)
	}
	press(fakes[0], 100*time.Millisecond)
	press(fakes[2], 2500*time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"button class1   GPIO17  class:class1   released",
		"button train    GPIO23  train          released",
		"led             GPIO27",
		"   0.130s  class1   press        held 100ms    → sample",
		"   1.630s  train    hold-start   held 500ms",
		"   3.630s  train    hold-end     held 2.5s",
		"   3.630s  train    long-press   held 2.5s     → undo",
		"   0.000s  led idle",
		"   1.000s  led recording",
		"   2.000s  led training",
		"   3.000s  led off",
		"   4.000s  led success",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if led.Read() != gpio.Low {
		t.Errorf("LED left on")
	}
}

func TestPanelTestUnknownPin(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"panel", "test", "--button", "train=GPIO99", "--led", "none"}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `panel test: panel: button "train": no GPIO named "GPIO99"; `) {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
