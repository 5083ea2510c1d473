package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/alphad/alphad/device/panel"
)

func newPanelCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "panel",
		Short: "GPIO buttons and status LED",
	}
	cmd.AddCommand(newPanelTestCmd(d))
	return cmd
}

// panelTestFlags are the flags of `alphad panel test`.
type panelTestFlags struct {
	buttons      []string
	double       []string
	led          string
	ledActiveLow bool
	pull         string
	activeLow    bool
	debounce     time.Duration
	holdAfter    time.Duration
	longPress    time.Duration
	doubleWindow time.Duration
	cycle        time.Duration
	duration     time.Duration
}

// register defines the flags, with the panel defaults.
func (f *panelTestFlags) register(fl *pflag.FlagSet) {
	def := panel.Default()
	var defButtons []string
	for _, b := range def.Buttons {
		defButtons = append(defButtons, b.Name+"="+b.Pin)
	}
	fl.StringArrayVar(&f.buttons, "button", defButtons, "a button as NAME=PIN (repeat; replaces the defaults)")
	fl.StringArrayVar(&f.double, "double", nil, "enable double press on the button NAME (repeat)")
	fl.StringVar(&f.led, "led", def.LED.Pin, `status LED pin ("none": no LED)`)
	fl.BoolVar(&f.ledActiveLow, "led-active-low", def.LED.ActiveLow, "the LED lights when the pin is Low")
	fl.StringVar(&f.pull, "pull", panel.PullUp, "button pull: up, down or none")
	fl.BoolVar(&f.activeLow, "active-low", true, "a pressed button reads Low (button to ground)")
	fl.DurationVar(&f.debounce, "debounce", def.Debounce, "debounce time")
	fl.DurationVar(&f.holdAfter, "hold-after", def.HoldAfter, "press this long to hold")
	fl.DurationVar(&f.longPress, "long-press", def.LongPress, "hold this long for a long press")
	fl.DurationVar(&f.doubleWindow, "double-window", def.DoubleWindow, "max gap of a double press")
	fl.DurationVar(&f.cycle, "cycle", 3*time.Second, "show each LED pattern this long (0: LED stays idle)")
	fl.DurationVar(&f.duration, "for", 0, "stop after this long (0: until interrupted)")
}

func newPanelTestCmd(d *deps) *cobra.Command {
	var f panelTestFlags
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Wiring check: print every button event, cycle the LED patterns",
		Long: `Wiring check for the buttons and the status LED. Every gesture is printed as
you press (press, double-press, hold-start, hold-end, long-press) with what the
daemon would do, and the LED cycles through its patterns. A button named
"train" is the train button, any other name is a class button of that label.
Stop with Ctrl-C (or --for).`,
		Example: `  alphad panel test
  alphad panel test --button red=GPIO5 --button train=GPIO6 --led GPIO26 --double red`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("panel test: %w", err)}
			}
			if _, err := host.Init(); err != nil {
				return fmt.Errorf("panel test: initialise GPIO host drivers: %w", err)
			}
			pins, err := panel.Resolve(cfg, gpioreg.ByName, gpioreg.All)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("panel test: %w", err)}
			}
			ctx := cmd.Context()
			if f.duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, f.duration)
				defer cancel()
			}
			return panelTest(ctx, d.stdout, cfg, pins, panel.Options{Log: d.log}, f.cycle)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// config builds a panel.Config from the flags.
func (f *panelTestFlags) config() (panel.Config, error) {
	cfg := panel.Default()
	cfg.Buttons = nil
	cfg.LED.Pin, cfg.LED.ActiveLow = f.led, f.ledActiveLow
	if f.led == "none" {
		cfg.LED.Pin = ""
	}
	cfg.Debounce, cfg.HoldAfter, cfg.LongPress, cfg.DoubleWindow = f.debounce, f.holdAfter, f.longPress, f.doubleWindow
	double := map[string]bool{}
	for _, n := range f.double {
		double[n] = true
	}
	activeLow := f.activeLow
	for _, s := range f.buttons {
		name, pin, ok := strings.Cut(s, "=")
		if !ok || name == "" || pin == "" {
			return panel.Config{}, fmt.Errorf("--button %q: want NAME=PIN, e.g. train=GPIO23", s)
		}
		action := "class:" + name
		if name == "train" {
			action = "train"
		}
		cfg.Buttons = append(cfg.Buttons, panel.ButtonConfig{
			Name: name, Pin: pin, Action: action, Pull: f.pull, ActiveLow: &activeLow, DoublePress: double[name],
		})
		delete(double, name)
	}
	for n := range double {
		return panel.Config{}, fmt.Errorf("--double %q: no such button", n)
	}
	return cfg, cfg.Validate()
}

// panelTest runs the panel, prints its events to w and cycles the LED
// patterns every cycle until ctx ends.
func panelTest(ctx context.Context, w io.Writer, cfg panel.Config, pins panel.Pins, o panel.Options, cycle time.Duration) error {
	if o.Clock == nil {
		o.Clock = panel.WallClock()
	}
	p, err := panel.New(cfg, pins, o)
	if err != nil {
		return fmt.Errorf("panel test: %w", err)
	}
	var mu sync.Mutex // serialises writes to w
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, format, args...)
	}
	for i, b := range cfg.Buttons {
		state := "released"
		if pins.Buttons[i].Read() == gpio.Level(!b.IsActiveLow()) {
			state = "PRESSED (check the wiring or --active-low)"
		}
		say("button %-8s %-7s %-14s %s\n", b.Name, b.Pin, b.Action, state)
	}
	if cfg.LED.Pin != "" {
		say("led    %-8s %s\n", "", cfg.LED.Pin)
	}
	say("press the buttons (Ctrl-C to stop)\n")

	start := o.Clock.Now()
	p.Show(panel.Idle)
	var (
		cmu  sync.Mutex
		stop func() bool
		done bool
	)
	if cfg.LED.Pin != "" && cycle > 0 {
		// Idle shows first; Off comes before the one-shots so they stand
		// out and return to dark.
		pats := []panel.Pattern{panel.Recording, panel.Training, panel.Off, panel.Success, panel.Error, panel.Idle}
		var next func(i int)
		next = func(i int) {
			cmu.Lock()
			defer cmu.Unlock()
			if done {
				return
			}
			pat := pats[i%len(pats)]
			say("%8.3fs  led %s\n", o.Clock.Now().Sub(start).Seconds(), pat)
			p.Show(pat)
			stop = o.Clock.AfterFunc(cycle, func() { next(i + 1) })
		}
		say("%8.3fs  led %s\n", 0.0, panel.Idle)
		stop = o.Clock.AfterFunc(cycle, func() { next(0) })
	}
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	for e := range p.Events() {
		intent := ""
		if in := e.Intent(); in != panel.NoIntent {
			intent = "→ " + in.String()
		}
		line := fmt.Sprintf("%8.3fs  %-8s %-12s held %-8v %s", e.Time.Sub(start).Seconds(), e.Button, e.Gesture, e.Held.Round(time.Millisecond), intent)
		say("%s\n", strings.TrimRight(line, " "))
	}
	cmu.Lock()
	done = true
	if stop != nil {
		stop()
	}
	cmu.Unlock()
	if err := <-runErr; err != nil {
		return fmt.Errorf("panel test: %w", err)
	}
	return nil
}
