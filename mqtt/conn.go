package mqtt

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// PahoOptions are paho client options for another connection to the
// configured broker with the same credentials and TLS settings (the fleet
// link's, `alphad fleet ls`'s): clean session, MQTT 3.1.1, no automatic
// reconnect, the dial bound to ctx. The caller sets handlers and the will.
func (c Config) PahoOptions(ctx context.Context, clientID string) (*paho.ClientOptions, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	u, err := parseBroker(c.Broker)
	if err != nil {
		return nil, fmt.Errorf("mqtt: broker: %w", err)
	}
	tc, err := c.tlsConfig(u)
	if err != nil {
		return nil, err
	}
	pw, err := c.password()
	if err != nil {
		return nil, err
	}
	o := paho.NewClientOptions()
	o.AddBroker(u.String())
	o.SetClientID(clientID)
	o.SetProtocolVersion(4)
	o.SetCleanSession(true)
	o.SetAutoReconnect(false)
	o.SetConnectRetry(false)
	o.SetKeepAlive(c.KeepAlive)
	o.SetPingTimeout(10 * time.Second)
	o.SetConnectTimeout(c.ConnectTimeout)
	o.SetWriteTimeout(10 * time.Second)
	o.SetOrderMatters(false)
	if c.Username != "" {
		o.SetUsername(c.Username)
		o.SetPassword(pw)
	}
	o.SetTLSConfig(tc)
	o.SetCustomOpenConnectionFn(func(*url.URL, paho.ClientOptions) (net.Conn, error) {
		return dial(ctx, u, tc, c.ConnectTimeout)
	})
	return o, nil
}

// ClassifyError turns a connection error into one that says what is wrong
// (refused, DNS, TLS, credentials), as the daemon's own link logs it.
func ClassifyError(err error) error { return classify(err) }
