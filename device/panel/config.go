package panel

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Default timings, see the package documentation for what each one means.
const (
	DefaultDebounce     = 30 * time.Millisecond
	DefaultHoldAfter    = 500 * time.Millisecond
	DefaultLongPress    = 2 * time.Second
	DefaultDoubleWindow = 300 * time.Millisecond
)

// Pull names accepted in ButtonConfig.Pull.
const (
	PullUp   = "up"
	PullDown = "down"
	PullNone = "none"
)

// LED idle styles accepted in LEDConfig.Idle.
const (
	IdleHeartbeat = "heartbeat"
	IdleOff       = "off"
)

// Config describes the buttons and the status LED. It is embedded in the
// daemon's YAML configuration under `panel:`. Start from Default and decode
// on top of it: a `buttons:` list in YAML replaces the default buttons as a
// whole, omitted scalars keep their defaults.
type Config struct {
	Buttons      []ButtonConfig `yaml:"buttons"`
	LED          LEDConfig      `yaml:"led"`
	Debounce     time.Duration  `yaml:"debounce"`      // an edge counts once the line is stable this long
	HoldAfter    time.Duration  `yaml:"hold_after"`    // continuous press before hold-start
	LongPress    time.Duration  `yaml:"long_press"`    // a hold at least this long also gives long-press
	DoubleWindow time.Duration  `yaml:"double_window"` // max gap between release and second press
}

// ButtonConfig is one push button between a GPIO line and ground (or 3V3).
type ButtonConfig struct {
	// Name identifies the button in events and logs; default: the class
	// label for class buttons, "train" for the train button.
	Name string `yaml:"name"`
	// Pin is the GPIO line name as the host calls it (GPIO17) or its number.
	Pin string `yaml:"pin"`
	// Action is "class:<label>" or "train".
	Action string `yaml:"action"`
	// Pull is the internal bias: up (default), down or none.
	Pull string `yaml:"pull,omitempty"`
	// ActiveLow: pressed reads Low (button to ground). Default true.
	ActiveLow *bool `yaml:"active_low,omitempty"`
	// DoublePress turns two quick presses into one double-press event. It
	// delays this button's single presses by DoubleWindow.
	DoublePress bool `yaml:"double_press,omitempty"`
}

// LEDConfig is the status LED. An empty Pin means no LED.
type LEDConfig struct {
	Pin       string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low"` // LED between 3V3 and the pin
	Idle      string `yaml:"idle"`       // heartbeat (default) or off
}

// Default is the documented wiring (see firmware-config/README.md): two class
// buttons on GPIO17 and GPIO22, the train button on GPIO23, all to ground
// with pull-ups; the LED on GPIO27 through a resistor to ground.
func Default() Config {
	return Config{
		Buttons: []ButtonConfig{
			{Name: "class1", Pin: "GPIO17", Action: "class:class1"},
			{Name: "class2", Pin: "GPIO22", Action: "class:class2"},
			{Name: "train", Pin: "GPIO23", Action: "train"},
		},
		LED:          LEDConfig{Pin: "GPIO27", Idle: IdleHeartbeat},
		Debounce:     DefaultDebounce,
		HoldAfter:    DefaultHoldAfter,
		LongPress:    DefaultLongPress,
		DoubleWindow: DefaultDoubleWindow,
	}
}

// ActionKind says what a button is for.
type ActionKind int

// Button purposes.
const (
	ActionClass ActionKind = iota + 1 // record samples of a class
	ActionTrain                       // train; long press undoes
)

func (k ActionKind) String() string {
	switch k {
	case ActionClass:
		return "class"
	case ActionTrain:
		return "train"
	}
	return fmt.Sprintf("ActionKind(%d)", int(k))
}

// Action is a parsed ButtonConfig.Action.
type Action struct {
	Kind  ActionKind
	Label string // class label for ActionClass
}

func (a Action) String() string {
	if a.Kind == ActionClass {
		return "class:" + a.Label
	}
	return a.Kind.String()
}

// ParseAction parses "class:<label>" or "train".
func ParseAction(s string) (Action, error) {
	if s == "train" {
		return Action{Kind: ActionTrain}, nil
	}
	label, ok := strings.CutPrefix(s, "class:")
	if !ok {
		return Action{}, fmt.Errorf("action %q: want class:<label> or train", s)
	}
	if label == "" {
		return Action{}, fmt.Errorf("action %q: empty class label", s)
	}
	for _, r := range label {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' || r == '+' || r == '#' {
			return Action{}, fmt.Errorf("action %q: class label may not contain %q", s, r)
		}
	}
	return Action{Kind: ActionClass, Label: label}, nil
}

// name is the button's effective name.
func (b ButtonConfig) name() string {
	if b.Name != "" {
		return b.Name
	}
	a, err := ParseAction(b.Action)
	if err != nil {
		return ""
	}
	if a.Kind == ActionClass {
		return a.Label
	}
	return a.Kind.String()
}

// IsActiveLow reports whether a press reads Low (the default).
func (b ButtonConfig) IsActiveLow() bool { return b.ActiveLow == nil || *b.ActiveLow }

func (b ButtonConfig) pull() string {
	if b.Pull == "" {
		return PullUp
	}
	return b.Pull
}

func (l LEDConfig) idle() string {
	if l.Idle == "" {
		return IdleHeartbeat
	}
	return l.Idle
}

// Validate reports every bad field at once, each prefixed with its path
// (panel.buttons[1].pin), joined with errors.Join.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("panel."+field+": "+format, args...))
	}
	if c.Debounce < 0 {
		bad("debounce", "%v is negative", c.Debounce)
	}
	if c.HoldAfter <= 0 {
		bad("hold_after", "%v must be positive", c.HoldAfter)
	} else if c.Debounce >= c.HoldAfter {
		bad("debounce", "%v must be shorter than hold_after (%v)", c.Debounce, c.HoldAfter)
	}
	if c.LongPress <= c.HoldAfter {
		bad("long_press", "%v must be longer than hold_after (%v)", c.LongPress, c.HoldAfter)
	}
	if c.DoubleWindow <= 0 {
		bad("double_window", "%v must be positive", c.DoubleWindow)
	}
	names := map[string]int{}
	pins := map[string]string{}
	usePin := func(field, pin string) {
		if pin == "" {
			bad(field, "empty")
			return
		}
		if prev, ok := pins[pin]; ok {
			bad(field, "%s is already used by %s", pin, prev)
			return
		}
		pins[pin] = field
	}
	for i, b := range c.Buttons {
		f := fmt.Sprintf("buttons[%d]", i)
		if _, err := ParseAction(b.Action); err != nil {
			bad(f+".action", "%v", err)
		}
		if n := b.name(); n != "" {
			if j, ok := names[n]; ok {
				bad(f+".name", "%q is already used by buttons[%d]", n, j)
			} else {
				names[n] = i
			}
		} else if b.Name == "" && b.Action == "" {
			bad(f+".name", "empty (and no action to name it after)")
		}
		usePin(f+".pin", b.Pin)
		switch b.Pull {
		case "", PullUp, PullDown, PullNone:
		default:
			bad(f+".pull", "%q is not up, down or none", b.Pull)
		}
	}
	if c.LED.Pin != "" {
		usePin("led.pin", c.LED.Pin)
	}
	switch c.LED.Idle {
	case "", IdleHeartbeat, IdleOff:
	default:
		bad("led.idle", "%q is not heartbeat or off", c.LED.Idle)
	}
	return errors.Join(errs...)
}
