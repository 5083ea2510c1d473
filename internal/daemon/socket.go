package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/alphad/alphad/internal/control"
)

// controlSocket serves the command layer to the local CLI on a unix
// socket in the state directory (owner-only: 0600).
type controlSocket struct {
	d    *Daemon
	ln   net.Listener
	path string
}

// listenControl opens the control socket (nil when disabled). The store's
// lock guarantees no other daemon uses the state directory, so a socket
// file left by a crash is removed.
func (d *Daemon) listenControl() (*controlSocket, error) {
	p := d.opts.ControlSocket
	switch p {
	case "-":
		return nil, nil
	case "":
		p = control.SocketPath(d.opts.StateDir)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("daemon: control socket: %w", err)
	}
	ln, err := net.Listen("unix", p)
	if err != nil {
		return nil, fmt.Errorf("daemon: control socket: %w", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("daemon: control socket: %w", err)
	}
	return &controlSocket{d: d, ln: ln, path: p}, nil
}

// serve answers connections until ctx ends, then closes the socket and
// waits for the connections in progress (their commands see ctx end).
func (s *controlSocket) serve(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	defer os.Remove(s.path)
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("daemon: control socket: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.handle(ctx, conn)
		}()
	}
}

func (s *controlSocket) handle(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	unblock := context.AfterFunc(ctx, func() { conn.Close() })
	defer unblock()
	var mu sync.Mutex // progress lines and the answer share conn
	enc := json.NewEncoder(conn)
	send := func(r control.Response) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(r)
	}
	cmd, err := control.ReadRequest(conn)
	if err != nil {
		send(control.Response{Error: err.Error()})
		return
	}
	if cmd.Name == control.Train && cmd.Wait {
		cmd.Progress = func(e control.Event) {
			if p, ok := e.(control.TrainingProgress); ok {
				send(control.Response{Progress: &control.ProgressLine{Phase: p.Phase, Percent: p.Percent,
					Epoch: p.Epoch, Epochs: p.Epochs, Loss: p.Loss, Accuracy: p.Accuracy, Head: p.Head}})
			}
		}
	}
	res, err := s.d.Do(ctx, cmd, "socket")
	if err != nil {
		send(control.Response{Error: err.Error()})
		return
	}
	send(control.Response{OK: true, Result: res})
}
