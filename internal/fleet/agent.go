package fleet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/mqtt"
)

// Device is the daemon as the fleet link drives it: its command layer
// (adopt, add_samples, train, publish go through it like any transport's).
type Device interface {
	Do(ctx context.Context, cmd control.Command, source string) (control.Result, error)
}

// Options are an Agent's dependencies.
type Options struct {
	Config Config
	// MQTT is the daemon's MQTT configuration: broker, credentials, TLS,
	// device id and topic prefix (the fleet link has a connection of its
	// own, client id <client_id>-fleet).
	MQTT   mqtt.Config
	Device Device
	// SampleImage returns the PNG of a stored sample (share_samples).
	SampleImage func(id string) ([]byte, error)
	Log         *slog.Logger
	Now         func() time.Time
}

// Status is the fleet part of the device's diagnostics.
type Status struct {
	Group     string     `json:"group"`
	Adopt     bool       `json:"adopt"`
	Trainer   bool       `json:"trainer,omitempty"`
	Connected bool       `json:"connected"`
	Adopted   *Adoption  `json:"adopted,omitempty"`
	Published *Published `json:"published,omitempty"`
	// Refused counts publications refused for a bad or unknown signature
	// or a bad format; LastRefused says why the last one was.
	Refused         uint64 `json:"refused"`
	LastRefused     string `json:"last_refused,omitempty"`
	SamplesShared   uint64 `json:"samples_shared,omitempty"`
	SamplesReceived uint64 `json:"samples_received,omitempty"`
	SamplesDropped  uint64 `json:"samples_dropped,omitempty"`
}

// Adoption is the publication the model in use came from.
type Adoption struct {
	Publisher    string    `json:"publisher"`
	Version      string    `json:"version"`
	LocalVersion string    `json:"local_version"`
	KeyID        string    `json:"key_id"`
	At           time.Time `json:"at"`
}

// Published is this device's last publication.
type Published struct {
	Version string    `json:"version"`
	At      time.Time `json:"at"`
	Bytes   int       `json:"bytes"`
}

// pubReq is a publication waiting for the connection: its messages
// (retained, QoS 1), in order.
type pubReq struct {
	msgs []Message
	done chan error // nil: nobody waits
}

// Agent is the fleet link: a Link (Notify + Run) beside the daemon's own
// MQTT link. It publishes signed model versions, receives the group's
// publication and hands it to the daemon's adopt command after checking
// its signature, shares samples (opt-in), stores and trains on shared
// samples (trainer) and keeps the fleet view.
type Agent struct {
	cfg      Config
	mq       mqtt.Config
	dev      Device
	image    func(id string) ([]byte, error)
	log      *slog.Logger
	now      func() time.Time
	deviceID string
	key      ed25519.PrivateKey // nil: no publishing
	trusted  Keyring
	view     *View

	models  chan []byte               // latest received publication (1 slot, newest wins)
	samples chan []byte               // received samples (trainer)
	share   chan control.SampleStored // samples to share
	out     chan pubReq               // publications to send
	autoPub chan string               // trainer: versions to publish
	subs    chan []string             // device topics to subscribe (view)

	asmMu sync.Mutex
	asm   *Assembler // publications in parts

	mu          sync.Mutex
	latest      *Publication
	st          Status
	newSamples  int // trainer: samples stored since the last training
	lastTrained time.Time
}

// New loads the keys and returns an Agent (not yet connected).
func New(o Options) (*Agent, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	if !o.Config.Enabled() || !o.MQTT.Enabled() {
		return nil, errors.New("fleet: needs fleet.group and mqtt.broker")
	}
	if o.Device == nil {
		return nil, errors.New("fleet: Device is required")
	}
	o.MQTT = o.MQTT.WithDefaults()
	a := &Agent{cfg: o.Config, mq: o.MQTT, dev: o.Device, image: o.SampleImage, log: o.Log, now: o.Now,
		deviceID: o.MQTT.DeviceID, view: NewView(o.Config.Group), asm: NewAssembler(),
		models: make(chan []byte, 1), samples: make(chan []byte, 64), share: make(chan control.SampleStored, 64),
		out: make(chan pubReq, 16), autoPub: make(chan string, 4), subs: make(chan []string, 256)}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.st = Status{Group: o.Config.Group, Adopt: o.Config.Adopt, Trainer: o.Config.Trainer}
	var err error
	if o.Config.SigningKey != "" {
		if a.key, err = ReadPrivateKey(o.Config.SigningKey); err != nil {
			return nil, err
		}
	}
	if a.trusted, err = LoadKeyring(o.Config.TrustedKeys); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	return a, nil
}

// Status returns a snapshot for diagnostics.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.st
	if s.Adopted != nil {
		c := *s.Adopted
		s.Adopted = &c
	}
	return s
}

// Members is the fleet view.
func (a *Agent) Members() []Member { return a.view.Members() }

// Latest is the last publication received with a good signature (nil:
// none).
func (a *Agent) Latest() *Publication {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.latest
}

// SetAdopted records that the model in use came from a publication
// (the daemon calls it after the swap, and at start).
func (a *Agent) SetAdopted(ad *Adoption) {
	a.mu.Lock()
	a.st.Adopted = ad
	a.mu.Unlock()
}

// Publish signs meta and body and publishes them retained (QoS 1) on the
// group's model topic; it returns once the broker acknowledged, or when
// ctx ends (the publication then still goes out on the next connection).
func (a *Agent) Publish(ctx context.Context, meta Meta, body []byte) (int, error) {
	if a.key == nil {
		return 0, errors.New("fleet: publish: no fleet.signing_key configured (publishing is off)")
	}
	meta.Group = a.cfg.Group
	data, err := Encode(meta, body, a.key)
	if err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	select {
	case a.out <- pubReq{msgs: Messages(a.cfg.Group, data, PartSize), done: done}:
	case <-ctx.Done():
		return 0, fmt.Errorf("fleet: publish: %w", ctx.Err())
	}
	select {
	case err := <-done:
		if err != nil {
			return 0, err
		}
	case <-ctx.Done():
		return 0, fmt.Errorf("fleet: publish %s: not acknowledged yet (%w); it goes out when the broker is reachable", meta.Version, ctx.Err())
	}
	a.mu.Lock()
	a.st.Published = &Published{Version: meta.Version, At: meta.Published, Bytes: len(data)}
	a.mu.Unlock()
	a.log.Info("fleet: model published", "version", meta.Version, "topic", ModelTopic(a.cfg.Group), "bytes", len(data), "key_id", KeyID(a.key.Public().(ed25519.PublicKey)))
	return len(data), nil
}

// Notify consumes the daemon's events: stored samples are shared
// (share_samples), a trainer publishes every version it trained. It never
// blocks.
func (a *Agent) Notify(ev control.Event) {
	switch e := ev.(type) {
	case control.SampleStored:
		if !a.cfg.ShareSamples {
			return
		}
		select {
		case a.share <- e:
		default:
			a.mu.Lock()
			a.st.SamplesDropped++
			a.mu.Unlock()
		}
	case control.TrainingResult:
		if a.cfg.Trainer && e.OK && e.ModelVersion != "" {
			select {
			case a.autoPub <- e.ModelVersion:
			default:
			}
		}
	}
}

// Run keeps the fleet connection until ctx ends (a success), with the
// worker that verifies and adopts publications and stores shared samples.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.worker(ctx) })
	backoff := a.mq.ReconnectMin
	for {
		connected, err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			a.log.Warn("fleet: connection lost", "broker", a.mq.Broker, "err", err)
			backoff = a.mq.ReconnectMin
		} else {
			a.log.Warn("fleet: connect failed", "broker", a.mq.Broker, "err", err)
		}
		sleep := backoff/2 + mrand.N(backoff/2+1)
		backoff = min(backoff*2, max(a.mq.ReconnectMax, a.mq.ReconnectMin))
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (a *Agent) setConnected(up bool) {
	a.mu.Lock()
	a.st.Connected = up
	a.mu.Unlock()
}

// session runs one connection.
func (a *Agent) session(ctx context.Context) (bool, error) {
	o, err := a.mq.PahoOptions(ctx, a.mq.ClientID+"-fleet")
	if err != nil {
		return false, err
	}
	lost := make(chan struct{})
	var once sync.Once
	o.SetConnectionLostHandler(func(paho.Client, error) { once.Do(func() { close(lost) }) })
	cli := paho.NewClient(o)
	tok := cli.Connect()
	<-tok.Done()
	if err := tok.Error(); err != nil {
		return false, mqtt.ClassifyError(err)
	}
	a.setConnected(true)
	defer func() {
		a.setConnected(false)
		cli.Disconnect(250)
	}()
	a.log.Info("fleet: connected", "broker", a.mq.Broker, "group", a.cfg.Group)
	filters := map[string]byte{MembersFilter(a.cfg.Group): 1}
	if a.cfg.Adopt {
		filters[ModelTopic(a.cfg.Group)] = 1
		filters[PartsFilter(a.cfg.Group)] = 1
	}
	if a.cfg.Trainer {
		filters[SamplesTopic(a.cfg.Group)] = 1
	}
	if err := wait(ctx, cli.SubscribeMultiple(filters, a.onMessage), lost); err != nil {
		return true, fmt.Errorf("fleet: subscribe: %w", err)
	}
	member, _ := json.Marshal(memberMsg{DeviceID: a.deviceID, TopicPrefix: a.mq.TopicPrefix, Trainer: a.cfg.Trainer, Time: a.now().UTC().Format(time.RFC3339Nano)})
	if err := wait(ctx, cli.Publish(MembersTopic(a.cfg.Group, a.deviceID), 1, true, member), lost); err != nil {
		return true, fmt.Errorf("fleet: publish membership: %w", err)
	}
	// Subscribe again to the members already known (a new session has
	// none of the old subscriptions).
	var known []string
	for _, m := range a.view.Members() {
		known = append(known, deviceTopics(m.TopicPrefix)...)
	}
	a.subscribeDevices(cli, known)
	var train <-chan time.Time
	if a.cfg.Trainer && a.cfg.TrainEvery > 0 {
		t := time.NewTicker(a.cfg.TrainEvery)
		defer t.Stop()
		train = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case <-lost:
			return true, errors.New("connection lost")
		case r := <-a.out:
			var err error
			for _, m := range r.msgs {
				if err = wait(ctx, cli.Publish(m.Topic, 1, true, m.Payload), lost); err != nil {
					err = fmt.Errorf("fleet: publish %s: %w", m.Topic, err)
					break
				}
			}
			if err != nil && ctx.Err() == nil {
				select {
				case a.out <- r: // again on the next connection
				default:
					if r.done != nil {
						r.done <- err
					}
				}
				return true, err
			}
			if r.done != nil {
				r.done <- err
			}
		case smp := <-a.share:
			a.shareSample(cli, smp)
		case ts := <-a.subs:
			a.subscribeDevices(cli, ts)
		case <-train:
			a.scheduledTraining(ctx)
		}
	}
}

// subscribeDevices subscribes to members' availability and diagnostics
// (not their state: a fleet of devices each reading every other's state
// would multiply the broker's load; `alphad fleet ls` reads state too).
func (a *Agent) subscribeDevices(cli paho.Client, topics []string) {
	f := map[string]byte{}
	for _, t := range topics {
		if !strings.HasSuffix(t, "/state") {
			f[t] = 1
		}
	}
	if len(f) > 0 {
		cli.SubscribeMultiple(f, a.onMessage) // not waited for: runs on paho's goroutines too
	}
}

func wait(ctx context.Context, t paho.Token, lost <-chan struct{}) error {
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-lost:
		return errors.New("connection lost")
	case <-timer.C:
		return errors.New("no answer from the broker in 10s")
	}
}

// onMessage runs on paho's goroutine: it must not block.
func (a *Agent) onMessage(_ paho.Client, m paho.Message) {
	topic := m.Topic()
	switch {
	case topic == ModelTopic(a.cfg.Group) || strings.HasPrefix(topic, ModelTopic(a.cfg.Group)+"/part/"):
		a.asmMu.Lock()
		p, err := a.asm.Add(a.cfg.Group, topic, m.Payload())
		a.asmMu.Unlock()
		if err != nil {
			a.refused(err)
			return
		}
		if p == nil {
			return // parts missing
		}
		p = bytes.Clone(p)
		for { // newest wins
			select {
			case a.models <- p:
				return
			default:
			}
			select {
			case <-a.models:
			default:
			}
		}
	case topic == SamplesTopic(a.cfg.Group):
		select {
		case a.samples <- append([]byte(nil), m.Payload()...):
		default:
			a.mu.Lock()
			a.st.SamplesDropped++
			a.mu.Unlock()
		}
	default:
		if ts := a.view.Handle(topic, m.Payload()); len(ts) > 0 {
			select {
			case a.subs <- ts:
			default:
			}
		}
	}
}

// worker verifies received publications and hands good ones to the
// daemon's adopt command; stores shared samples (trainer); publishes
// what a trainer trained.
func (a *Agent) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case data := <-a.models:
			a.received(ctx, data)
		case data := <-a.samples:
			a.storeSample(ctx, data)
		case v := <-a.autoPub:
			if _, err := a.dev.Do(ctx, control.Command{Name: control.Publish, Version: v}, "fleet"); err != nil {
				a.log.Error("fleet: trainer could not publish", "version", v, "err", err)
			}
		}
	}
}

// received checks one publication; a good one is adopted when Adopt is on.
func (a *Agent) received(ctx context.Context, data []byte) {
	if len(data) == 0 {
		return // the retained publication was cleared
	}
	p, err := Parse(data)
	if err == nil {
		err = p.Verify(a.trusted)
	}
	if err != nil {
		a.refused(err)
		return
	}
	a.mu.Lock()
	a.latest = p
	a.mu.Unlock()
	if !a.cfg.Adopt {
		return
	}
	res, err := a.dev.Do(ctx, control.Command{Name: control.Adopt}, "fleet")
	switch {
	case err != nil:
		a.log.Error("fleet: adopt failed", "publication", p.ID(), "err", err)
	default:
		a.log.Info("fleet: "+res.Message, "publication", p.ID())
	}
}

// refused counts and logs a refused publication.
func (a *Agent) refused(err error) {
	a.mu.Lock()
	a.st.Refused++
	a.st.LastRefused = err.Error()
	a.mu.Unlock()
	a.log.Warn("fleet: publication refused", "topic", ModelTopic(a.cfg.Group), "err", err)
}

// sampleMsg is the payload of alphad/fleet/<group>/samples.
type sampleMsg struct {
	DeviceID string `json:"device_id"`
	Label    string `json:"label"`
	Time     string `json:"time"`
	Image    []byte `json:"image"` // PNG, 224×224, base64 in JSON
}

// MaxSampleSize bounds a shared sample message.
const MaxSampleSize = 4 << 20

// ParseSample reads a shared sample message. It is safe on any input.
func ParseSample(data []byte) (device, label string, png []byte, err error) {
	if len(data) > MaxSampleSize {
		return "", "", nil, fmt.Errorf("fleet: sample: %d bytes, more than %d", len(data), MaxSampleSize)
	}
	var m sampleMsg
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return "", "", nil, fmt.Errorf("fleet: sample: %w", err)
	}
	switch {
	case !deviceRe.MatchString(m.DeviceID):
		return "", "", nil, fmt.Errorf("fleet: sample: device_id %q: not a device id", m.DeviceID)
	case control.ValidLabel(m.Label) != nil:
		return "", "", nil, fmt.Errorf("fleet: sample: label %q: %w", m.Label, control.ValidLabel(m.Label))
	case len(m.Image) < 8 || string(m.Image[1:4]) != "PNG":
		return "", "", nil, errors.New("fleet: sample: image: not a PNG")
	}
	return m.DeviceID, m.Label, m.Image, nil
}

// shareSample publishes one stored sample (not retained, QoS 1).
func (a *Agent) shareSample(cli paho.Client, smp control.SampleStored) {
	if a.image == nil {
		return
	}
	png, err := a.image(smp.ID)
	if err != nil {
		a.log.Warn("fleet: sample not shared", "id", smp.ID, "err", err)
		return
	}
	payload, _ := json.Marshal(sampleMsg{DeviceID: a.deviceID, Label: smp.Label, Time: a.now().UTC().Format(time.RFC3339Nano), Image: png})
	cli.Publish(SamplesTopic(a.cfg.Group), 1, false, payload) // not waited for: samples are best effort
	a.mu.Lock()
	a.st.SamplesShared++
	a.mu.Unlock()
}

// storeSample stores a shared sample through the add_samples command, as
// a sample whose source is fleet:<device>.
func (a *Agent) storeSample(ctx context.Context, data []byte) {
	dev, label, png, err := ParseSample(data)
	if err != nil {
		a.log.Warn("fleet: shared sample ignored", "err", err)
		return
	}
	if dev == a.deviceID {
		return
	}
	_, err = a.dev.Do(ctx, control.Command{Name: control.AddSamples, Label: label, Files: []control.File{{Name: dev, Data: png}}}, "fleet")
	if err != nil {
		a.log.Warn("fleet: shared sample not stored", "device", dev, "label", label, "err", err)
		return
	}
	a.mu.Lock()
	a.st.SamplesReceived++
	a.newSamples++
	a.mu.Unlock()
}

// scheduledTraining starts a training when shared samples came since the
// last one (trainer with train_every).
func (a *Agent) scheduledTraining(ctx context.Context) {
	a.mu.Lock()
	n := a.newSamples
	a.mu.Unlock()
	if n == 0 {
		return
	}
	go func() { // the command answers at once; the result arrives by Notify
		if _, err := a.dev.Do(ctx, control.Command{Name: control.Train}, "fleet"); err != nil {
			a.log.Warn("fleet: scheduled training not started", "err", err)
			return
		}
		a.mu.Lock()
		a.newSamples -= n
		a.mu.Unlock()
	}()
}
