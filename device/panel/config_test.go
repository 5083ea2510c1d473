package panel_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"periph.io/x/conn/v3/gpio"

	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/device/panel/paneltest"
)

func TestDefaultIsValid(t *testing.T) {
	if err := panel.Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

// decode decodes YAML over the defaults, strictly, the way the daemon does.
func decode(src string) (panel.Config, error) {
	c := panel.Default()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

func TestDecodeYAML(t *testing.T) {
	c, err := decode(`
buttons:
  - {name: red, pin: GPIO5, action: "class:red", pull: down, active_low: false}
  - {pin: GPIO6, action: train, double_press: true}
led: {pin: GPIO26, active_low: true}
debounce: 20ms
long_press: 3s
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	b0, b1 := c.Buttons[0], c.Buttons[1]
	if len(c.Buttons) != 2 || b0.Name != "red" || b0.Pull != panel.PullDown || b0.IsActiveLow() ||
		b1.Name != "" || !b1.IsActiveLow() || !b1.DoublePress {
		t.Errorf("buttons = %+v", c.Buttons)
	}
	if c.LED != (panel.LEDConfig{Pin: "GPIO26", ActiveLow: true, Idle: panel.IdleHeartbeat}) {
		t.Errorf("led = %+v", c.LED)
	}
	if c.Debounce != 20*time.Millisecond || c.LongPress != 3*time.Second || c.HoldAfter != panel.DefaultHoldAfter || c.DoubleWindow != panel.DefaultDoubleWindow {
		t.Errorf("timings = %v %v %v %v", c.Debounce, c.HoldAfter, c.LongPress, c.DoubleWindow)
	}
	if _, err := decode("led: {pin: GPIO26, colour: red}"); err == nil {
		t.Errorf("unknown key accepted")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*panel.Config)
		want []string // one line per bad field
	}{
		{"no buttons no led", func(c *panel.Config) { c.Buttons, c.LED.Pin = nil, "" }, nil},
		{"timings", func(c *panel.Config) {
			c.Debounce, c.HoldAfter, c.LongPress, c.DoubleWindow = -time.Millisecond, 0, 0, 0
		}, []string{
			"panel.debounce: -1ms is negative",
			"panel.hold_after: 0s must be positive",
			"panel.long_press: 0s must be longer than hold_after (0s)",
			"panel.double_window: 0s must be positive",
		}},
		{"debounce not below hold", func(c *panel.Config) { c.Debounce = c.HoldAfter }, []string{
			"panel.debounce: 500ms must be shorter than hold_after (500ms)",
		}},
		{"buttons", func(c *panel.Config) {
			c.Buttons = []panel.ButtonConfig{
				{Name: "a", Pin: "GPIO5", Action: "class:a", Pull: "sideways"},
				{Pin: "GPIO5", Action: "class:a"},
				{Name: "c", Action: "record"},
				{Pin: "GPIO7"},
				{Pin: "GPIO8", Action: "class:"},
				{Pin: "GPIO9", Action: "class:a/b"},
				{Pin: "GPIO27", Action: "train"},
			}
		}, []string{
			`panel.buttons[0].pull: "sideways" is not up, down or none`,
			`panel.buttons[1].name: "a" is already used by buttons[0]`,
			"panel.buttons[1].pin: GPIO5 is already used by buttons[0].pin",
			`panel.buttons[2].action: action "record": want class:<label> or train`,
			"panel.buttons[2].pin: empty",
			`panel.buttons[3].action: action "": want class:<label> or train`,
			"panel.buttons[3].name: empty (and no action to name it after)",
			`panel.buttons[4].action: action "class:": empty class label`,
			`panel.buttons[5].action: action "class:a/b": class label may not contain '/'`,
			"panel.led.pin: GPIO27 is already used by buttons[6].pin",
		}},
		{"led idle", func(c *panel.Config) { c.LED.Idle = "disco" }, []string{`panel.led.idle: "disco" is not heartbeat or off`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := panel.Default()
			tc.edit(&c)
			err := c.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Validate:\n  got  %q\n  want %q", got, tc.want)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"train", "train", ""},
		{"class:cat", "class:cat", ""},
		{"class:Übung-1", "class:Übung-1", ""},
		{"class: cat", "", `action "class: cat": class label may not contain ' '`},
		{"class:#", "", `action "class:#": class label may not contain '#'`},
		{"Train", "", `action "Train": want class:<label> or train`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, err := panel.ParseAction(tc.in)
			if (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if err == nil && a.String() != tc.want {
				t.Errorf("= %v, want %v", a, tc.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	host := map[string]gpio.PinIO{}
	var all []gpio.PinIO
	for _, n := range []string{"ID_SD", "GPIO10", "GPIO9", "ID_SC", "GPIO27", "GPIO0", "GPIO8", "GPIO11", "GPIO2", "GPIO1"} {
		p := paneltest.NewPin(n, 0)
		host[n] = p
		all = append(all, p)
	}
	for n := 12; n <= 26; n++ {
		p := paneltest.NewPin("GPIO"+strconv.Itoa(n), n)
		host[p.Name()], all = p, append(all, p)
	}
	byName := func(n string) gpio.PinIO { return host[n] }
	allFn := func() []gpio.PinIO { return all }

	p, err := panel.Resolve(panel.Default(), byName, allFn)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Buttons) != 3 || p.Buttons[2].Name() != "GPIO23" || p.LED.Name() != "GPIO27" {
		t.Errorf("pins = %v", p)
	}

	cfg := panel.Default()
	cfg.Buttons[2].Pin = "GPIO99"
	_, err = panel.Resolve(cfg, byName, allFn)
	want := `panel: button "train": no GPIO named "GPIO99"; this host offers: GPIO0…GPIO2, GPIO8…GPIO27, ID_SC, ID_SD`
	if err == nil || err.Error() != want {
		t.Errorf("err =\n  %v\nwant\n  %s", err, want)
	}

	cfg.LED.Pin = "LED0"
	_, err = panel.Resolve(cfg, byName, func() []gpio.PinIO { return nil })
	want = `panel: button "train": no GPIO named "GPIO99"; led: no GPIO named "LED0"; no GPIO at all (is the gpio driver loaded, /dev/gpiochip* readable?)`
	if err == nil || err.Error() != want {
		t.Errorf("err =\n  %v\nwant\n  %s", err, want)
	}

	cfg.LED.Pin = ""
	cfg.Buttons[2].Pin = "GPIO23"
	if p, err := panel.Resolve(cfg, byName, allFn); err != nil || p.LED != nil {
		t.Errorf("no LED: %v, %v", p.LED, err)
	}
}

func TestIntent(t *testing.T) {
	class := panel.Action{Kind: panel.ActionClass, Label: "cat"}
	train := panel.Action{Kind: panel.ActionTrain}
	for _, tc := range []struct {
		a    panel.Action
		g    panel.Gesture
		want panel.Intent
	}{
		{class, panel.Press, panel.Sample},
		{class, panel.HoldStart, panel.RecordStart},
		{class, panel.HoldEnd, panel.RecordStop},
		{class, panel.LongPress, panel.NoIntent},
		{class, panel.DoublePress, panel.NoIntent},
		{train, panel.Press, panel.Train},
		{train, panel.LongPress, panel.Undo},
		{train, panel.HoldStart, panel.NoIntent},
		{train, panel.HoldEnd, panel.NoIntent},
		{train, panel.DoublePress, panel.NoIntent},
	} {
		t.Run(tc.a.String()+"/"+tc.g.String(), func(t *testing.T) {
			if got := (panel.Event{Action: tc.a, Gesture: tc.g}).Intent(); got != tc.want {
				t.Errorf("= %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseAction(f *testing.F) {
	for _, s := range []string{"train", "class:a", "class:", "class:a b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := panel.ParseAction(s)
		if err != nil {
			return
		}
		if b, err := panel.ParseAction(a.String()); err != nil || b != a {
			t.Errorf("%q → %v does not round-trip: %v, %v", s, a, b, err)
		}
	})
}

// FuzzConfig decodes YAML over the defaults; a config that validates must
// build a panel on fake pins.
func FuzzConfig(f *testing.F) {
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(panel.Default()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.String())
	f.Add("buttons: [{pin: GPIO5, action: train, double_press: true}]\nled: {pin: ''}\ndebounce: 0s")
	f.Add("hold_after: 1ns\nlong_press: 2ns\ndebounce: 0s")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := decode(src)
		if err != nil || c.Validate() != nil {
			return
		}
		var pins panel.Pins
		for i, b := range c.Buttons {
			pins.Buttons = append(pins.Buttons, paneltest.NewPin(b.Pin, i))
		}
		clk := paneltest.NewClock()
		if c.LED.Pin != "" {
			pins.LED = paneltest.NewRecorder(c.LED.Pin, 99, clk)
		}
		p, err := panel.New(c, pins, panel.Options{Clock: clk})
		if err != nil {
			t.Fatalf("valid config, New: %v", err)
		}
		if err := p.Close(); err != nil && !errors.Is(err, panel.ErrClosed) {
			t.Fatal(err)
		}
	})
}
