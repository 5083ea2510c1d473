package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The control socket: the local CLI reaches a running daemon through a
// unix socket in the state directory (owner-only permissions). One
// request per connection, a JSON line:
//
//	{"command":"add_samples","args":{"label":"rock","files":[…]}}
//
// answered by zero or more progress lines and one final line:
//
//	{"progress":{"phase":"train","percent":57.5,…}}
//	{"ok":true,"message":"model v000004 in use","details":{…}}
//	{"ok":false,"error":"train: need at least 2 classes with samples"}

// SocketName is the control socket's file name in the state directory.
const SocketName = "control.sock"

// SocketPath is the control socket of a state directory.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// MaxRequest bounds one request on the control socket (file uploads
// included).
const MaxRequest = 256 << 20

// Request is one command on the control socket.
type Request struct {
	Command string          `json:"command"`
	Args    json.RawMessage `json:"args,omitempty"`
}

// Response is a line the daemon answers with: progress, or the final
// answer (OK or Error).
type Response struct {
	Progress *ProgressLine `json:"progress,omitempty"`
	OK       bool          `json:"ok"`
	Error    string        `json:"error,omitempty"`
	Result
}

// ProgressLine is training progress on the control socket.
type ProgressLine struct {
	Phase    string  `json:"phase"`
	Percent  float64 `json:"percent"`
	Epoch    int     `json:"epoch,omitempty"`
	Epochs   int     `json:"epochs,omitempty"`
	Loss     float64 `json:"loss,omitempty"`
	Accuracy float64 `json:"accuracy,omitempty"`
	Head     string  `json:"head,omitempty"` // "i/n" of the ensemble heads and the refit
}

// ReadRequest reads and parses one request (bulk commands allowed).
func ReadRequest(r io.Reader) (Command, error) {
	var req Request
	dec := json.NewDecoder(io.LimitReader(r, MaxRequest))
	if err := dec.Decode(&req); err != nil {
		return Command{}, &CommandError{Command: "(socket)", Reason: fmt.Sprintf("bad request: %v", err)}
	}
	return Parse(req.Command, req.Args, true)
}

// ErrNoDaemon means no daemon listens on the state directory's socket.
var ErrNoDaemon = errors.New("no daemon running on this state directory")

// Client talks to a daemon's control socket.
type Client struct {
	Path string
}

// Dial checks that a daemon listens on the socket of stateDir; it returns
// ErrNoDaemon when none does (no socket, or a stale one).
func Dial(stateDir string) (*Client, error) {
	p := SocketPath(stateDir)
	c, err := net.DialTimeout("unix", p, 2*time.Second)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || isRefused(err) {
			return nil, ErrNoDaemon
		}
		return nil, fmt.Errorf("control socket %s: %w", p, err)
	}
	c.Close()
	return &Client{Path: p}, nil
}

// Call sends a command and waits for the answer; progress (may be nil)
// receives progress lines. The daemon's error comes back as an error.
func (c *Client) Call(ctx context.Context, command string, args any, progress func(ProgressLine)) (Result, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return Result{}, fmt.Errorf("control: %w", err)
	}
	if string(raw) == "null" {
		raw = nil
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Path)
	if err != nil {
		return Result{}, fmt.Errorf("control socket %s: %w", c.Path, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := json.NewEncoder(conn).Encode(Request{Command: command, Args: raw}); err != nil {
		return Result{}, fmt.Errorf("control socket: send %s: %w", command, err)
	}
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 64<<10), MaxRequest)
	for sc.Scan() {
		var r Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return Result{}, fmt.Errorf("control socket: bad answer to %s: %w", command, err)
		}
		if r.Progress != nil {
			if progress != nil {
				progress(*r.Progress)
			}
			continue
		}
		if !r.OK {
			return Result{}, errors.New(r.Error)
		}
		return r.Result, nil
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := sc.Err(); err != nil {
		return Result{}, fmt.Errorf("control socket: %s: %w", command, err)
	}
	return Result{}, fmt.Errorf("control socket: %s: the daemon closed the connection without an answer", command)
}
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
