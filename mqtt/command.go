package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alphad/alphad/internal/control"
)

// Command and Result are the daemon's command layer types: MQTT is one
// transport of internal/control.
type (
	Command = control.Command
	Result  = control.Result
)

// Command names of the original MQTT set (every non-bulk command of
// control.Table is accepted on <prefix>/cmd/<name>).
const (
	CmdCapture   = control.Capture
	CmdTrain     = control.Train
	CmdUndo      = control.Undo
	CmdRollback  = control.Rollback
	CmdTeach     = control.Teach
	CmdThreshold = control.Threshold
	// CmdCancelTraining is not in the original set; it has a button.
	CmdCancelTraining = control.CancelTrain
)

// MaxCommandPayload bounds a command message.
const MaxCommandPayload = 4096

// MaxRequestIDLen bounds a request id.
const MaxRequestIDLen = control.MaxRequestIDLen

// Handler executes commands. The daemon implements it; HandleCommand runs
// on one worker goroutine, one command at a time, so it should start long
// work (training) and return rather than wait for it.
type Handler interface {
	HandleCommand(ctx context.Context, cmd Command) (Result, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, cmd Command) (Result, error)

// HandleCommand calls f.
func (f HandlerFunc) HandleCommand(ctx context.Context, cmd Command) (Result, error) {
	return f(ctx, cmd)
}

// ErrBadCommand marks every error ParseCommand returns.
var ErrBadCommand = control.ErrBadCommand

// ValidLabel reports whether s can be a class label (see control.ValidLabel).
func ValidLabel(s string) error { return control.ValidLabel(s) }

func printable(s string) bool { return control.Printable(s) }

// ParseCommand validates a command message. topic is the full topic
// (…/cmd/<name>) or just the name. The payload is a JSON object, empty
// (for commands without required fields), or for teach and threshold the
// bare value (`rock`, `0.7`). Bulk commands (file uploads) are not taken
// over MQTT. It is pure and safe on any input.
func ParseCommand(topic string, payload []byte) (Command, error) {
	name := topic
	if i := strings.LastIndexByte(topic, '/'); i >= 0 {
		name = topic[i+1:]
		if rest := topic[:i]; rest != "cmd" && !strings.HasSuffix(rest, "/cmd") {
			return Command{}, &control.CommandError{Command: strconv.Quote(topic), Reason: "topic is not …/cmd/<name>"}
		}
	}
	spec, ok := control.Lookup(name)
	if !ok || spec.Bulk {
		return control.Parse(name, nil, false) // the unknown-command error
	}
	if len(payload) > MaxCommandPayload {
		return Command{}, &control.CommandError{Command: name, Reason: "payload of " + strconv.Itoa(len(payload)) + " bytes exceeds " + strconv.Itoa(MaxCommandPayload)}
	}
	if !utf8.Valid(payload) {
		return Command{}, &control.CommandError{Command: name, Reason: "payload is not UTF-8"}
	}
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || p[0] == '{' {
		return control.Parse(name, p, false)
	}
	fields := map[string]json.RawMessage{}
	switch name {
	case CmdTeach:
		s := string(p)
		if p[0] == '"' {
			if err := json.Unmarshal(p, &s); err != nil {
				return Command{}, &control.CommandError{Command: name, Field: "label", Reason: "invalid JSON string: " + err.Error()}
			}
		}
		q, _ := json.Marshal(s)
		fields["label"] = q
	case CmdThreshold:
		fields["threshold"] = json.RawMessage(p)
	default:
		return Command{}, &control.CommandError{Command: name, Reason: "payload must be empty or a JSON object"}
	}
	return control.FromFields(spec, fields)
}
