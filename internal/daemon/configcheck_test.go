package daemon

import (
	"errors"
	"strings"
	"testing"
)

// TestConfigCheckListsEveryProblem: unknown keys (with the nearest known
// key), values of the wrong kind and bad values come together, each with
// its line, in user words (no Go types).
func TestConfigCheckListsEveryProblem(t *testing.T) {
	src := `version: 1
camera:
  max_fsp: 10
  infer_every: often
  retry: soon
mqtt:
  brokr: mqtt://x
smoothing:
  window: 0
  treshold: 0.5
panel:
  enabled: maybe
training:
  epochs: [1]
hooks:
  - comand: [a]
`
	_, err := ParseConfig("x.yaml", []byte(src))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want a *ConfigError", err)
	}
	want := []string{
		`line 3: camera.max_fsp: unknown key (did you mean max_fps?)`,
		`line 4: camera.infer_every: "often" is not a whole number`,
		`line 5: camera.retry: "soon" is not a duration`,
		`line 7: mqtt.brokr: unknown key (did you mean broker?)`,
		`line 9: smoothing.window: 0 is not in 1..1000`,
		`line 10: smoothing.treshold: unknown key (did you mean threshold?)`,
		`line 12: panel.enabled: "maybe" is not true or false`,
		`line 14: training.epochs: must be a single value, not a list`,
		`line 16: hooks[0].comand: unknown key (did you mean command?)`,
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in:\n%s", w, msg)
		}
	}
	for _, leak := range []string{"int", "bool", "time.Duration", "mqtt.Config", "not found in type", "!!"} {
		if strings.Contains(msg, leak) {
			t.Errorf("Go/YAML type word %q leaks into:\n%s", leak, msg)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"brokr", "broker", 1}, {"treshold", "threshold", 1}, {"max_fsp", "max_fps", 1}, {"abc", "xyz", 3}, {"", "abc", 3}} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
