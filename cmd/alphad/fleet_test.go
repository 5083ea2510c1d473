package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/fleet"
	"github.com/alphad/alphad/mqtt/mqtttest"
)

// TestFleetCLI: keygen, a standalone `model publish --config` of a
// trained version (verified with the public key), `fleet ls --json` of
// the group's retained membership.
func TestFleetCLI(t *testing.T) {
	mqtttest.Binary(t)
	tmp := t.TempDir()
	key := filepath.Join(tmp, "fleet.key")
	if out, errs, code := cli(t, "fleet", "keygen"); code != 2 || !strings.Contains(errs, "--out FILE is required") {
		t.Fatalf("keygen without --out: %d %q %q", code, out, errs)
	}
	out, errs, code := cli(t, "fleet", "keygen", "--out", key, "--comment", "publisher")
	if code != 0 || !strings.Contains(out, "ed25519:") {
		t.Fatalf("keygen: %d %q %q", code, out, errs)
	}
	if _, errs, code := cli(t, "fleet", "keygen", "--out", key); code != 1 || !strings.Contains(errs, "exists") {
		t.Fatalf("keygen over a key: %d %q", code, errs)
	}

	// A trained version on an installed (tiny) backbone.
	state := filepath.Join(tmp, "state")
	sd := "--state-dir=" + state
	bb := writeTinyBackbone(t, tmp)
	data, _ := os.ReadFile(bb)
	sum := sha256.Sum256(data)
	writeClassImages(t, filepath.Join(tmp, "in", "red"), 0, 8, 16)
	writeClassImages(t, filepath.Join(tmp, "in", "green"), 1, 8, 16)
	for _, args := range [][]string{
		{"model", "pull", sd, "tiny", "--mirror", bb, "--sha256", hex.EncodeToString(sum[:])},
		{"dataset", "import", sd, filepath.Join(tmp, "in")},
		{"train", sd, "--epochs", "5"},
	} {
		if out, errs, code := cli(t, args...); code != 0 {
			t.Fatalf("%v: %d\n%s%s", args, code, out, errs)
		}
	}

	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	sub := mqtttest.Subscribe(t, broker.URL, "alphad/fleet/#")
	cfg := filepath.Join(tmp, "alphad.yaml")
	os.WriteFile(cfg, []byte("version: 1\nmqtt:\n  broker: "+broker.URL+"\n  device_id: pub\nfleet:\n  group: shop\n  signing_key: "+key+"\n"), 0o644)
	if _, errs, code := cli(t, "model", "publish", sd); code != 2 || !strings.Contains(errs, "fleet.group") {
		t.Fatalf("publish without a configuration: %d %q", code, errs)
	}
	out, errs, code = cli(t, "model", "publish", sd, "--config", cfg)
	if code != 0 || !strings.Contains(out, "published v000001 on alphad/fleet/shop/model") {
		t.Fatalf("publish: %d %q %q", code, out, errs)
	}
	m := sub.Wait("alphad/fleet/shop/model", 10e9, nil)
	p, err := fleet.Parse(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := fleet.LoadKeyring([]string{key + ".pub"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(kr); err != nil || p.Meta.Publisher != "pub" || p.Meta.Backbone.Name != "tiny" ||
		p.Meta.Backbone.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("publication %+v: %v", p.Meta, err)
	}

	if late := mqtttest.Subscribe(t, broker.URL, "alphad/fleet/shop/model").Wait("alphad/fleet/shop/model", 10e9, nil); !late.Retained {
		t.Error("the publication is not retained")
	}

	// fleet ls reads the retained membership and device topics.
	sub.Publish("alphad/fleet/shop/members/door", true, []byte(`{"device_id":"door","topic_prefix":"alphad/door","trainer":false,"time":"2026-12-01T10:00:00Z"}`))
	sub.Publish("alphad/door/availability", true, []byte("online"))
	sub.Publish("alphad/door/diagnostics", true, []byte(`{"time":"2026-12-01T10:00:05Z","fps":1.0,"model_version":"v000004","fleet":{"adopted":{"publisher":"pub","version":"v000001"}}}`))
	out, errs, code = cli(t, "fleet", "ls", "--config", cfg, "--json")
	var members []fleet.Member
	if code != 0 || json.Unmarshal([]byte(out), &members) != nil || len(members) != 1 {
		t.Fatalf("fleet ls --json: %d %q %q", code, out, errs)
	}
	if mb := members[0]; mb.DeviceID != "door" || mb.Availability != "online" || mb.ModelVersion != "v000004" || mb.Adopted != "pub/v000001" || mb.FPS == nil {
		t.Errorf("member %+v", mb)
	}
	out, _, code = cli(t, "fleet", "ls", "--broker", broker.URL, "--group", "shop")
	if code != 0 || !strings.Contains(out, "door") || !strings.Contains(out, "pub/v000001") {
		t.Errorf("fleet ls: %d %q", code, out)
	}
	if _, errs, code := cli(t, "fleet", "ls", "--broker", broker.URL, "--group", "a/b"); code != 2 || !strings.Contains(errs, "group") {
		t.Errorf("fleet ls with a bad group: %d %q", code, errs)
	}
}
