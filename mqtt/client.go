package mqtt

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Options are the non-configuration dependencies of a Client.
type Options struct {
	Logger *slog.Logger // default: discard
	// Handler executes commands; nil leaves the command topics
	// unsubscribed.
	Handler Handler
	Origin  Origin
	// Diagnostics, if set, is polled every Config.DiagnosticsInterval
	// (and on connect) and published.
	Diagnostics func() Diagnostics
	// Now and NewID make timestamps and message ids; defaults time.Now and
	// 26 random base32 characters. Tests inject fixed ones.
	Now   func() time.Time
	NewID func() string
	// DiscoveryDelay is the wait before re-sending discovery after Home
	// Assistant announces itself online; default random 0.5-2.5 s.
	DiscoveryDelay func() time.Duration
	// OnConnection, if set, is called when the connection comes up or is
	// lost (the daemon's connected gauge follows it at once).
	OnConnection func(up bool)
	// ConfigurationURL is the daemon's web UI (http or https), shown as
	// "Visit" on Home Assistant's device page; "" leaves it out.
	ConfigurationURL string
}

// minResults is the least number of command answers kept while they
// wait to be published: a burst of commands (most answered "busy") must
// not lose answers while the broker is there.
const minResults = 1024

// Stats are the Client's counters.
type Stats struct {
	Connected      bool
	Connects       uint64 // successful connections
	Published      uint64 // messages the broker accepted
	DroppedEvents  uint64 // events dropped from the full offline queue
	DroppedResults uint64 // command answers dropped from the full queue
	BusyCommands   uint64 // commands refused because the worker was busy
}

// Client publishes alphad's state to an MQTT broker and receives commands.
// Make one with New, start it with Run; the Publish* methods are safe for
// concurrent use and never block.
type Client struct {
	cfg       Config
	url       *url.URL
	tls       *tls.Config
	password  string
	t         topics
	log       *slog.Logger
	h         Handler
	onConn    func(up bool)
	origin    Origin
	configURL string
	diagFn    func() Diagnostics
	now       func() time.Time
	newID     func() string
	discDelay func() time.Duration
	started   time.Time

	wake     chan struct{}
	haOnline chan struct{}
	cmds     chan Command

	mu              sync.Mutex
	state           State
	stateScores     []float32
	stateSet        bool
	statePending    bool
	classes         []string
	removed         []string
	discPending     bool
	settings        Settings
	settingsSet     bool
	settingsPending bool
	image           []byte // the latest camera image, nil when none waits
	diag            Diagnostics
	diagSet         bool
	diagPending     bool
	progress        TrainingProgress
	progressPending bool
	trainRes        TrainingResult
	trainResSet     bool
	trainResPending bool
	events          ring[Event]
	results         ring[resultMsg]
	stats           Stats

	// Owned by the Run goroutine.
	pubState     State
	lastPubLabel string
	lastStatePub time.Time
	statePubbed  bool

	runMu   sync.Mutex
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// New checks the configuration (after WithDefaults), loads the TLS files
// and the password file, and returns a Client that is not yet connected.
func New(cfg Config, opts Options) (*Client, error) {
	cfg = cfg.WithDefaults()
	if !cfg.Enabled() {
		return nil, errors.New("mqtt: no broker configured")
	}
	if cfg.DeviceID == "" {
		return nil, errors.New("mqtt: device_id: required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, err := parseBroker(cfg.Broker)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker: %w", err)
	}
	if cu := opts.ConfigurationURL; cu != "" {
		if v, err := url.Parse(cu); err != nil || (v.Scheme != "http" && v.Scheme != "https") || v.Host == "" {
			return nil, fmt.Errorf("mqtt: configuration_url %q: not an http(s) URL", cu)
		}
	}
	tc, err := cfg.tlsConfig(u)
	if err != nil {
		return nil, err
	}
	pw, err := cfg.password()
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg: cfg, url: u, tls: tc, password: pw, t: newTopics(cfg),
		log: opts.Logger, h: opts.Handler, origin: opts.Origin, configURL: opts.ConfigurationURL, diagFn: opts.Diagnostics, onConn: opts.OnConnection,
		now: opts.Now, newID: opts.NewID, discDelay: opts.DiscoveryDelay,
		wake:     make(chan struct{}, 1),
		haOnline: make(chan struct{}, 1),
		cmds:     make(chan Command, 8),
		events:   newRing[Event](cfg.QueueSize),
		results:  newRing[resultMsg](max(cfg.QueueSize, minResults)),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.newID == nil {
		c.newID = rand.Text
	}
	if c.discDelay == nil {
		c.discDelay = func() time.Duration {
			return 500*time.Millisecond + mrand.N(2*time.Second)
		}
	}
	c.started = c.now()
	c.discPending = cfg.Discovery
	return c, nil
}

// Topics returned for documentation and tests.

// StateTopic is where the state is published.
func (c *Client) StateTopic() string { return c.t.state }

// AvailabilityTopic carries online/offline.
func (c *Client) AvailabilityTopic() string { return c.t.availability }

// DiscoveryTopic is the Home Assistant device discovery topic.
func (c *Client) DiscoveryTopic() string { return c.t.discovery }

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// PublishState queues s as the latest state (older unsent states are
// replaced) and, with a non-nil change, the label-change event (the daemon's
// decide stage says when the label changed). It copies s.Scores and never
// blocks. s.Classes differing from the known classes updates them (see
// SetClasses).
func (c *Client) PublishState(s State, change *Event) {
	if s.Time.IsZero() {
		s.Time = c.now()
	}
	c.mu.Lock()
	if change != nil {
		e := *change
		if e.Time.IsZero() {
			e.Time = s.Time
		}
		c.pushEventLocked(e)
	}
	if len(s.Classes) > 0 && !slices.Equal(s.Classes, c.classes) {
		c.setClassesLocked(s.Classes)
	}
	c.stateScores = append(c.stateScores[:0], s.Scores...)
	s.Scores = c.stateScores
	s.Classes = c.classes
	c.state, c.stateSet, c.statePending = s, true, true
	c.mu.Unlock()
	c.signal()
}

func (c *Client) pushEventLocked(e Event) {
	if c.events.push(e) {
		c.stats.DroppedEvents++
	}
}

// SetClasses sets the class list; a change re-publishes discovery, and
// entities of removed classes are deleted from Home Assistant.
func (c *Client) SetClasses(classes []string) {
	c.mu.Lock()
	changed := !slices.Equal(classes, c.classes)
	if changed {
		c.setClassesLocked(classes)
	}
	c.mu.Unlock()
	if changed {
		c.signal()
	}
}

func (c *Client) setClassesLocked(classes []string) {
	for _, old := range c.classes {
		if !slices.Contains(classes, old) && !slices.Contains(c.removed, old) {
			c.removed = append(c.removed, old)
		}
	}
	c.removed = slices.DeleteFunc(c.removed, func(s string) bool { return slices.Contains(classes, s) })
	c.classes = slices.Clone(classes)
	c.discPending = c.cfg.Discovery
}

// PublishSettings queues the teach class and threshold (latest wins).
func (c *Client) PublishSettings(s Settings) {
	c.mu.Lock()
	c.settings, c.settingsSet, c.settingsPending = s, true, true
	c.mu.Unlock()
	c.signal()
}

// PublishDiagnostics queues diagnostics (latest wins).
func (c *Client) PublishDiagnostics(d Diagnostics) {
	d.SamplesPerClass = maps.Clone(d.SamplesPerClass)
	if d.StartedAt.IsZero() {
		d.StartedAt = c.started
		if d.Uptime > 0 {
			d.StartedAt = c.now().Add(-d.Uptime).Round(time.Second)
		}
	}
	c.mu.Lock()
	c.diag, c.diagSet, c.diagPending = d, true, true
	c.mu.Unlock()
	c.signal()
}

// PublishTrainingProgress queues training progress (latest wins).
func (c *Client) PublishTrainingProgress(p TrainingProgress) {
	c.mu.Lock()
	c.progress, c.progressPending = p, true
	c.mu.Unlock()
	c.signal()
}

// PublishTrainingResult queues the outcome of a training run (latest wins,
// retained).
func (c *Client) PublishTrainingResult(r TrainingResult) {
	r.SamplesPerClass = maps.Clone(r.SamplesPerClass)
	r.ClassAccuracy = maps.Clone(r.ClassAccuracy)
	c.mu.Lock()
	c.trainRes, c.trainResSet, c.trainResPending = r, true, true
	c.mu.Unlock()
	c.signal()
}

// Run connects and keeps the connection until ctx ends or Close is called,
// then publishes offline, disconnects and returns nil. Connection failures,
// including the first, are retried with backoff; they are logged, not
// returned. Run may be called once.
func (c *Client) Run(ctx context.Context) error {
	c.runMu.Lock()
	if c.running {
		c.runMu.Unlock()
		return errors.New("mqtt: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	c.running, c.cancel, c.done = true, cancel, make(chan struct{})
	done := c.done
	c.runMu.Unlock()
	defer close(done)
	defer cancel()

	var wg sync.WaitGroup
	defer wg.Wait()
	if c.h != nil && c.cfg.Commands {
		wg.Go(func() { c.worker(ctx) })
	}

	backoff := c.cfg.ReconnectMin
	for attempt := 1; ; attempt++ {
		start := time.Now()
		connected, err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			// A broker that was there comes back soon (a restart, a Wi-Fi
			// flap): start over from the shortest wait.
			c.log.Warn("mqtt: connection lost", "broker", c.cfg.Broker, "err", err, "was_up", time.Since(start).Round(time.Millisecond))
			backoff = c.cfg.ReconnectMin
			attempt = 0
		} else {
			c.log.Warn("mqtt: connect failed", "broker", c.cfg.Broker, "attempt", attempt, "err", err)
		}
		sleep := backoff/2 + mrand.N(backoff/2+1)
		backoff = min(backoff*2, c.cfg.ReconnectMax)
		timer := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}

// Close stops Run (publishing offline first) and waits for it.
func (c *Client) Close() error {
	c.runMu.Lock()
	cancel, done := c.cancel, c.done
	c.runMu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	return nil
}

var errConnectionLost = errors.New("connection lost")

// pahoOptions are the settings shared by the client and Probe.
func (c *Client) pahoOptions(ctx context.Context, clientID string) *paho.ClientOptions {
	o := paho.NewClientOptions()
	o.AddBroker(c.url.String())
	o.SetClientID(clientID)
	o.SetProtocolVersion(4)
	o.SetCleanSession(true)
	o.SetAutoReconnect(false)
	o.SetConnectRetry(false)
	o.SetKeepAlive(c.cfg.KeepAlive)
	o.SetPingTimeout(10 * time.Second)
	o.SetConnectTimeout(c.cfg.ConnectTimeout)
	o.SetWriteTimeout(10 * time.Second)
	o.SetOrderMatters(true) // onMessage never blocks
	if c.cfg.Username != "" {
		o.SetUsername(c.cfg.Username)
		o.SetPassword(c.password)
	}
	o.SetTLSConfig(c.tls)
	o.SetCustomOpenConnectionFn(func(*url.URL, paho.ClientOptions) (net.Conn, error) {
		return dial(ctx, c.url, c.tls, c.cfg.ConnectTimeout)
	})
	return o
}

// dial opens the transport, honouring ctx (paho's own dialer does not).
func dial(ctx context.Context, u *url.URL, tc *tls.Config, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch u.Scheme {
	case "mqtts", "tls", "ssl":
		if tc != nil && len(tc.Certificates) == 0 {
			// Remember whether the broker asks for a client certificate:
			// with TLS 1.3 its refusal only shows as a reset on the first
			// read or write after the handshake.
			tc = tc.Clone()
			var asked atomic.Bool
			tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				asked.Store(true)
				return &tls.Certificate{}, nil
			}
			d := tls.Dialer{Config: tc}
			conn, err := d.DialContext(ctx, "tcp", u.Host)
			if err != nil && asked.Load() {
				err = fmt.Errorf("%w: %w", ErrClientCertRequired, err)
			}
			err = markHandshake(err)
			if err != nil || !asked.Load() {
				return conn, err
			}
			return &certAskedConn{Conn: conn}, nil
		}
		d := tls.Dialer{Config: tc}
		conn, err := d.DialContext(ctx, "tcp", u.Host)
		return conn, markHandshake(err)
	case "ws", "wss":
		return paho.NewWebsocket(u.String(), tc, timeout, nil, nil)
	default:
		var d net.Dialer
		return d.DialContext(ctx, "tcp", u.Host)
	}
}

// errHandshake marks failures after the TCP connection was made.
var errHandshake = errors.New("TLS handshake")

func markHandshake(err error) error {
	var op *net.OpError
	if err == nil || errors.As(err, &op) && op.Op == "dial" {
		return err
	}
	return fmt.Errorf("%w: %w", errHandshake, err)
}

// certAskedConn marks errors before the first successful read (the
// CONNACK) as a missing client certificate.
type certAskedConn struct {
	net.Conn
	ok atomic.Bool
}

func (c *certAskedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && !c.ok.Load() && !errors.Is(err, os.ErrDeadlineExceeded) {
		return n, fmt.Errorf("%w: %w", ErrClientCertRequired, err)
	}
	if n > 0 {
		c.ok.Store(true)
	}
	return n, err
}

func (c *certAskedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && !c.ok.Load() {
		return n, fmt.Errorf("%w: %w", ErrClientCertRequired, err)
	}
	return n, err
}

// waitToken waits for t, ctx or lost (nil: never), whichever comes first.
func waitToken(ctx context.Context, t paho.Token, lost <-chan struct{}, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-lost:
		return errConnectionLost
	case <-timer.C:
		return fmt.Errorf("no answer from the broker in %v: %w", timeout, ErrTimeout)
	}
}

// session runs one connection: connect, subscribe, announce, drain.
func (c *Client) session(ctx context.Context) (connected bool, err error) {
	lost := make(chan struct{})
	var once sync.Once
	o := c.pahoOptions(ctx, c.cfg.ClientID)
	o.SetBinaryWill(c.t.availability, []byte(payloadOffline), 1, true)
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		once.Do(func() { close(lost) })
	})
	cli := paho.NewClient(o)
	tok := cli.Connect()
	// The connect goroutine ends on its own within ConnectTimeout (dial
	// honours ctx); wait for it so that nothing outlives Run.
	<-tok.Done()
	if err := tok.Error(); err != nil {
		return false, classify(err)
	}
	if ctx.Err() != nil {
		cli.Disconnect(100)
		return false, ctx.Err()
	}
	defer func() {
		c.mu.Lock()
		was := c.stats.Connected
		c.stats.Connected = false
		c.mu.Unlock()
		if was && c.onConn != nil {
			c.onConn(false)
		}
		if connected && ctx.Err() == nil {
			cli.Disconnect(0) // already lost; make sure paho's goroutines end
		}
	}()
	c.log.Info("mqtt: connected", "broker", c.cfg.Broker, "client_id", c.cfg.ClientID)

	if err := c.subscribe(ctx, cli, lost); err != nil {
		return true, err
	}
	if err := waitToken(ctx, cli.Publish(c.t.availability, 1, true, payloadOnline), lost, 10*time.Second); err != nil {
		return true, fmt.Errorf("mqtt: publish %s: %w", c.t.availability, err)
	}
	c.mu.Lock()
	c.stats.Connected = true
	c.stats.Connects++
	c.stats.Published++
	c.discPending = c.cfg.Discovery
	c.statePending = c.stateSet
	c.settingsPending = c.settingsSet
	c.diagPending = c.diagSet
	c.trainResPending = c.trainResSet
	c.mu.Unlock()
	c.statePubbed = false
	if c.onConn != nil {
		c.onConn(true)
	}

	var diagTick <-chan time.Time
	if c.diagFn != nil {
		c.PublishDiagnostics(c.diagFn())
		tk := time.NewTicker(c.cfg.DiagnosticsInterval)
		defer tk.Stop()
		diagTick = tk.C
	}
	stateTimer := time.NewTimer(time.Hour)
	stateTimer.Stop()
	defer stateTimer.Stop()
	discTimer := time.NewTimer(time.Hour)
	discTimer.Stop()
	defer discTimer.Stop()

	for {
		wait, err := c.drain(ctx, cli, lost)
		if ctx.Err() != nil {
			c.shutdown(cli)
			return true, nil
		}
		if err != nil {
			return true, err
		}
		if wait > 0 {
			stateTimer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			c.shutdown(cli)
			return true, nil
		case <-lost:
			return true, errConnectionLost
		case <-c.wake:
		case <-stateTimer.C:
		case <-diagTick:
			c.PublishDiagnostics(c.diagFn())
		case <-c.haOnline:
			discTimer.Reset(c.discDelay())
		case <-discTimer.C:
			c.mu.Lock()
			c.discPending = c.cfg.Discovery
			c.mu.Unlock()
		}
	}
}

// shutdown publishes offline (the will does not fire on a clean
// disconnect) and disconnects.
func (c *Client) shutdown(cli paho.Client) {
	t := cli.Publish(c.t.availability, 1, true, payloadOffline)
	if !t.WaitTimeout(2*time.Second) || t.Error() != nil {
		c.log.Warn("mqtt: could not publish offline", "topic", c.t.availability, "err", t.Error())
	}
	cli.Disconnect(500)
	c.log.Info("mqtt: disconnected", "broker", c.cfg.Broker)
}

func (c *Client) subscribe(ctx context.Context, cli paho.Client, lost <-chan struct{}) error {
	filters := map[string]byte{}
	if c.cfg.Discovery {
		filters[c.t.haStatus] = 1
	}
	if c.h != nil && c.cfg.Commands {
		filters[c.t.cmdFilter] = 1
	}
	if len(filters) == 0 {
		return nil
	}
	tok := cli.SubscribeMultiple(filters, c.onMessage)
	if err := waitToken(ctx, tok, lost, 10*time.Second); err != nil {
		return fmt.Errorf("mqtt: subscribe: %w", err)
	}
	for topic, qos := range tok.(*paho.SubscribeToken).Result() {
		if qos == 0x80 {
			c.log.Warn("mqtt: broker refused subscription (ACL?)", "topic", topic)
		}
	}
	return nil
}

// onMessage runs on paho's goroutine: it must not block.
func (c *Client) onMessage(_ paho.Client, m paho.Message) {
	topic, payload := m.Topic(), m.Payload()
	if topic == c.t.haStatus {
		if strings.TrimSpace(string(payload)) == payloadOnline {
			select {
			case c.haOnline <- struct{}{}:
			default:
			}
		}
		return
	}
	if !strings.HasPrefix(topic, c.t.cmdPrefix) {
		return
	}
	if m.Retained() {
		c.log.Warn("mqtt: ignoring a retained command (clear it with an empty retained message)", "topic", topic)
		return
	}
	cmd, err := ParseCommand(topic, payload)
	if err == nil && slices.Contains(c.cfg.DisabledCommands, cmd.Name) {
		err = fmt.Errorf("mqtt: command %s: disabled in the configuration", cmd.Name)
	}
	if cmd.RequestID == "" {
		cmd.RequestID = requestIDOf(payload)
		if cmd.RequestID == "" {
			cmd.RequestID = c.newID()
		}
	}
	if err != nil {
		name := strings.TrimPrefix(topic, c.t.cmdPrefix)
		c.enqueueResult(Command{Name: name, RequestID: cmd.RequestID}, Result{}, err)
		return
	}
	select {
	case c.cmds <- cmd:
	default:
		c.mu.Lock()
		c.stats.BusyCommands++
		c.mu.Unlock()
		c.enqueueResult(cmd, Result{}, fmt.Errorf("mqtt: command %s: busy, try again", cmd.Name))
	}
}

// requestIDOf digs a request id out of a payload that failed to parse.
func requestIDOf(payload []byte) string {
	var v struct {
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(payload, &v) != nil || len(v.RequestID) > MaxRequestIDLen || !printable(v.RequestID) {
		return ""
	}
	return v.RequestID
}

func (c *Client) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case cmd := <-c.cmds:
			res, err := c.h.HandleCommand(ctx, cmd)
			c.enqueueResult(cmd, res, err)
		}
	}
}

func (c *Client) enqueueResult(cmd Command, res Result, err error) {
	m := resultMsg{RequestID: cmd.RequestID, Command: cmd.Name, OK: err == nil, Message: res.Message, Details: res.Details}
	if err != nil {
		m.Error = err.Error()
		m.Message, m.Details = "", nil
	}
	m.header = header{ID: c.newID(), Time: stamp(c.now())}
	c.mu.Lock()
	dropped := c.results.push(m)
	if dropped {
		c.stats.DroppedResults++
	}
	connected := c.stats.Connected
	c.mu.Unlock()
	if dropped {
		c.log.Warn("mqtt: command answer queue full: the oldest answer was dropped", "connected", connected,
			"queue", len(c.results.buf))
	}
	c.signal()
}

// item kinds, in publishing priority.
type kind int

const (
	kindNone kind = iota
	kindDiscovery
	kindSettings
	kindState
	kindEvent
	kindResult
	kindTrainResult
	kindProgress
	kindDiag
	kindImage
)

type item struct {
	kind   kind
	event  Event
	result resultMsg
	image  []byte
}

// next takes the most urgent pending message; wait > 0 says a state is
// held back by StateInterval for that long.
func (c *Client) next() (it item, wait time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.discPending:
		c.discPending = false
		return item{kind: kindDiscovery}, 0
	case c.settingsPending:
		c.settingsPending = false
		return item{kind: kindSettings}, 0
	}
	if c.statePending {
		since := time.Since(c.lastStatePub)
		if c.cfg.StateInterval > 0 && c.statePubbed && c.state.Label == c.lastPubLabel && since < c.cfg.StateInterval {
			wait = c.cfg.StateInterval - since
		} else {
			c.statePending = false
			c.pubState.Label, c.pubState.Confidence, c.pubState.ModelVersion = c.state.Label, c.state.Confidence, c.state.ModelVersion
			c.pubState.Seq, c.pubState.Time, c.pubState.Classes, c.pubState.CameraDown = c.state.Seq, c.state.Time, c.state.Classes, c.state.CameraDown
			c.pubState.Scores = append(c.pubState.Scores[:0], c.state.Scores...)
			return item{kind: kindState}, 0
		}
	}
	if e, ok := c.events.pop(); ok {
		return item{kind: kindEvent, event: e}, wait
	}
	if r, ok := c.results.pop(); ok {
		return item{kind: kindResult, result: r}, wait
	}
	switch {
	case c.trainResPending:
		c.trainResPending = false
		return item{kind: kindTrainResult}, wait
	case c.progressPending:
		c.progressPending = false
		return item{kind: kindProgress}, wait
	case c.diagPending:
		c.diagPending = false
		return item{kind: kindDiag}, wait
	case c.image != nil:
		img := c.image
		c.image = nil
		return item{kind: kindImage, image: img}, wait
	}
	return item{}, wait
}

// requeue puts back an item whose publish failed.
func (c *Client) requeue(it item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch it.kind {
	case kindDiscovery:
		c.discPending = c.cfg.Discovery
	case kindSettings:
		c.settingsPending = true
	case kindState:
		c.statePending = true
	case kindEvent:
		if !c.events.pushFront(it.event) {
			c.stats.DroppedEvents++
		}
	case kindResult:
		if !c.results.pushFront(it.result) {
			c.stats.DroppedResults++
		}
	case kindTrainResult:
		c.trainResPending = true
	case kindProgress:
		c.progressPending = true
	case kindDiag:
		c.diagPending = true
	case kindImage:
		if c.image == nil {
			c.image = it.image
		}
	}
}

// PublishImage queues a JPEG of what the camera sees for <prefix>/image
// (latest wins, not retained, QoS 0; the caller bounds the rate with
// Config.ImageInterval). It does nothing when ImageInterval is 0.
func (c *Client) PublishImage(jpeg []byte) {
	if c.cfg.ImageInterval == 0 {
		return
	}
	c.mu.Lock()
	c.image = jpeg
	c.mu.Unlock()
	c.signal()
}

// ImageInterval is Config.ImageInterval: how often the daemon should
// offer an image (0: never).
func (c *Client) ImageInterval() time.Duration { return c.cfg.ImageInterval }

// drain publishes until the queue is empty or a publish fails.
func (c *Client) drain(ctx context.Context, cli paho.Client, lost <-chan struct{}) (time.Duration, error) {
	for {
		it, wait := c.next()
		if it.kind == kindNone {
			return wait, nil
		}
		topic, qos, retained, payload, err := c.encode(it)
		if err != nil {
			c.log.Error("mqtt: encode", "topic", topic, "err", err)
			continue
		}
		if err := waitToken(ctx, cli.Publish(topic, qos, retained, payload), lost, 30*time.Second); err != nil {
			c.requeue(it)
			return 0, fmt.Errorf("mqtt: publish %s: %w", topic, err)
		}
		c.mu.Lock()
		c.stats.Published++
		c.mu.Unlock()
		if it.kind == kindState {
			c.lastPubLabel, c.lastStatePub, c.statePubbed = c.pubState.Label, time.Now(), true
		}
	}
}

func (c *Client) hdr() header { return header{ID: c.newID(), Time: stamp(c.now())} }

// encode turns an item into a message.
func (c *Client) encode(it item) (topic string, qos byte, retained bool, payload []byte, err error) {
	q := byte(c.cfg.QoS)
	switch it.kind {
	case kindDiscovery:
		c.mu.Lock()
		classes, removed := slices.Clone(c.classes), slices.Clone(c.removed)
		c.mu.Unlock()
		dcfg := c.cfg
		dcfg.Commands = dcfg.Commands && c.h != nil // no buttons that nobody answers
		payload, err = discoveryPayload(dcfg, c.t, c.origin, c.configURL, classes, removed)
		return c.t.discovery, q, true, payload, err
	case kindSettings:
		c.mu.Lock()
		s := c.settings
		c.mu.Unlock()
		payload, err = json.Marshal(settingsMsg{header: c.hdr(), TeachClass: s.TeachClass, Threshold: finite(s.Threshold)})
		return c.t.settings, q, true, payload, err
	case kindState:
		payload, err = encodeState(header{ID: c.newID(), Time: stamp(c.pubState.Time)}, &c.pubState)
		return c.t.state, q, true, payload, err
	case kindEvent:
		e := it.event
		m := eventMsg{header: header{ID: c.newID(), Time: stamp(e.Time)}, EventType: "label_changed",
			From: nullable(e.From), To: nullable(e.To), Seq: e.Seq}
		if e.To != "" { // a change to no decision (camera down) has no confidence
			m.Confidence = optional(finite(e.Confidence))
		}
		payload, err = json.Marshal(m)
		return c.t.event, q, false, payload, err
	case kindResult:
		payload, err = json.Marshal(it.result)
		return c.t.result, q, false, payload, err
	case kindTrainResult:
		c.mu.Lock()
		r := c.trainRes
		c.mu.Unlock()
		payload, err = json.Marshal(trainResultMsg{header: c.hdr(), OK: r.OK, Error: r.Error, ModelVersion: r.ModelVersion,
			Epochs: r.Epochs, Accuracy: finite(r.Accuracy), ValidationAccuracy: optional(r.ValidationAccuracy),
			DurationS: r.Duration.Seconds(), SamplesPerClass: r.SamplesPerClass,
			ClassAccuracy: r.ClassAccuracy, EmbedS: r.EmbedDuration.Seconds(), TrainS: r.TrainDuration.Seconds(),
			PhasesS: r.PhaseSeconds})
		return c.t.trainResult, q, true, payload, err
	case kindProgress:
		c.mu.Lock()
		p := c.progress
		c.mu.Unlock()
		payload, err = json.Marshal(progressMsg{header: c.hdr(), Phase: p.Phase, Percent: min(max(finite(p.Percent), 0), 100), Epoch: p.Epoch, Epochs: p.Epochs, Loss: finite(p.Loss),
			Accuracy: finite(p.Accuracy), ValidationAccuracy: optional(p.ValidationAccuracy), Head: p.Head})
		return c.t.progress, 0, false, payload, err
	case kindImage:
		return c.t.image, 0, false, it.image, nil
	case kindDiag:
		c.mu.Lock()
		d, st := c.diag, c.stats
		c.mu.Unlock()
		up := d.Uptime
		if up == 0 {
			up = c.now().Sub(c.started)
		}
		reconnects := uint64(0)
		if st.Connects > 0 {
			reconnects = st.Connects - 1
		}
		spc := d.SamplesPerClass
		if spc == nil {
			spc = map[string]int{}
		}
		payload, err = json.Marshal(diagMsg{header: c.hdr(), FPS: finite(d.FPS), InferenceMS: finite(d.InferenceMS),
			DroppedFrames: d.DroppedFrames, SamplesPerClass: spc, ModelVersion: d.ModelVersion,
			ValidationAccuracy: optional(d.ValidationAccuracy), UptimeS: up.Seconds(), StartedAt: d.StartedAt.UTC().Format(time.RFC3339), Camera: d.Camera,
			MQTT: mqttStats{DroppedEvents: st.DroppedEvents, DroppedResults: st.DroppedResults, Reconnects: reconnects}, Fleet: d.Fleet})
		return c.t.diagnostics, q, true, payload, err
	}
	return "", 0, false, nil, fmt.Errorf("unknown item kind %d", it.kind)
}
