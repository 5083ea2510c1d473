package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/camerafile"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/fleet"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/mqtt/mqtttest"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

// fleetDiag is the part of <prefix>/diagnostics the fleet tests read.
type fleetDiag struct {
	ModelVersion string        `json:"model_version"`
	Fleet        *fleet.Status `json:"fleet"`
}

// fleetRig is a group of daemons on real brokers.
type fleetRig struct {
	t       *testing.T
	rps     string
	eng     testEngine
	sub     *mqtttest.Subscriber
	keyA    string // private key file of the trusted publisher
	pubA    string // its .pub
	rogue   string // an untrusted private key
	feature string // the shared features backbone (file)
}

func newFleetRig(t *testing.T, subURL string) *fleetRig {
	t.Helper()
	r := &fleetRig{t: t, rps: testshared.Path(t, "datasets", "rps_picam"), eng: testEngines()[len(testEngines())-1]}
	r.feature = testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant_features.tflite")
	dir := t.TempDir()
	r.keyA, r.rogue = filepath.Join(dir, "a.key"), filepath.Join(dir, "rogue.key")
	for _, k := range []string{r.keyA, r.rogue} {
		if _, err := fleet.GenerateKey(k, "test"); err != nil {
			t.Fatal(err)
		}
	}
	r.pubA = r.keyA + ".pub"
	r.sub = mqtttest.Subscribe(t, subURL, "alphad/#")
	return r
}

// daemon makes a daemon called id on broker with its fleet section; its
// file camera shows a folder of rps_picam photos.
func (r *fleetRig) daemon(id, brokerURL, state, class string, fc fleet.Config, backbone bool) *Daemon {
	r.t.Helper()
	cfg := testConfig()
	cfg.Model.Backbone = "features"
	cfg.Model.Mirror = r.feature // an adopter without the backbone pulls it from here
	if backbone {
		installBackbone(r.t, state, cfg.Model.Backbone)
	}
	cfg.Training.Epochs = 15
	cfg.Recording.Rate = 10
	cfg.MQTT.Broker = brokerURL
	cfg.MQTT.DeviceID = id
	cfg.MQTT.Discovery = false
	cfg.MQTT.ReconnectMin, cfg.MQTT.ReconnectMax = 100*time.Millisecond, 500*time.Millisecond
	cfg.Fleet = fc
	cfg.Fleet.Group = "shop"
	dir := filepath.Join(r.rps, class)
	d, err := New(Options{Config: cfg, StateDir: state, Log: testLog(r.t), Engine: r.eng.new, DeviceID: id,
		OpenCamera: func(context.Context) (device.Camera, error) {
			return camerafile.OpenDir(dir, camerafile.Config{FPS: 5, Loop: true})
		},
		MQTT: func(o mqtt.Options) (Link, error) { return mqtt.New(cfg.MQTT, o) }})
	if err != nil {
		r.t.Fatalf("daemon %s: %v", id, err)
	}
	return d
}

// diag is the newest diagnostics of device id.
func (r *fleetRig) diag(id string) fleetDiag {
	msgs := r.sub.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Topic == "alphad/"+id+"/diagnostics" {
			var d fleetDiag
			json.Unmarshal(msgs[i].Payload, &d)
			return d
		}
	}
	return fleetDiag{}
}

// runs reports whether device id's diagnostics say it runs publication
// publisher/version.
func (r *fleetRig) runs(id, publisher, version string) bool {
	d := r.diag(id)
	a := d.Fleet
	return a != nil && a.Adopted != nil && a.Adopted.Publisher == publisher && a.Adopted.Version == version &&
		d.ModelVersion == a.Adopted.LocalVersion && d.ModelVersion != ""
}

// teach adds n rps_picam photos of each class to d and trains. With
// -short (the race pass, where training takes minutes) it commits an
// untrained head instead: the rollout is the same.
func (r *fleetRig) teachAndTrain(d *Daemon, n int, classes ...string) string {
	r.t.Helper()
	ctx := context.Background()
	if testing.Short() {
		names, err := d.models.NamedBackbones()
		if err != nil {
			r.t.Fatal(err)
		}
		h, err := head.New(1280, 0, len(classes), uint64(n))
		if err != nil {
			r.t.Fatal(err)
		}
		v, err := d.models.Commit(store.Version{Kind: store.KindHead, Labels: classes, Backbone: names["features"], Source: "test"}, h)
		if err != nil {
			r.t.Fatal(err)
		}
		return v.Name
	}
	for _, c := range classes {
		ents, _ := os.ReadDir(filepath.Join(r.rps, c))
		var files []control.File
		for _, e := range ents[len(ents)-n:] {
			data, err := os.ReadFile(filepath.Join(r.rps, c, e.Name()))
			if err != nil {
				r.t.Fatal(err)
			}
			files = append(files, control.File{Name: e.Name(), Data: data})
		}
		if _, err := d.Do(ctx, control.Command{Name: control.AddSamples, Label: c, Files: files}, "test"); err != nil {
			r.t.Fatal(err)
		}
	}
	res, err := d.Do(ctx, control.Command{Name: control.Train, Wait: true}, "test")
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Details["model_version"].(string)
}

func publish(t *testing.T, d *Daemon) control.Result {
	t.Helper()
	res, err := d.Do(context.Background(), control.Command{Name: control.Publish}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestFleetRollout: one mosquitto, three daemons. A model trained and
// published on A runs on B and C within 10 s (C pulls the backbone it
// lacks); publications signed by an unknown key or tampered with are
// refused by both; B, restarted later, adopts the retained model.
func TestFleetRollout(t *testing.T) {
	mqtttest.Binary(t)
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	r := newFleetRig(t, broker.URL)
	testFleetRollout(t, r, broker.URL, broker.URL)
}

// TestFleetBridged: the same rollout with A on one mosquitto and B, C on
// another, the two bridged to each other.
func TestFleetBridged(t *testing.T) {
	mqtttest.Binary(t)
	one := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	two := mqtttest.StartBroker(t, mqtttest.BrokerOptions{Extra: "connection one\naddress " + one.Addr +
		"\nremote_clientid bridge-one\ntopic alphad/# both 1\ncleansession true\nrestart_timeout 1\n"})
	mqtttest.Subscribe(t, two.URL, "$SYS/broker/connection/bridge-one/state").Wait("$SYS/broker/connection/bridge-one/state", 20*time.Second,
		func(m mqtttest.Message) bool { return string(m.Payload) == "1" })
	r := newFleetRig(t, two.URL) // the subscriber sees A's messages through the bridge
	testFleetRollout(t, r, one.URL, two.URL)
}

func testFleetRollout(t *testing.T, r *fleetRig, urlA, urlBC string) {
	trust := []string{r.pubA}
	stA, stB, stC := t.TempDir(), t.TempDir(), t.TempDir()
	a := r.daemon("a", urlA, stA, "rock", fleet.Config{SigningKey: r.keyA}, true)
	b := r.daemon("b", urlBC, stB, "rock", fleet.Config{Adopt: true, TrustedKeys: trust}, true)
	c := r.daemon("c", urlBC, stC, "paper", fleet.Config{Adopt: true, TrustedKeys: trust}, false) // no backbone: pulls it
	start(t, a, nil)
	runB := start(t, b, nil)
	start(t, c, nil)
	for _, id := range []string{"a", "b", "c"} {
		r.sub.Wait("alphad/"+id+"/availability", 20*time.Second, func(m mqtttest.Message) bool { return string(m.Payload) == "online" })
	}
	waitFor(t, 20*time.Second, "fleet links up", func() bool {
		return a.fleet.link.Status().Connected && b.fleet.link.Status().Connected && c.fleet.link.Status().Connected
	})

	v1 := r.teachAndTrain(a, 12, "rock", "paper")
	t0 := time.Now()
	publish(t, a)
	took := map[string]time.Duration{}
	waitFor(t, rolloutBound, "B and C running A's "+v1, func() bool {
		for _, id := range []string{"b", "c"} {
			if _, ok := took[id]; !ok && r.runs(id, "a", v1) {
				took[id] = time.Since(t0)
			}
		}
		return len(took) == 2
	})
	t.Logf("rollout of a/%s: b %v, c %v", v1, took["b"].Round(time.Millisecond), took["c"].Round(time.Millisecond))
	// C runs it: a paper frame is classified as paper with A's model.
	waitFor(t, 20*time.Second, "C deciding with A's model", func() bool {
		s := lastState(r.sub, "alphad/c/")
		return (s.Label == "paper" || testing.Short()) && s.ModelVersion == r.diag("c").ModelVersion
	})
	if st := a.fleet.link.Status(); st.Adopted != nil || st.Published == nil || st.Published.Version != v1 {
		t.Errorf("A's fleet status %+v: want published %s, nothing adopted", st, v1)
	}
	// The origin is recorded and rollback works.
	vb := r.diag("b").ModelVersion
	v, err := b.models.Version(vb)
	if err != nil || v.Origin == nil || v.Origin.Publisher != "a" || v.Origin.Version != v1 || v.Origin.KeyID != fleetKeyID(t, r.pubA) {
		t.Fatalf("B's %s: origin %+v (%v)", vb, v.Origin, err)
	}

	// Refused: a publication signed by an untrusted key, and A's
	// publication tampered with. Neither replaces anything.
	keyA, err := fleet.ReadPrivateKey(r.keyA)
	if err != nil {
		t.Fatal(err)
	}
	rogueKey, err := fleet.ReadPrivateKey(r.rogue)
	if err != nil {
		t.Fatal(err)
	}
	meta, body, err := fleet.FromVersion(a.models, "", "a", "shop", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	meta.Created = meta.Created.Add(time.Hour) // "newer": only the signature stops it
	rogue, err := fleet.Encode(meta, body, rogueKey)
	if err != nil {
		t.Fatal(err)
	}
	tampered, err := fleet.Encode(meta, body, keyA)
	if err != nil {
		t.Fatal(err)
	}
	tampered[len(tampered)-fleetSigSize-10] ^= 0x40 // a head byte
	for i, env := range [][]byte{rogue, tampered} {
		for _, m := range fleet.Messages("shop", env, fleet.PartSize) { // in parts, as alphad sends it
			r.sub.Publish(m.Topic, true, m.Payload)
		}
		waitFor(t, 10*time.Second, "B and C refusing", func() bool {
			return b.fleet.link.Status().Refused == uint64(i+1) && c.fleet.link.Status().Refused == uint64(i+1)
		})
	}
	for _, d := range []*Daemon{b, c} {
		st := d.fleet.link.Status()
		if !strings.Contains(st.LastRefused, fleet.ErrBadSignature.Error()) {
			t.Errorf("last refusal %q: want a bad signature", st.LastRefused)
		}
		if m := d.model.clf.Model(); m == nil || m.Version != st.Adopted.LocalVersion {
			t.Errorf("a refused publication replaced the model: %v", m)
		}
	}

	// B stops; A trains and publishes again; B, restarted, adopts the
	// retained publication. C adopts it live; B's old adoption is not
	// repeated.
	runB.stop(t)
	v2 := r.teachAndTrain(a, 4, "rock", "paper")
	publish(t, a)
	waitFor(t, rolloutBound, "C running "+v2, func() bool { return r.runs("c", "a", v2) })
	b2 := r.daemon("b", urlBC, stB, "rock", fleet.Config{Adopt: true, TrustedKeys: trust}, false)
	if st := b2.fleet.link.Status(); st.Adopted == nil || st.Adopted.Version != v1 {
		t.Errorf("restarted B's status %+v: want the adoption of %s from its store", st.Adopted, v1)
	}
	start(t, b2, nil)
	waitFor(t, 20*time.Second, "restarted B running "+v2, func() bool { return r.runs("b", "a", v2) })
	list, cur, _ := b2.models.List()
	if len(list) != 2 || cur != list[1].Name {
		t.Errorf("B's versions %v (current %s): want its two adoptions", names(list), cur)
	}
	// Re-delivery of the same publication (a reconnect) adopts nothing.
	res, err := b2.Do(context.Background(), control.Command{Name: control.Adopt}, "test")
	if err != nil || res.Details["adopted"] != false || !strings.Contains(res.Message, "already adopted") {
		t.Errorf("adopting again: %v %v", res, err)
	}
	// A never adopts its own publication (it does not subscribe; asked,
	// it refuses without force).
	if _, err := a.Do(context.Background(), control.Command{Name: control.Adopt}, "test"); err == nil {
		t.Error("A adopted without receiving a publication")
	}
	// No signing key, no publishing.
	if _, err := b2.Do(context.Background(), control.Command{Name: control.Publish}, "test"); err == nil || !strings.Contains(err.Error(), "no fleet.signing_key") {
		t.Errorf("publish without a key: %v", err)
	}
	// Rollback on B goes back to the first adoption.
	if _, err := b2.Do(context.Background(), control.Command{Name: control.Rollback}, "test"); err != nil {
		t.Fatal(err)
	}
	if m := b2.model.clf.Model(); m == nil || m.Version != list[0].Name {
		t.Errorf("after rollback B runs %v, want %s", m, list[0].Name)
	}
	// An older publication is not adopted over a newer model.
	if reason := fleet.Skip(&fleet.Publication{Meta: fleet.Meta{Publisher: "x", Version: "v000001", Created: time.Unix(0, 0)}},
		"b", list, list[1].Name, false); !strings.HasPrefix(reason, "older") {
		t.Errorf("skip of an old publication: %q", reason)
	}
}

const fleetSigSize = 64

// rolloutBound is the acceptance bound on a rollout (10 s); the race
// detector slows everything several-fold.
var rolloutBound = map[bool]time.Duration{false: 10 * time.Second, true: time.Minute}[raceOn]

func fleetKeyID(t *testing.T, pubFile string) string {
	kr, err := fleet.LoadKeyring([]string{pubFile})
	if err != nil || len(kr) != 1 {
		t.Fatal(err)
	}
	for id := range kr {
		return id
	}
	return ""
}

func names(vs []store.Version) []string {
	var n []string
	for _, v := range vs {
		n = append(n, v.Name)
	}
	return n
}

// TestFleetPooledSamples: two devices share the samples they record; a
// trainer stores them per device, trains on the union and publishes the
// result, which both devices adopt.
func TestFleetPooledSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on the pooled samples: runs in the plain pass (the race pass is -short)")
	}
	mqtttest.Binary(t)
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	r := newFleetRig(t, broker.URL)
	trust := []string{r.pubA}
	share := fleet.Config{Adopt: true, TrustedKeys: trust, ShareSamples: true}
	d1 := r.daemon("d1", broker.URL, t.TempDir(), "rock", share, false)
	d2 := r.daemon("d2", broker.URL, t.TempDir(), "paper", share, false)
	tr := r.daemon("trainer", broker.URL, t.TempDir(), "rock", fleet.Config{Trainer: true, SigningKey: r.keyA}, true)
	for _, d := range []*Daemon{d1, d2, tr} {
		start(t, d, nil)
	}
	waitFor(t, 20*time.Second, "fleet links up", func() bool {
		return d1.fleet.link.Status().Connected && d2.fleet.link.Status().Connected && tr.fleet.link.Status().Connected
	})
	const n = 8
	ctx := context.Background()
	for _, c := range []struct {
		d     *Daemon
		label string
	}{{d1, "rock"}, {d2, "paper"}} {
		if _, err := c.d.Do(ctx, control.Command{Name: control.Capture, Label: c.label, Count: n, Interval: 100 * time.Millisecond}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the trainer storing both devices' samples", func() bool {
		c := tr.st.Counts()
		return c["rock"] == n && c["paper"] == n
	})
	sources := map[string]int{}
	for _, s := range tr.st.Samples() {
		sources[s.Label+" "+s.Source]++
	}
	if sources["rock fleet:d1"] != n || sources["paper fleet:d2"] != n {
		t.Errorf("trainer's samples by source: %v", sources)
	}
	if st := d1.fleet.link.Status(); st.SamplesShared != n {
		t.Errorf("d1 shared %d samples, want %d", st.SamplesShared, n)
	}
	res, err := tr.Do(ctx, control.Command{Name: control.Train, Wait: true}, "test")
	if err != nil {
		t.Fatal(err)
	}
	v := res.Details["model_version"].(string)
	waitFor(t, 20*time.Second, "d1 and d2 running the trainer's "+v, func() bool {
		return r.runs("d1", "trainer", v) && r.runs("d2", "trainer", v)
	})
	waitFor(t, 20*time.Second, "d2 deciding paper with the pooled model", func() bool {
		s := lastState(r.sub, "alphad/d2/")
		return s.Label == "paper" && s.ModelVersion == r.diag("d2").ModelVersion
	})
}

// TestFleetMembers: the fleet view lists every member with its
// availability, model version and fps.
func TestFleetMembers(t *testing.T) {
	mqtttest.Binary(t)
	broker := mqtttest.StartBroker(t, mqtttest.BrokerOptions{})
	r := newFleetRig(t, broker.URL)
	a := r.daemon("a", broker.URL, t.TempDir(), "rock", fleet.Config{SigningKey: r.keyA}, true)
	b := r.daemon("b", broker.URL, t.TempDir(), "rock", fleet.Config{Adopt: true, TrustedKeys: []string{r.pubA}}, true)
	start(t, a, nil)
	runB := start(t, b, nil)
	waitFor(t, 20*time.Second, "A seeing both members online", func() bool {
		m := members(a)
		return len(m) == 2 && m[0].Availability == "online" && m[1].Availability == "online" && m[1].DeviceID == "b"
	})
	runB.stop(t)
	waitFor(t, 20*time.Second, "A seeing B offline", func() bool {
		m := members(a)
		return len(m) == 2 && m[1].Availability == "offline" && !m[1].LastSeen.IsZero()
	})
	ids := []string{}
	for _, m := range members(a) {
		ids = append(ids, m.DeviceID)
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != "a,b" {
		t.Errorf("members %v", ids)
	}
}

func members(d *Daemon) []fleet.Member {
	_, m := d.FleetView()
	return m
}

func TestFleetConfig(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"fleet: {group: shop}", "fleet.group: the fleet works over MQTT"},
		{"mqtt: {broker: mqtt://x, device_id: fleet}\nfleet: {group: shop}", "mqtt.topic_prefix"},
		{"mqtt: {broker: mqtt://x}\nfleet: {group: shop, adopt: true}", "fleet.trusted_keys"},
		{"mqtt: {broker: mqtt://x}\nfleet: {group: 'a b'}", "fleet.group"},
		{"fleet: {trainer: true}", "fleet.group: required"},
	} {
		_, err := ParseConfig("t.yaml", []byte("version: 1\n"+c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.yaml, err, c.want)
		}
	}
	if _, err := ParseConfig("t.yaml", []byte("version: 1\nmqtt: {broker: mqtt://x, device_id: a}\nfleet: {group: shop, adopt: true, trusted_keys: [x.pub]}")); err != nil {
		t.Error(err)
	}
}
