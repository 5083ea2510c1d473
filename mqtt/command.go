package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Command names: the last level of <prefix>/cmd/<name>.
const (
	CmdCapture   = "capture"   // add one sample or a burst for a label
	CmdTrain     = "train"     // train the head (optional epochs, batch size, learning rate)
	CmdUndo      = "undo"      // remove the last captured sample or burst
	CmdRollback  = "rollback"  // go back to the previous (or a given) model version
	CmdTeach     = "teach"     // select the class that capture and the buttons teach
	CmdThreshold = "threshold" // set the decision threshold
)

var commandNames = []string{CmdCapture, CmdTrain, CmdUndo, CmdRollback, CmdTeach, CmdThreshold}

func isCommandName(s string) bool { return slices.Contains(commandNames, s) }

// Limits enforced by ParseCommand.
const (
	MaxCommandPayload = 4096
	MaxLabelLen       = 64
	MaxRequestIDLen   = 128
	MaxBurst          = 1000
	MaxBurstInterval  = time.Minute
	MaxEpochs         = 10000
	MaxBatchSize      = 4096
	MaxLearningRate   = 10.0
)

// Command is a validated request from <prefix>/cmd/<name>. Fields that do
// not belong to Name are zero; zero numeric training fields mean "the
// daemon's default".
type Command struct {
	Name      string // one of the Cmd* constants
	RequestID string // echoed in the answer; generated when absent

	Label    string        // capture (empty: the selected teach class), teach
	Count    int           // capture: samples in the burst, >= 1
	Interval time.Duration // capture: gap between burst samples (0: every frame)

	Epochs       int     // train
	BatchSize    int     // train
	LearningRate float64 // train

	Threshold float64 // threshold, in [0, 1]
	Version   string  // rollback: target model version (empty: previous)
}

// Result is a handler's answer to a command.
type Result struct {
	Message string         // short human-readable outcome
	Details map[string]any // optional, JSON-encodable
}

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
var ErrBadCommand = errors.New("bad command")

// CommandError says what was wrong with a command.
type CommandError struct {
	Command string // command name, or the topic when the name is unknown
	Field   string // JSON field, or "" for the payload as a whole
	Reason  string
}

func (e *CommandError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("mqtt: command %s: %s", e.Command, e.Reason)
	}
	return fmt.Sprintf("mqtt: command %s: field %s: %s", e.Command, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrBadCommand) true.
func (e *CommandError) Is(target error) bool { return target == ErrBadCommand }

// allowed lists the JSON fields each command accepts (request_id always).
var allowed = map[string][]string{
	CmdCapture:   {"label", "count", "interval_ms"},
	CmdTrain:     {"epochs", "batch_size", "learning_rate"},
	CmdUndo:      {},
	CmdRollback:  {"version"},
	CmdTeach:     {"label"},
	CmdThreshold: {"threshold"},
}

// ParseCommand validates a command message. topic is the full topic
// (…/cmd/<name>) or just the name. The payload is a JSON object, empty
// (for commands without required fields), or for teach and threshold the
// bare value (`rock`, `0.7`). It is pure and safe on any input.
func ParseCommand(topic string, payload []byte) (Command, error) {
	name := topic
	if i := strings.LastIndexByte(topic, '/'); i >= 0 {
		name = topic[i+1:]
		if rest := topic[:i]; rest != "cmd" && !strings.HasSuffix(rest, "/cmd") {
			return Command{}, &CommandError{Command: strconv.Quote(topic), Reason: "topic is not …/cmd/<name>"}
		}
	}
	if !isCommandName(name) {
		return Command{}, &CommandError{Command: strconv.Quote(name), Reason: "unknown command (want one of " + strings.Join(commandNames, ", ") + ")"}
	}
	cmd := Command{Name: name}
	bad := func(field, format string, args ...any) (Command, error) {
		return Command{}, &CommandError{Command: name, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if len(payload) > MaxCommandPayload {
		return bad("", "payload of %d bytes exceeds %d", len(payload), MaxCommandPayload)
	}
	if !utf8.Valid(payload) {
		return bad("", "payload is not UTF-8")
	}
	p := bytes.TrimSpace(payload)
	fields := map[string]json.RawMessage{}
	switch {
	case len(p) == 0:
	case p[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil {
			return bad("", "invalid JSON object: %v", err)
		}
		if dec.More() {
			return bad("", "trailing data after the JSON object")
		}
	case name == CmdTeach:
		s := string(p)
		if p[0] == '"' {
			if err := json.Unmarshal(p, &s); err != nil {
				return bad("label", "invalid JSON string: %v", err)
			}
		}
		q, _ := json.Marshal(s)
		fields["label"] = q
	case name == CmdThreshold:
		fields["threshold"] = json.RawMessage(p)
	default:
		return bad("", "payload must be empty or a JSON object")
	}

	for k := range fields {
		if k != "request_id" && !slices.Contains(allowed[name], k) {
			return bad(k, "unknown field (%s accepts %s)", name, strings.Join(append([]string{"request_id"}, allowed[name]...), ", "))
		}
	}
	if raw, ok := fields["request_id"]; ok {
		s, err := jsonString(raw)
		if err != nil {
			return bad("request_id", "%v", err)
		}
		if len(s) > MaxRequestIDLen || !printable(s) {
			return bad("request_id", "must be at most %d printable bytes", MaxRequestIDLen)
		}
		cmd.RequestID = s
	}
	if raw, ok := fields["label"]; ok {
		s, err := jsonString(raw)
		if err != nil {
			return bad("label", "%v", err)
		}
		if err := ValidLabel(s); err != nil {
			return bad("label", "%v", err)
		}
		cmd.Label = s
	} else if name == CmdTeach {
		return bad("label", "required")
	}
	var err error
	if cmd.Count, err = intField(fields, "count", 1, 1, MaxBurst); err != nil {
		return bad("count", "%v", err)
	}
	if name != CmdCapture {
		cmd.Count = 0
	}
	ms, err := intField(fields, "interval_ms", 0, 0, int(MaxBurstInterval/time.Millisecond))
	if err != nil {
		return bad("interval_ms", "%v", err)
	}
	cmd.Interval = time.Duration(ms) * time.Millisecond
	if cmd.Epochs, err = intField(fields, "epochs", 0, 1, MaxEpochs); err != nil {
		return bad("epochs", "%v", err)
	}
	if cmd.BatchSize, err = intField(fields, "batch_size", 0, 1, MaxBatchSize); err != nil {
		return bad("batch_size", "%v", err)
	}
	if raw, ok := fields["learning_rate"]; ok {
		f, err := jsonFloat(raw)
		if err != nil {
			return bad("learning_rate", "%v", err)
		}
		if !(f > 0 && f <= MaxLearningRate) {
			return bad("learning_rate", "%v is not in (0, %v]", f, MaxLearningRate)
		}
		cmd.LearningRate = f
	}
	if raw, ok := fields["threshold"]; ok {
		f, err := jsonFloat(raw)
		if err != nil {
			return bad("threshold", "%v", err)
		}
		if !(f >= 0 && f <= 1) {
			return bad("threshold", "%v is not in [0, 1]", f)
		}
		cmd.Threshold = f
	} else if name == CmdThreshold {
		return bad("threshold", "required")
	}
	if raw, ok := fields["version"]; ok {
		s, err := jsonString(raw)
		if err != nil {
			return bad("version", "%v", err)
		}
		if len(s) > MaxLabelLen || !printable(s) {
			return bad("version", "must be at most %d printable bytes", MaxLabelLen)
		}
		cmd.Version = s
	}
	return cmd, nil
}

// ValidLabel reports whether s can be a class label: 1-64 bytes of
// UTF-8 without control characters or surrounding spaces.
func ValidLabel(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > MaxLabelLen:
		return fmt.Errorf("longer than %d bytes", MaxLabelLen)
	case !printable(s):
		return errors.New("contains control or invalid characters")
	case strings.TrimSpace(s) != s:
		return errors.New("has leading or trailing spaces")
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func jsonString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errors.New("must be a string")
	}
	return s, nil
}

func jsonFloat(raw json.RawMessage) (float64, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, errors.New("must be a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("must be finite")
	}
	return f, nil
}

// intField decodes an optional integer field in [lo, hi], def when absent.
func intField(fields map[string]json.RawMessage, key string, def, lo, hi int) (int, error) {
	raw, ok := fields[key]
	if !ok {
		return def, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, errors.New("must be an integer")
	}
	v, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, errors.New("must be an integer")
	}
	if v < int64(lo) || v > int64(hi) {
		return 0, fmt.Errorf("%d is not in %d..%d", v, lo, hi)
	}
	return int(v), nil
}
