package mqtt_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/alphad/alphad/mqtt"
)

func TestConfigValidate(t *testing.T) {
	ok := mqtt.Default()
	ok.Broker = "mqtt://broker.lan"
	ok.DeviceID = "pi-1"
	tests := []struct {
		name string
		edit func(*mqtt.Config)
		errs []string // substrings, each must appear; nil = valid
	}{
		{"defaults", func(*mqtt.Config) {}, nil},
		{"disabled", func(c *mqtt.Config) { *c = mqtt.Default() }, nil},
		{"tls", func(c *mqtt.Config) { c.Broker, c.CAFile = "mqtts://b:8883", "/ca.pem" }, nil},
		{"websocket", func(c *mqtt.Config) { c.Broker = "ws://b/mqtt" }, nil},
		{"everything wrong", func(c *mqtt.Config) {
			c.Broker = "http://b"
			c.DeviceID = "pi 1"
			c.Password, c.PasswordFile = "x", "/pw"
			c.CertFile = "/c.pem"
			c.QoS = 3
			c.TopicPrefix = "a/+/b"
			c.DiscoveryPrefix = "/ha"
			c.DisabledCommands = []string{"explode"}
			c.KeepAlive = 0
			c.ReconnectMin, c.ReconnectMax = time.Second, time.Millisecond
			c.QueueSize = 0
		}, []string{"broker: ", "scheme", "device_id", "password: set password or password_file", "username: required",
			"cert_file", "qos: 3", "topic_prefix", "discovery_prefix", `unknown command "explode"`, "keep_alive",
			"reconnect_max", "queue_size"}},
		{"tls options on plain", func(c *mqtt.Config) { c.InsecureSkipVerify = true }, []string{"need a TLS scheme"}},
		{"credentials in URL", func(c *mqtt.Config) { c.Broker = "mqtt://u:p@b" }, []string{"must not carry credentials"}},
		{"no host", func(c *mqtt.Config) { c.Broker = "mqtt://:1883" }, []string{"no host"}},
		{"device id left to the daemon", func(c *mqtt.Config) { c.DeviceID = "" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.WithDefaults().Validate()
			if tt.errs == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, want := range tt.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), "\"x\"") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestConfigYAML(t *testing.T) {
	cfg := mqtt.Default()
	src := `
broker: mqtts://broker.lan
device_id: shed
username: alphad
password: hunter2
qos: 0
keep_alive: 45s
disabled_commands: [rollback]
`
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.TopicPrefix != "alphad/shed" || cfg.ClientID != "alphad-shed" || cfg.KeepAlive != 45*time.Second ||
		cfg.QoS != 0 || !cfg.Discovery || cfg.DiscoveryPrefix != "homeassistant" || cfg.Password.Reveal() != "hunter2" {
		t.Errorf("decoded %+v", cfg)
	}
	// The password never shows.
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "cfg", cfg, "pw", cfg.Password)
	for _, s := range []string{string(out), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.Password), logged.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("password leaked: %s", s)
		}
	}
}

func TestDeviceIDFromHostname(t *testing.T) {
	for in, want := range map[string]string{
		"raspberrypi":           "raspberrypi",
		"pi-4.local":            "pi-4",
		"Garage Pi":             "Garage_Pi",
		"":                      "alphad",
		strings.Repeat("x", 70): strings.Repeat("x", 64),
	} {
		if got := mqtt.DeviceIDFromHostname(in); got != want {
			t.Errorf("DeviceIDFromHostname(%q) = %q, want %q", in, got, want)
		}
		cfg := mqtt.Default()
		cfg.Broker, cfg.DeviceID = "mqtt://b", mqtt.DeviceIDFromHostname(in)
		if err := cfg.Validate(); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}
