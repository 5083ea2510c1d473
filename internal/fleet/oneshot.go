package fleet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/alphad/alphad/mqtt"
)

// connect opens a one-shot connection (client id <client_id>-<what>-<random>).
func connect(ctx context.Context, mq mqtt.Config, what string, onMessage paho.MessageHandler) (paho.Client, error) {
	mq = mq.WithDefaults()
	id := mq.ClientID
	if id == "" {
		id = "alphad"
	}
	o, err := mq.PahoOptions(ctx, id+"-"+what+"-"+rand.Text()[:6])
	if err != nil {
		return nil, err
	}
	if onMessage != nil {
		o.SetDefaultPublishHandler(onMessage)
	}
	cli := paho.NewClient(o)
	tok := cli.Connect()
	<-tok.Done()
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("fleet: connect %s: %w", mq.Broker, mqtt.ClassifyError(err))
	}
	return cli, nil
}

// PublishOnce signs meta and body with key and publishes them retained
// (QoS 1) on the group's model topic over a connection of its own
// (`alphad model publish` without a running daemon). It returns the
// envelope's size once the broker acknowledged.
func PublishOnce(ctx context.Context, mq mqtt.Config, meta Meta, body []byte, key ed25519.PrivateKey) (int, error) {
	data, err := Encode(meta, body, key)
	if err != nil {
		return 0, err
	}
	cli, err := connect(ctx, mq, "publish", nil)
	if err != nil {
		return 0, err
	}
	defer cli.Disconnect(250)
	for _, m := range Messages(meta.Group, data, PartSize) {
		if err := wait(ctx, cli.Publish(m.Topic, 1, true, m.Payload), nil); err != nil {
			return 0, fmt.Errorf("fleet: publish %s: %w", m.Topic, err)
		}
	}
	return len(data), nil
}

// Survey reads the fleet view of group from the broker's retained
// messages: it subscribes to the members and their availability,
// diagnostics and state, and returns once no message came for quiet (or
// after at most limit).
func Survey(ctx context.Context, mq mqtt.Config, group string, quiet, limit time.Duration) ([]Member, error) {
	v := NewView(group)
	var mu sync.Mutex
	last := time.Now()
	subs := make(chan []string, 64)
	handler := func(_ paho.Client, m paho.Message) {
		mu.Lock()
		last = time.Now()
		mu.Unlock()
		if ts := v.Handle(m.Topic(), m.Payload()); len(ts) > 0 {
			select {
			case subs <- ts:
			default:
			}
		}
	}
	cli, err := connect(ctx, mq, "survey", handler)
	if err != nil {
		return nil, err
	}
	defer cli.Disconnect(100)
	if err := wait(ctx, cli.Subscribe(MembersFilter(group), 1, handler), nil); err != nil {
		return nil, fmt.Errorf("fleet: subscribe %s: %w", MembersFilter(group), err)
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(quiet / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return v.Members(), ctx.Err()
		case <-deadline.C:
			return v.Members(), nil
		case ts := <-subs:
			f := map[string]byte{}
			for _, t := range ts {
				f[t] = 1
			}
			mu.Lock()
			last = time.Now()
			mu.Unlock()
			cli.SubscribeMultiple(f, handler)
		case <-tick.C:
			mu.Lock()
			idle := time.Since(last)
			mu.Unlock()
			if idle >= quiet {
				return v.Members(), nil
			}
		}
	}
}
