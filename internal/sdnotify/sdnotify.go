// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): READY=1, STATUS=…, WATCHDOG=1 and STOPPING=1 datagrams to
// the unix socket named by $NOTIFY_SOCKET. Without a socket every call is a
// no-op, so the daemon runs the same outside systemd.
package sdnotify

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Notifier sends state strings to systemd. The zero value is a no-op.
type Notifier struct {
	addr *net.UnixAddr
}

// New returns a notifier for the socket path from $NOTIFY_SOCKET ("" for
// none). Abstract sockets start with '@'.
func New(socket string) *Notifier {
	if socket == "" {
		return &Notifier{}
	}
	if strings.HasPrefix(socket, "@") {
		socket = "\x00" + socket[1:]
	}
	return &Notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}
}

// Enabled reports whether a socket is configured.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != nil }

// Notify sends one datagram holding the given assignments, e.g.
// Notify("READY=1", "STATUS=running").
func (n *Notifier) Notify(states ...string) error {
	if !n.Enabled() {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: dial %s: %w", n.addr.Name, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return fmt.Errorf("sdnotify: send: %w", err)
	}
	return nil
}

// Ready tells systemd start-up is complete.
func (n *Notifier) Ready(status string) error { return n.Notify("READY=1", "STATUS="+status) }

// Status updates the one-line status shown by systemctl status.
func (n *Notifier) Status(status string) error { return n.Notify("STATUS=" + status) }

// Watchdog feeds the watchdog.
func (n *Notifier) Watchdog() error { return n.Notify("WATCHDOG=1") }

// Stopping tells systemd the service is shutting down.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// WatchdogInterval parses $WATCHDOG_USEC (and checks $WATCHDOG_PID against
// pid when set) and returns how often to feed the watchdog: half the
// timeout, as sd_watchdog_enabled(3) recommends. Zero means no watchdog.
func WatchdogInterval(usec, wpid string, pid int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	if wpid != "" {
		p, err := strconv.Atoi(wpid)
		if err != nil {
			return 0, fmt.Errorf("sdnotify: WATCHDOG_PID %q: %w", wpid, err)
		}
		if p != pid {
			return 0, nil
		}
	}
	u, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || u == 0 {
		return 0, fmt.Errorf("sdnotify: WATCHDOG_USEC %q is not a positive integer", usec)
	}
	return time.Duration(u) * time.Microsecond / 2, nil
}
