package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/mqtt/mqtttest"
)

func TestMQTTTestCmd(t *testing.T) {
	b := mqtttest.StartBroker(t, mqtttest.BrokerOptions{
		Users: map[string]string{"alphad": "pw"},
		ACL:   "user alphad\ntopic readwrite alphad/pi1/#\n",
	})
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		out  string // in stdout (success) or stderr (failure)
	}{
		{"password file", []string{"--username", "alphad", "--password-file", pwFile}, nil, 0, "published and received alphad/pi1/state"},
		{"password from env", []string{"--username", "alphad"}, map[string]string{"ALPHAD_MQTT_PASSWORD": "pw"}, 0, "ok: connected"},
		{"wrong password", []string{"--username", "alphad"}, map[string]string{"ALPHAD_MQTT_PASSWORD": "no"}, 1, "CONNACK 5"},
		{"acl", []string{"--username", "alphad", "--password-file", pwFile, "--topic-prefix", "other/pi1", "--echo-timeout", "300ms"}, nil, 1,
			"not authorised (ACL) to publish/subscribe on other/pi1/availability"},
		{"bad flags", []string{"--ca", "/ca.pem"}, nil, 2, "need a TLS scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			d := newDeps(&stdout, &stderr)
			d.getenv = func(k string) string { return tt.env[k] }
			root := newRootCmd(d)
			root.SetArgs(append([]string{"mqtt", "test", "--broker", b.URL, "--device-id", "pi1"}, tt.args...))
			code := 0
			if err := root.ExecuteContext(context.Background()); err != nil {
				code = exitCode(err, &stderr)
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, &stdout, &stderr)
			}
			got := stdout.String()
			if code != 0 {
				got = stderr.String()
			}
			if !strings.Contains(got, tt.out) {
				t.Errorf("output lacks %q:\n%s", tt.out, got)
			}
			if strings.Contains(stdout.String()+stderr.String(), "pw\n") {
				t.Errorf("password printed")
			}
		})
	}
}
