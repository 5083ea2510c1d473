package mqtt

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Connection failures, wrapped by the errors Probe returns and by the
// errors Run logs; test them with errors.Is.
var (
	ErrConnectionRefused  = errors.New("connection refused (is the broker running on that port?)")
	ErrDNS                = errors.New("broker host name not found (DNS)")
	ErrTLSVerify          = errors.New("TLS certificate verification failed")
	ErrTLSRejected        = errors.New("TLS handshake failed (is it a TLS port? does the broker accept this client?)")
	ErrClientCertRequired = errors.New("broker requires a client certificate (set cert_file and key_file)")
	ErrBadCredentials     = errors.New("bad user name or password (CONNACK 4)")
	ErrNotAuthorized      = errors.New("not authorized (CONNACK 5): the broker refused these credentials or this client")
	ErrRefused            = errors.New("connection refused by the broker")
	ErrTimeout            = errors.New("timed out")
	ErrACL                = errors.New("not authorised (ACL)")
)

// classify wraps a connection error with the matching sentinel.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var (
		dnsErr  *net.DNSError
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	var kind error
	switch {
	case errors.Is(err, ErrClientCertRequired):
		return err
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		kind = ErrBadCredentials
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		kind = ErrNotAuthorized
	case errors.Is(err, packets.ErrorRefusedIDRejected), errors.Is(err, packets.ErrorRefusedServerUnavailable),
		errors.Is(err, packets.ErrorRefusedBadProtocolVersion):
		kind = ErrRefused
	case errors.As(err, &dnsErr):
		kind = ErrDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = ErrConnectionRefused
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		kind = ErrTLSVerify
	case errors.Is(err, errHandshake), strings.Contains(err.Error(), "remote error: tls"):
		kind = ErrTLSRejected
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		kind = ErrTimeout
	default:
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}

// ACLError reports a topic the broker did not let us use. MQTT 3.1.1 has
// no way to refuse a publish: the broker acknowledges and drops it, so a
// publish denial shows only as a missing echo.
type ACLError struct {
	Op    string // "subscribe" or "publish/subscribe"
	Topic string
	Wait  time.Duration // how long we waited for the echo
}

func (e *ACLError) Error() string {
	if e.Wait > 0 {
		return fmt.Sprintf("mqtt: not authorised (ACL) to %s on %s (no echo within %v)", e.Op, e.Topic, e.Wait)
	}
	return fmt.Sprintf("mqtt: not authorised (ACL) to %s on %s (SUBACK 0x80)", e.Op, e.Topic)
}

// Is makes errors.Is(err, ErrACL) true.
func (e *ACLError) Is(target error) bool { return target == ErrACL }

// ProbeReport describes a successful Probe.
type ProbeReport struct {
	Broker    string
	ClientID  string
	Connect   time.Duration   // TCP/TLS + CONNECT/CONNACK
	Topics    []string        // published and received back
	RoundTrip []time.Duration // per topic
	Discovery string          // the Home Assistant discovery topic ("" when off)
}

// Probe checks a configuration end to end: it connects once (no retry,
// client id <client_id>-test so that a running daemon is not kicked off),
// subscribes to the availability and state topics, publishes "online" and
// a sample state on them (not retained, so retained values stay as they
// are) and waits up to echo for each to come back. Errors wrap ErrDNS,
// ErrConnectionRefused, ErrTLSVerify, ErrTLSRejected, ErrBadCredentials,
// ErrNotAuthorized, ErrClientCertRequired, ErrTimeout or ErrACL.
func Probe(ctx context.Context, cfg Config, echo time.Duration, log *slog.Logger) (ProbeReport, error) {
	c, err := New(cfg, Options{Logger: log})
	if err != nil {
		return ProbeReport{}, err
	}
	rep := ProbeReport{Broker: c.url.String(), ClientID: c.cfg.ClientID + "-test"}
	if c.cfg.Discovery {
		rep.Discovery = c.t.discovery
	}
	o := c.pahoOptions(ctx, rep.ClientID)
	msgs := make(chan paho.Message, 16)
	o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
		select {
		case msgs <- m:
		default:
		}
	})
	cli := paho.NewClient(o)
	start := time.Now()
	tok := cli.Connect()
	<-tok.Done()
	if err := tok.Error(); err != nil {
		return rep, fmt.Errorf("mqtt: connect %s: %w", rep.Broker, classify(err))
	}
	rep.Connect = time.Since(start)
	defer cli.Disconnect(250)

	sample, err := encodeState(header{ID: c.newID(), Time: stamp(c.now())}, &State{
		Label: "test", Confidence: 1, Classes: []string{"test"}, Scores: []float32{1},
		ModelVersion: "probe", Time: c.now(),
	})
	if err != nil {
		return rep, err
	}
	checks := []struct {
		topic   string
		payload []byte
	}{
		{c.t.availability, []byte(payloadOnline)},
		{c.t.state, sample},
	}
	for _, ch := range checks {
		st := cli.Subscribe(ch.topic, 1, nil)
		if err := waitToken(ctx, st, nil, c.cfg.ConnectTimeout); err != nil {
			return rep, fmt.Errorf("mqtt: subscribe %s: %w", ch.topic, classify(err))
		}
		if st.(*paho.SubscribeToken).Result()[ch.topic] == 0x80 {
			return rep, &ACLError{Op: "subscribe", Topic: ch.topic}
		}
		t0 := time.Now()
		pt := cli.Publish(ch.topic, 1, false, ch.payload)
		if err := waitToken(ctx, pt, nil, c.cfg.ConnectTimeout); err != nil {
			return rep, fmt.Errorf("mqtt: publish %s: %w", ch.topic, classify(err))
		}
		if err := awaitEcho(ctx, msgs, ch.topic, ch.payload, echo); err != nil {
			return rep, err
		}
		rep.Topics = append(rep.Topics, ch.topic)
		rep.RoundTrip = append(rep.RoundTrip, time.Since(t0))
	}
	return rep, nil
}

func awaitEcho(ctx context.Context, msgs <-chan paho.Message, topic string, payload []byte, wait time.Duration) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case m := <-msgs:
			if m.Topic() == topic && !m.Retained() && bytes.Equal(m.Payload(), payload) {
				return nil
			}
		case <-timer.C:
			return &ACLError{Op: "publish/subscribe", Topic: topic, Wait: wait}
		case <-ctx.Done():
			return fmt.Errorf("mqtt: waiting for %s: %w", topic, ctx.Err())
		}
	}
}
