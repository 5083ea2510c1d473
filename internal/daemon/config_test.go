package daemon

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestExampleConfigIsDefaults(t *testing.T) {
	got, err := ParseConfig("example", []byte(ExampleConfig))
	if err != nil {
		t.Fatal(err)
	}
	// Compare as YAML: the example spells empty lists as [] where the
	// defaults have nil.
	g, _ := yaml.Marshal(got)
	w, _ := yaml.Marshal(DefaultConfig())
	if string(g) != string(w) {
		t.Fatalf("example differs from defaults:\n got %s\nwant %s", g, w)
	}
}

func TestEmptyConfigIsDefaults(t *testing.T) {
	got, err := ParseConfig("empty", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, DefaultConfig()) {
		t.Fatal("empty file must give the defaults")
	}
}

func TestConfigErrorsHaveLines(t *testing.T) {
	src := `version: 1
camera:
  source: "bogus:thing"
  infer_every: 0
model:
  engine: turbo
smoothing:
  window: 0
mqtt:
  broker: mqtt://localhost:1883
  qos: 7
hooks:
  - name: h
    url: ftp://x
`
	_, err := ParseConfig("alphad.yaml", []byte(src))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("want *ConfigError, got %v", err)
	}
	want := map[string]int{
		"camera.source":      3,
		"camera.infer_every": 4,
		"model.engine":       6,
		"smoothing.window":   8,
		"mqtt.qos":           11,
		"hooks[0].url":       14,
	}
	got := map[string]int{}
	for _, f := range ce.Fields {
		got[f.Path] = f.Line
	}
	for p, line := range want {
		if got[p] != line {
			t.Errorf("%s: line %d, want %d (all: %v)", p, got[p], line, err)
		}
	}
	if !strings.Contains(err.Error(), "alphad.yaml") {
		t.Errorf("error does not name the file: %v", err)
	}
}

func TestUnknownKeyHasLine(t *testing.T) {
	_, err := ParseConfig("c.yaml", []byte("version: 1\ncamera:\n  sauce: x\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "sauce") {
		t.Fatalf("want line 3 naming the key, got %v", err)
	}
}

func TestBadVersion(t *testing.T) {
	_, err := ParseConfig("c.yaml", []byte("version: 9\n"))
	if err == nil || !strings.Contains(err.Error(), "line 1: version") {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(ExampleConfig))
	f.Add([]byte("version: 1\nmqtt: {broker: 'mqtt://x'}\n"))
	f.Add([]byte("hooks: [{}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := ParseConfig("fuzz", b)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("parsed config fails Validate: %v", verr)
			}
		}
	})
}
