package mqtttest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Message is one received message.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// Subscriber is a plain paho client that records what it receives.
type Subscriber struct {
	t   testing.TB
	cli paho.Client

	mu   sync.Mutex
	msgs []Message
	cond chan struct{} // closed and replaced on every message
}

// Subscribe connects an anonymous plain-TCP client to url and subscribes
// to filters at QoS 1; it disconnects at cleanup.
func Subscribe(t testing.TB, url string, filters ...string) *Subscriber {
	t.Helper()
	s := &Subscriber{t: t, cond: make(chan struct{})}
	o := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("test-sub-%d", time.Now().UnixNano())).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	s.cli = paho.NewClient(o)
	if tok := s.cli.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtttest: subscriber connect %s: %v", url, tok.Error())
	}
	t.Cleanup(s.Close)
	for _, f := range filters {
		tok := s.cli.Subscribe(f, 1, s.record)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("mqtttest: subscribe %s: %v", f, tok.Error())
		}
	}
	return s
}

func (s *Subscriber) record(_ paho.Client, m paho.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, Message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Retained: m.Retained()})
	close(s.cond)
	s.cond = make(chan struct{})
	s.mu.Unlock()
}

// Publish sends a message (QoS 1) and waits for the broker's ack.
func (s *Subscriber) Publish(topic string, retained bool, payload []byte) {
	s.t.Helper()
	tok := s.cli.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.t.Fatalf("mqtttest: publish %s: %v", topic, tok.Error())
	}
}

// Messages returns a copy of everything received so far.
func (s *Subscriber) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Reset forgets the received messages.
func (s *Subscriber) Reset() {
	s.mu.Lock()
	s.msgs = nil
	s.mu.Unlock()
}

// Wait returns the first received message (in arrival order, including
// ones already received) on topic for which match returns true (nil
// matches any), failing the test after timeout.
func (s *Subscriber) Wait(topic string, timeout time.Duration, match func(Message) bool) Message {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		s.mu.Lock()
		msgs, cond := s.msgs, s.cond
		s.mu.Unlock()
		for _, m := range msgs[min(seen, len(msgs)):] {
			if m.Topic == topic && (match == nil || match(m)) {
				return m
			}
		}
		seen = len(msgs)
		select {
		case <-cond:
		case <-deadline.C:
			s.t.Fatalf("mqtttest: no matching message on %s within %v (got %d messages)", topic, timeout, seen)
			return Message{}
		}
	}
}

// Close disconnects.
func (s *Subscriber) Close() {
	if s.cli.IsConnected() {
		s.cli.Disconnect(100)
	}
}
