package mqtt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

// TestProbe runs `alphad mqtt test`'s logic against a TLS broker with a
// password file, client certificates and an ACL.
func TestProbe(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	pki := mqtttest.GenerateTLS(t, "alphad test CA")
	other := mqtttest.GenerateTLS(t, "some other CA")
	acl := `user alphad
topic readwrite alphad/pi1/#

user reader
topic read alphad/pi1/#

user nosub
topic write alphad/pi1/#
`
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{
		Users:              map[string]string{"alphad": "s3cret", "reader": "r", "nosub": "n"},
		ACL:                acl,
		TLS:                pki,
		RequireCertificate: true,
	})
	plain := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	base := func() mqtt.Config {
		cfg := mqtt.Default()
		cfg.Broker = b.URL
		cfg.DeviceID = "pi1"
		cfg.Username, cfg.Password = "alphad", "s3cret"
		cfg.CAFile, cfg.CertFile, cfg.KeyFile = pki.CA, pki.ClientCert, pki.ClientKey
		cfg.ConnectTimeout = 2 * time.Second
		return cfg
	}
	tests := []struct {
		name    string
		edit    func(*mqtt.Config)
		want    error  // nil: success
		message string // in the error text
	}{
		{"ok", func(*mqtt.Config) {}, nil, ""},
		{"wrong password", func(c *mqtt.Config) { c.Password = "nope" }, mqtt.ErrNotAuthorized, "CONNACK 5"},
		{"unknown user", func(c *mqtt.Config) { c.Username = "mallory" }, mqtt.ErrNotAuthorized, "CONNACK 5"},
		{"publish denied", func(c *mqtt.Config) { c.Username, c.Password = "reader", "r" }, mqtt.ErrACL,
			"not authorised (ACL) to publish/subscribe on alphad/pi1/availability"},
		{"subscribe denied", func(c *mqtt.Config) { c.Username, c.Password = "nosub", "n" }, mqtt.ErrACL,
			"not authorised (ACL) to publish/subscribe on alphad/pi1/availability"}, // mosquitto 2.0 grants the SUBACK and drops
		{"other topic prefix", func(c *mqtt.Config) { c.TopicPrefix = "elsewhere/pi1" }, mqtt.ErrACL, "elsewhere/pi1/availability"},
		{"untrusted server", func(c *mqtt.Config) { c.CAFile = other.CA }, mqtt.ErrTLSVerify, "certificate"},
		{"insecure skip", func(c *mqtt.Config) { c.CAFile, c.InsecureSkipVerify = "", true }, nil, ""},
		{"no client certificate", func(c *mqtt.Config) { c.CertFile, c.KeyFile = "", "" }, mqtt.ErrClientCertRequired, "client certificate"},
		{"refused", func(c *mqtt.Config) {
			*c = mqtt.Default()
			c.DeviceID = "pi1"
			c.Broker = fmt.Sprintf("mqtt://127.0.0.1:%d", mqtttest.FreePort(t))
		}, mqtt.ErrConnectionRefused, "connection refused"},
		{"dns", func(c *mqtt.Config) {
			*c = mqtt.Default()
			c.DeviceID = "pi1"
			c.Broker = "mqtt://no-such-host.invalid"
		}, mqtt.ErrDNS, "DNS"},
		{"TLS to a plain listener", func(c *mqtt.Config) {
			c.Broker = strings.Replace(plain.URL, "mqtt://", "mqtts://", 1)
		}, mqtt.ErrTLSRejected, "TLS handshake failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.edit(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rep, err := mqtt.Probe(ctx, cfg, time.Second, testLogger())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Probe: %v", err)
				}
				if len(rep.Topics) != 2 {
					t.Errorf("report %+v", rep)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Probe error = %v, want %v", err, tt.want)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q lacks %q", err, tt.message)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "nope") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}
