package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/alphad/alphad/internal/control"
)

// Config is the MQTT section of the daemon's YAML configuration.
// Decode YAML into [Default] so that omitted keys keep their defaults;
// MQTT is off when Broker is empty.
type Config struct {
	// Broker is the broker URL: mqtt:// (or tcp://), mqtts:// (or tls://,
	// ssl://), ws:// or wss://. A missing port gets the scheme's default.
	Broker string `yaml:"broker"`
	// DeviceID names this device in topics and Home Assistant unique ids:
	// letters, digits, '-' and '_'.
	DeviceID string `yaml:"device_id"`
	// ClientID defaults to alphad-<device_id>.
	ClientID string `yaml:"client_id"`
	Username string `yaml:"username"`
	// Password, or PasswordFile (its first line), never both. cmd/alphad
	// fills Password from the environment.
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// CAFile replaces the system roots; CertFile and KeyFile are the client
	// certificate. TLS only.
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify disables server certificate checks (testing only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// QoS of state, discovery, results and training results (0 or 1; 2 is
	// accepted and used as is).
	QoS int `yaml:"qos"`
	// TopicPrefix defaults to alphad/<device_id>.
	TopicPrefix string `yaml:"topic_prefix"`
	// Discovery turns Home Assistant discovery on.
	Discovery       bool   `yaml:"discovery"`
	DiscoveryPrefix string `yaml:"discovery_prefix"`
	// Commands turns the command topics on; DisabledCommands switches
	// single commands off (they get an error answer).
	Commands         bool          `yaml:"commands"`
	DisabledCommands []string      `yaml:"disabled_commands"`
	KeepAlive        time.Duration `yaml:"keep_alive"`
	ConnectTimeout   time.Duration `yaml:"connect_timeout"`
	// ReconnectMin and ReconnectMax bound the backoff between connection
	// attempts (jittered, doubling).
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// StateInterval is the least time between two state messages carrying
	// the same label; a label change is sent at once. 0 sends every state.
	StateInterval time.Duration `yaml:"state_interval"`
	// DiagnosticsInterval is how often Run polls Options.Diagnostics.
	DiagnosticsInterval time.Duration `yaml:"diagnostics_interval"`
	// QueueSize bounds the offline queue of events and command results.
	QueueSize int `yaml:"queue_size"`
	// ImageInterval publishes what the camera sees (a JPEG of the model's
	// input) on <prefix>/image at most this often, with a Home Assistant
	// image entity; 0 = off (the default: frames can be private).
	ImageInterval time.Duration `yaml:"image_interval"`
}

// Default returns the configuration defaults (MQTT off: no broker).
func Default() Config {
	return Config{
		QoS:                 1,
		Discovery:           true,
		DiscoveryPrefix:     "homeassistant",
		Commands:            true,
		KeepAlive:           30 * time.Second,
		ConnectTimeout:      10 * time.Second,
		ReconnectMin:        time.Second,
		ReconnectMax:        2 * time.Second,
		StateInterval:       time.Second,
		DiagnosticsInterval: time.Minute,
		QueueSize:           64,
	}
}

// Enabled reports whether a broker is configured.
func (c Config) Enabled() bool { return c.Broker != "" }

// WithDefaults fills the fields derived from DeviceID: ClientID and
// TopicPrefix.
func (c Config) WithDefaults() Config {
	if c.ClientID == "" && c.DeviceID != "" {
		c.ClientID = "alphad-" + c.DeviceID
	}
	if c.TopicPrefix == "" && c.DeviceID != "" {
		c.TopicPrefix = "alphad/" + c.DeviceID
	}
	return c
}

var deviceIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate reports every bad field of an enabled configuration at once; a
// disabled configuration is valid. It applies WithDefaults first. An empty
// DeviceID passes (the daemon fills it from the host name, see
// DeviceIDFromHostname); New requires it.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	c = c.WithDefaults()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("mqtt: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	u, err := parseBroker(c.Broker)
	if err != nil {
		bad("broker", "%v", err)
	}
	if c.DeviceID != "" && !deviceIDRe.MatchString(c.DeviceID) {
		bad("device_id", "%q must be 1-64 letters, digits, '-' or '_'", c.DeviceID)
	}
	if len(c.ClientID) > 128 {
		bad("client_id", "longer than 128 bytes")
	}
	if c.Password != "" && c.PasswordFile != "" {
		bad("password", "set password or password_file, not both")
	}
	if (c.Password != "" || c.PasswordFile != "") && c.Username == "" {
		bad("username", "required with a password")
	}
	tlsFields := c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.InsecureSkipVerify
	if u != nil && tlsFields && !isTLSScheme(u.Scheme) {
		bad("broker", "ca_file, cert_file, key_file and insecure_skip_verify need a TLS scheme (mqtts://, tls://, wss://), got %s://", u.Scheme)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("cert_file", "cert_file and key_file go together")
	}
	if c.QoS < 0 || c.QoS > 2 {
		bad("qos", "%d is not 0, 1 or 2", c.QoS)
	}
	if c.TopicPrefix != "" || c.DeviceID != "" {
		if err := validTopicPrefix(c.TopicPrefix); err != nil {
			bad("topic_prefix", "%v", err)
		}
	}
	if c.Discovery {
		if err := validTopicPrefix(c.DiscoveryPrefix); err != nil {
			bad("discovery_prefix", "%v", err)
		}
	}
	for _, name := range c.DisabledCommands {
		if spec, ok := control.Lookup(name); !ok || spec.Bulk {
			bad("disabled_commands", "unknown command %q (want one of %s)", name, strings.Join(control.Names(false), ", "))
		}
	}
	durations := []struct {
		field string
		v     time.Duration
		min   time.Duration
	}{
		{"keep_alive", c.KeepAlive, time.Second},
		{"connect_timeout", c.ConnectTimeout, 100 * time.Millisecond},
		{"reconnect_min", c.ReconnectMin, time.Millisecond},
		{"reconnect_max", c.ReconnectMax, time.Millisecond},
		{"state_interval", c.StateInterval, 0},
		{"diagnostics_interval", c.DiagnosticsInterval, time.Second},
	}
	for _, d := range durations {
		if d.v < d.min {
			bad(d.field, "%v is below %v", d.v, d.min)
		}
	}
	if c.ReconnectMax < c.ReconnectMin {
		bad("reconnect_max", "%v is below reconnect_min %v", c.ReconnectMax, c.ReconnectMin)
	}
	if c.QueueSize < 1 || c.QueueSize > 100000 {
		bad("queue_size", "%d is not in 1..100000", c.QueueSize)
	}
	if c.ImageInterval != 0 && (c.ImageInterval < time.Second || c.ImageInterval > 24*time.Hour) {
		bad("image_interval", "%v is not 0 (off) or in 1s..24h", c.ImageInterval)
	}
	return errors.Join(errs...)
}

// DeviceIDFromHostname turns a host name into a valid DeviceID: the first
// label, with characters other than letters, digits, '-' and '_' replaced
// by '_' ("alphad" when nothing is left).
func DeviceIDFromHostname(host string) string {
	host, _, _ = strings.Cut(host, ".")
	b := []byte(host)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "alphad"
	}
	return string(b)
}

func validTopicPrefix(p string) error {
	switch {
	case p == "":
		return errors.New("empty")
	case strings.ContainsAny(p, "+#\x00"):
		return fmt.Errorf("%q contains a wildcard or NUL", p)
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//"):
		return fmt.Errorf("%q has an empty level", p)
	case strings.HasPrefix(p, "$"):
		return fmt.Errorf("%q starts with $ (reserved)", p)
	case len(p) > 200:
		return fmt.Errorf("longer than 200 bytes")
	}
	return nil
}

func isTLSScheme(s string) bool {
	switch s {
	case "mqtts", "tls", "ssl", "wss":
		return true
	}
	return false
}

// parseBroker checks the broker URL and adds the scheme's default port.
func parseBroker(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", raw, err)
	}
	var port string
	switch u.Scheme {
	case "mqtt", "tcp":
		port = "1883"
	case "mqtts", "tls", "ssl":
		port = "8883"
	case "ws":
		port = "80"
	case "wss":
		port = "443"
	default:
		return nil, fmt.Errorf("%q: scheme must be mqtt, tcp, mqtts, tls, ssl, ws or wss", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q: no host", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("broker URL must not carry credentials: use username and password")
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), port)
	}
	return u, nil
}

// password resolves Password or PasswordFile.
func (c Config) password() (string, error) {
	if c.PasswordFile == "" {
		return string(c.Password), nil
	}
	b, err := os.ReadFile(c.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("mqtt: password_file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// tlsConfig builds the TLS settings for a TLS broker URL (nil otherwise).
func (c Config) tlsConfig(u *url.URL) (*tls.Config, error) {
	if !isTLSScheme(u.Scheme) {
		return nil, nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         u.Hostname(),
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // explicit, documented opt-in
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt: ca_file %s: no PEM certificate found", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Secret is a string that never prints: fmt, slog, YAML and JSON all show
// "[redacted]".
type Secret string

const redacted = "[redacted]"

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return `"` + redacted + `"` }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalYAML hides the secret when a configuration is dumped.
func (s Secret) MarshalYAML() (any, error) {
	if s == "" {
		return "", nil
	}
	return redacted, nil
}

// MarshalText hides the secret in JSON and other text encodings.
func (s Secret) MarshalText() ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	return []byte(redacted), nil
}

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }
