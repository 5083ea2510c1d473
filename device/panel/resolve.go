package panel

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"periph.io/x/conn/v3/gpio"
)

// Pins are the GPIO lines of a Config, resolved on the host.
type Pins struct {
	Buttons []gpio.PinIn // one per Config.Buttons, same order
	LED     gpio.PinOut  // nil when Config.LED.Pin is empty
}

// Resolve finds every pin named in cfg with byName (gpioreg.ByName after
// host.Init in the daemon). Unknown names give one error naming each bad
// field and the pins the host offers, which come from all (gpioreg.All).
func Resolve(cfg Config, byName func(string) gpio.PinIO, all func() []gpio.PinIO) (Pins, error) {
	var (
		p       Pins
		missing []string
	)
	for _, b := range cfg.Buttons {
		pin := byName(b.Pin)
		if pin == nil {
			missing = append(missing, fmt.Sprintf("button %q: no GPIO named %q", b.name(), b.Pin))
		}
		p.Buttons = append(p.Buttons, pin)
	}
	if cfg.LED.Pin != "" {
		if pin := byName(cfg.LED.Pin); pin != nil {
			p.LED = pin
		} else {
			missing = append(missing, fmt.Sprintf("led: no GPIO named %q", cfg.LED.Pin))
		}
	}
	if len(missing) == 0 {
		return p, nil
	}
	var names []string
	for _, pin := range all() {
		names = append(names, pin.Name())
	}
	offers := "no GPIO at all (is the gpio driver loaded, /dev/gpiochip* readable?)"
	if len(names) > 0 {
		offers = "this host offers: " + compactNames(names)
	}
	return Pins{}, errors.New("panel: " + strings.Join(missing, "; ") + "; " + offers)
}

// compactNames sorts pin names naturally and folds runs of consecutive
// numbers with the same prefix: GPIO0…GPIO27, ID_SC, ID_SD.
func compactNames(names []string) string {
	type key struct {
		prefix string
		n      int // -1: no numeric suffix
		name   string
	}
	keys := make([]key, 0, len(names))
	for _, s := range names {
		i := len(s)
		for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
			i--
		}
		n, err := strconv.Atoi(s[i:])
		if i == len(s) || err != nil || (len(s)-i > 1 && s[i] == '0') {
			keys = append(keys, key{s, -1, s})
			continue
		}
		keys = append(keys, key{s[:i], n, s})
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].prefix != keys[b].prefix {
			return keys[a].prefix < keys[b].prefix
		}
		return keys[a].n < keys[b].n
	})
	var out []string
	for i := 0; i < len(keys); {
		j := i
		for j+1 < len(keys) && keys[i].n >= 0 && keys[j+1].prefix == keys[i].prefix && keys[j+1].n == keys[j].n+1 {
			j++
		}
		switch {
		case j-i >= 2:
			out = append(out, keys[i].name+"…"+keys[j].name)
		case j-i == 1:
			out = append(out, keys[i].name, keys[j].name)
		default:
			if len(out) == 0 || out[len(out)-1] != keys[i].name {
				out = append(out, keys[i].name)
			}
		}
		i = j + 1
	}
	return strings.Join(out, ", ")
}
