package control

import (
	"bytes"
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

// Name names a command.
type Name = string

// Command names.
const (
	CreateClass   Name = "create_class"   // add an empty class
	RenameClass   Name = "rename_class"   // rename a class and its samples
	DeleteClass   Name = "delete_class"   // delete a class and its samples
	Capture       Name = "capture"        // record count samples (a burst) of a class
	RecordStart   Name = "record_start"   // record while held: until record_stop or the burst limit
	RecordStop    Name = "record_stop"    // end the recording in progress
	Teach         Name = "teach"          // select the class capture and buttons record
	AddSamples    Name = "add_samples"    // add image files to a class (one burst)
	MoveSamples   Name = "move_samples"   // move samples to another class
	DeleteSamples Name = "delete_samples" // delete samples
	Undo          Name = "undo"           // delete the last recorded burst
	Train         Name = "train"          // train a new model version in the background
	CancelTrain   Name = "cancel_training"
	Activate      Name = "activate" // put a model version in use
	Rollback      Name = "rollback" // put the previous (or a given) version in use
	Import        Name = "import"   // import a .tflite classifier (e.g. a Teachable Machine export) as a version
	Export        Name = "export"   // return a version as one standalone .tflite
	Threshold     Name = "threshold"
	Set           Name = "set"    // change runtime settings (threshold, smoothing window, teach class)
	Status        Name = "status" // classes, counts, model, training, settings (read only)
	Samples       Name = "samples"
	LoginLink     Name = "login_link"     // a one-time web login link (control socket only)
	Review        Name = "review"         // the review queue of unsure frames
	ReviewFile    Name = "review_file"    // file a review item into a class (it becomes a sample)
	ReviewDiscard Name = "review_discard" // delete a review item
	Publish       Name = "publish"        // publish a model version to the fleet group (signed, retained)
	Adopt         Name = "adopt"          // install the fleet group's latest verified publication
)

// Spec describes one command of the table.
type Spec struct {
	Name   Name
	Doc    string
	Fields []string // JSON fields it accepts besides request_id
	// Bulk commands carry file contents: only the local control socket and
	// the web API take them (an MQTT payload is limited to a few KB).
	Bulk bool
	// Local commands are taken only on the control socket (the owner of
	// the state directory): they hand out access.
	Local bool
}

// Table lists every command, in documentation order.
var Table = []Spec{
	{Name: CreateClass, Doc: "add an empty class", Fields: []string{"label"}},
	{Name: RenameClass, Doc: "rename a class (label → to) with its samples", Fields: []string{"label", "to"}},
	{Name: DeleteClass, Doc: "delete a class and its samples", Fields: []string{"label"}},
	{Name: Capture, Doc: "record count samples of label (default: the teach class), interval_ms apart", Fields: []string{"label", "count", "interval_ms"}},
	{Name: RecordStart, Doc: "start recording label at recording.rate until record_stop (or recording.max_burst / max_time)", Fields: []string{"label"}},
	{Name: RecordStop, Doc: "stop the recording in progress"},
	{Name: Teach, Doc: "select the class capture and the buttons record (created if new)", Fields: []string{"label"}},
	{Name: AddSamples, Doc: "add images (files: name + base64 data) to label as one burst", Fields: []string{"label", "files"}, Bulk: true},
	{Name: MoveSamples, Doc: "move samples (ids) to class to", Fields: []string{"ids", "to"}},
	{Name: DeleteSamples, Doc: "delete samples (ids)", Fields: []string{"ids"}},
	{Name: Undo, Doc: "delete the last recorded burst"},
	{Name: Train, Doc: "train a new model version (answers at once; wait: answer when done)", Fields: []string{"epochs", "batch_size", "learning_rate", "wait"}},
	{Name: CancelTrain, Doc: "cancel the training in progress"},
	{Name: Activate, Doc: "put model version in use", Fields: []string{"version"}},
	{Name: Rollback, Doc: "put the previous version (or version) in use", Fields: []string{"version"}},
	{Name: Import, Doc: "import a .tflite classifier (files: model.tflite and labels.txt) as a new version in use", Fields: []string{"files", "source"}, Bulk: true},
	{Name: Export, Doc: "return version (default current) as one standalone .tflite plus labels", Fields: []string{"version"}},
	{Name: Threshold, Doc: "set the decision threshold (0..1)", Fields: []string{"threshold"}},
	{Name: Set, Doc: "change runtime settings: threshold, window (smoothing frames), teach, camera crop ({x,y,w,h} fractions, or center / full), mirror, rotate (0/90/180/270)", Fields: []string{"threshold", "window", "teach", "crop", "mirror", "rotate"}},
	{Name: Status, Doc: "the device's classes, sample counts, model, training and settings"},
	{Name: Samples, Doc: "the stored samples (optionally of one label)", Fields: []string{"label"}},
	{Name: LoginLink, Doc: "a one-time login link for the web app, valid 10 minutes (control socket only)", Local: true},
	{Name: Review, Doc: "the review queue: frames the model was unsure about, newest first, with their scores"},
	{Name: ReviewFile, Doc: "file review item id into class label (it becomes a sample)", Fields: []string{"id", "label"}},
	{Name: ReviewDiscard, Doc: "delete review item id", Fields: []string{"id"}},
	{Name: Publish, Doc: "publish version (default current) to the fleet group, signed and retained", Fields: []string{"version"}},
	{Name: Adopt, Doc: "install the fleet group's latest verified publication (force: even an older one or this device's own)", Fields: []string{"force"}},
}

// Lookup finds a command's spec.
func Lookup(name string) (Spec, bool) {
	i := slices.IndexFunc(Table, func(s Spec) bool { return s.Name == name })
	if i < 0 {
		return Spec{}, false
	}
	return Table[i], true
}

// Names lists the command names; bulk and local ones only when bulk is
// true.
func Names(bulk bool) []string {
	var n []string
	for _, s := range Table {
		if bulk || !(s.Bulk || s.Local) {
			n = append(n, s.Name)
		}
	}
	return n
}

// Limits enforced by Parse.
const (
	MaxLabelLen      = 64
	MaxRequestIDLen  = 128
	MaxBurst         = 1000
	MaxBurstInterval = time.Minute
	MaxEpochs        = 10000
	MaxBatchSize     = 4096
	MaxLearningRate  = 10.0
	MaxIDs           = 10000
	MaxFiles         = 1000
	MaxWindow        = 1000
	MinCrop          = 0.02 // the smallest crop side, a fraction of the frame
)

// File is a named file's contents carried by a bulk command.
type File struct {
	Name string `json:"name"`
	Data []byte `json:"data"` // base64 in JSON
}

// Crop is the region of the (rotated, mirrored) frame the model sees: Mode
// center (the largest centred square), full (the whole frame) or roi (X,
// Y, W, H as fractions 0..1 of the frame).
type Crop struct {
	Mode string  `json:"mode"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	W    float64 `json:"w"`
	H    float64 `json:"h"`
}

// TrainParams are the training settings a command may change; zero
// means the daemon's configured value.
type TrainParams struct {
	Epochs       int
	BatchSize    int
	LearningRate float64
}

// Command is a validated request. Fields that do not belong to Name are
// zero.
type Command struct {
	Name      Name
	RequestID string // echoed in the answer

	Label    string        // the class a command is about (teach, capture, …)
	To       string        // rename_class: the new name; move_samples: the target class
	IDs      []string      // move_samples, delete_samples
	Count    int           // capture: samples in the burst, >= 1
	Interval time.Duration // capture: gap between samples (0: every frame)
	Files    []File        // add_samples, import
	Source   string        // import: where the files came from (shown in model ls)

	Train TrainParams // train
	Wait  bool        // train: answer when training ended

	Version string // activate, rollback, export
	Force   bool   // adopt: also an older publication or this device's own

	Threshold *float64 // threshold, set
	Window    int      // set: smoothing window (0: unchanged)
	TeachSet  string   // set: teach class ("" unchanged)
	Crop      *Crop    // set: camera crop (nil unchanged)
	Mirror    *bool    // set: mirror the frame left-right (nil unchanged)
	Rotate    *int     // set: turn the frame clockwise, degrees (nil unchanged)

	ID string // review_file, review_discard: the review item

	// Progress, when set by a transport, receives training progress of a
	// train command with Wait (not serialised).
	Progress func(Event) `json:"-"`
}

// Result is a handler's answer.
type Result struct {
	Message string         `json:"message,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	Data    []byte         `json:"data,omitempty"` // export: the .tflite
}

// ErrBadCommand marks every error Parse returns.
var ErrBadCommand = errors.New("bad command")

// CommandError says what was wrong with a command.
type CommandError struct {
	Command string // command name (quoted when unknown)
	Field   string // JSON field, or "" for the payload as a whole
	Reason  string
}

func (e *CommandError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("command %s: %s", e.Command, e.Reason)
	}
	return fmt.Sprintf("command %s: field %s: %s", e.Command, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrBadCommand) true.
func (e *CommandError) Is(target error) bool { return target == ErrBadCommand }

// Parse validates a command given its name and a JSON object of fields
// (nil or empty: no fields). allowBulk admits bulk commands. It is pure and
// safe on any input; every error is a *CommandError.
func Parse(name string, payload []byte, allowBulk bool) (Command, error) {
	spec, ok := Lookup(name)
	if !ok || ((spec.Bulk || spec.Local) && !allowBulk) {
		return Command{}, &CommandError{Command: strconv.Quote(name), Reason: "unknown command (want one of " + strings.Join(Names(allowBulk), ", ") + ")"}
	}
	fields := map[string]json.RawMessage{}
	if p := bytes.TrimSpace(payload); len(p) > 0 && string(p) != "null" {
		if !utf8.Valid(p) {
			return Command{}, &CommandError{Command: name, Reason: "payload is not UTF-8"}
		}
		if p[0] != '{' {
			return Command{}, &CommandError{Command: name, Reason: "payload must be empty or a JSON object"}
		}
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil {
			return Command{}, &CommandError{Command: name, Reason: fmt.Sprintf("invalid JSON object: %v", err)}
		}
		if dec.More() {
			return Command{}, &CommandError{Command: name, Reason: "trailing data after the JSON object"}
		}
	}
	return FromFields(spec, fields)
}

// FromFields validates already split JSON fields against spec (transports
// with their own payload shapes, like MQTT's bare values, use it).
func FromFields(spec Spec, fields map[string]json.RawMessage) (Command, error) {
	name := spec.Name
	cmd := Command{Name: name}
	bad := func(field, format string, args ...any) (Command, error) {
		return Command{}, &CommandError{Command: name, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	for _, k := range slices.Sorted(mapsKeys(fields)) {
		if k != "request_id" && !slices.Contains(spec.Fields, k) {
			return bad(k, "unknown field (%s accepts %s)", name, strings.Join(append([]string{"request_id"}, spec.Fields...), ", "))
		}
	}
	var err error
	if cmd.RequestID, err = stringField(fields, "request_id", MaxRequestIDLen); err != nil {
		return bad("request_id", "%v", err)
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"label", &cmd.Label}, {"to", &cmd.To}, {"teach", &cmd.TeachSet}} {
		raw, ok := fields[f.key]
		if !ok {
			continue
		}
		s, err := jsonString(raw)
		if err == nil {
			err = ValidLabel(s)
		}
		if err != nil {
			return bad(f.key, "%v", err)
		}
		*f.dst = s
	}
	switch name {
	case CreateClass, RenameClass, DeleteClass, Teach, RecordStart, AddSamples:
		if cmd.Label == "" {
			return bad("label", "required")
		}
	}
	switch name {
	case RenameClass, MoveSamples:
		if cmd.To == "" {
			return bad("to", "required")
		}
	}
	if cmd.Count, err = intField(fields, "count", 1, 1, MaxBurst); err != nil {
		return bad("count", "%v", err)
	}
	if name != Capture {
		cmd.Count = 0
	}
	ms, err := intField(fields, "interval_ms", 0, 0, int(MaxBurstInterval/time.Millisecond))
	if err != nil {
		return bad("interval_ms", "%v", err)
	}
	cmd.Interval = time.Duration(ms) * time.Millisecond
	if cmd.Train.Epochs, err = intField(fields, "epochs", 0, 1, MaxEpochs); err != nil {
		return bad("epochs", "%v", err)
	}
	if cmd.Train.BatchSize, err = intField(fields, "batch_size", 0, 1, MaxBatchSize); err != nil {
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
		cmd.Train.LearningRate = f
	}
	if raw, ok := fields["wait"]; ok {
		if err := json.Unmarshal(raw, &cmd.Wait); err != nil {
			return bad("wait", "must be true or false")
		}
	}
	if raw, ok := fields["force"]; ok {
		if err := json.Unmarshal(raw, &cmd.Force); err != nil {
			return bad("force", "must be true or false")
		}
	}
	if raw, ok := fields["threshold"]; ok {
		f, err := jsonFloat(raw)
		if err != nil {
			return bad("threshold", "%v", err)
		}
		if !(f >= 0 && f <= 1) {
			return bad("threshold", "%v is not in [0, 1]", f)
		}
		cmd.Threshold = &f
	} else if name == Threshold {
		return bad("threshold", "required")
	}
	if cmd.Window, err = intField(fields, "window", 0, 1, MaxWindow); err != nil {
		return bad("window", "%v", err)
	}
	if raw, ok := fields["crop"]; ok {
		c, err := parseCrop(raw)
		if err != nil {
			return bad("crop", "%v", err)
		}
		cmd.Crop = &c
	}
	if raw, ok := fields["mirror"]; ok {
		var m bool
		if err := json.Unmarshal(raw, &m); err != nil {
			return bad("mirror", "must be true or false")
		}
		cmd.Mirror = &m
	}
	if _, ok := fields["rotate"]; ok {
		r, err := intField(fields, "rotate", 0, 0, 270)
		if err == nil && r%90 != 0 {
			err = fmt.Errorf("%d is not 0, 90, 180 or 270", r)
		}
		if err != nil {
			return bad("rotate", "%v", err)
		}
		cmd.Rotate = &r
	}
	if name == Set && cmd.Threshold == nil && cmd.Window == 0 && cmd.TeachSet == "" && cmd.Crop == nil && cmd.Mirror == nil && cmd.Rotate == nil {
		return bad("", "nothing to set (give threshold, window, teach, crop, mirror or rotate)")
	}
	if raw, ok := fields["id"]; ok {
		id, err := jsonString(raw)
		if err == nil && !ValidReviewID(id) {
			err = fmt.Errorf("%q is not a review item id", id)
		}
		if err != nil {
			return bad("id", "%v", err)
		}
		cmd.ID = id
	} else if name == ReviewFile || name == ReviewDiscard {
		return bad("id", "required")
	}
	if name == ReviewFile && cmd.Label == "" {
		return bad("label", "required")
	}
	if cmd.Version, err = stringField(fields, "version", MaxLabelLen); err != nil {
		return bad("version", "%v", err)
	}
	if cmd.Source, err = stringField(fields, "source", 4096); err != nil {
		return bad("source", "%v", err)
	}
	if raw, ok := fields["ids"]; ok {
		if err := json.Unmarshal(raw, &cmd.IDs); err != nil {
			return bad("ids", "must be an array of strings")
		}
		if len(cmd.IDs) == 0 || len(cmd.IDs) > MaxIDs {
			return bad("ids", "want 1..%d ids, got %d", MaxIDs, len(cmd.IDs))
		}
		for _, id := range cmd.IDs {
			if id == "" || len(id) > 128 || !printable(id) {
				return bad("ids", "%q is not a sample id", id)
			}
		}
	} else if name == MoveSamples || name == DeleteSamples {
		return bad("ids", "required")
	}
	if raw, ok := fields["files"]; ok {
		if err := json.Unmarshal(raw, &cmd.Files); err != nil {
			return bad("files", "must be an array of {name, data (base64)}")
		}
		if len(cmd.Files) == 0 || len(cmd.Files) > MaxFiles {
			return bad("files", "want 1..%d files, got %d", MaxFiles, len(cmd.Files))
		}
		for _, f := range cmd.Files {
			if f.Name == "" || len(f.Name) > 4096 || !printable(f.Name) {
				return bad("files", "file name %q is not printable or empty", f.Name)
			}
		}
	} else if name == AddSamples || name == Import {
		return bad("files", "required")
	}
	return cmd, nil
}

// ValidReviewID reports whether id has the shape of a review item id: 8-40
// characters of lowercase hex and dashes (it never names a path).
func ValidReviewID(id string) bool {
	if len(id) < 8 || len(id) > 40 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}

// parseCrop reads a crop: "center", "full", or {"x","y","w","h"}
// fractions of the frame, the rectangle inside it and each side at least
// MinCrop.
func parseCrop(raw json.RawMessage) (Crop, error) {
	if isJSONString(raw) {
		s, _ := jsonString(raw)
		if s == "center" || s == "full" {
			return Crop{Mode: s}, nil
		}
		return Crop{}, fmt.Errorf("%q is not center, full or {x, y, w, h}", s)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil || f == nil {
		return Crop{}, errors.New("must be center, full or an object {x, y, w, h} of fractions 0..1")
	}
	c := Crop{Mode: "roi"}
	for _, k := range slices.Sorted(mapsKeys(f)) {
		var dst *float64
		switch k {
		case "x":
			dst = &c.X
		case "y":
			dst = &c.Y
		case "w":
			dst = &c.W
		case "h":
			dst = &c.H
		default:
			return Crop{}, fmt.Errorf("unknown key %q (want x, y, w, h)", k)
		}
		v, err := jsonFloat(f[k])
		if err != nil {
			return Crop{}, fmt.Errorf("%s %v", k, err)
		}
		*dst = v
	}
	if len(f) != 4 {
		return Crop{}, errors.New("needs all of x, y, w, h")
	}
	if err := c.Check(); err != nil {
		return Crop{}, err
	}
	c.W, c.H = min(c.W, 1-c.X), min(c.H, 1-c.Y)
	return c, nil
}

// cropEps is the rounding a region's sides may carry: parseCrop clips
// x+w and y+h to the frame, so w or h may lie this far below MinCrop.
const cropEps = 1e-9

// Check reports whether c is a crop the daemon can apply: mode center or
// full, or roi with x, y in 0..1, each side at least MinCrop and the
// region inside the frame. It is the one crop rule: the command layer
// checks what a client sends with it, the state store what it saves and
// reads back.
func (c Crop) Check() error {
	switch c.Mode {
	case "center", "full":
		return nil
	case "roi":
	default:
		return fmt.Errorf("mode %q is not center, full or roi", c.Mode)
	}
	switch {
	case !(c.X >= 0 && c.Y >= 0 && c.X <= 1 && c.Y <= 1):
		return fmt.Errorf("x %v, y %v: want 0..1", c.X, c.Y)
	case !(c.W >= MinCrop-cropEps && c.H >= MinCrop-cropEps):
		return fmt.Errorf("w %v, h %v: want at least %v of the frame", c.W, c.H, MinCrop)
	case !(c.X+c.W <= 1+cropEps && c.Y+c.H <= 1+cropEps):
		return fmt.Errorf("x+w %v, y+h %v: the region must lie inside the frame (≤ 1)", c.X+c.W, c.Y+c.H)
	}
	return nil
}

func mapsKeys(m map[string]json.RawMessage) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
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

// Printable reports whether s is valid UTF-8 of printable runes.
func Printable(s string) bool { return printable(s) }

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		// U+FFFD is what a lone surrogate ("\ud800") decodes to.
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

func stringField(fields map[string]json.RawMessage, key string, maxLen int) (string, error) {
	raw, ok := fields[key]
	if !ok {
		return "", nil
	}
	s, err := jsonString(raw)
	if err != nil {
		return "", err
	}
	if len(s) > maxLen || !printable(s) {
		return "", fmt.Errorf("must be at most %d printable bytes", maxLen)
	}
	return s, nil
}

func jsonString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errors.New("must be a string")
	}
	return s, nil
}

func jsonFloat(raw json.RawMessage) (float64, error) {
	if isJSONString(raw) {
		return 0, errors.New("must be a number, not a string")
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, errors.New("must be a number")
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("must be a finite number")
	}
	return f, nil
}

// intField decodes an optional integer field in [lo, hi], def when absent.
func intField(fields map[string]json.RawMessage, key string, def, lo, hi int) (int, error) {
	raw, ok := fields[key]
	if !ok {
		return def, nil
	}
	if isJSONString(raw) {
		return 0, errors.New("must be an integer, not a string")
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

func isJSONString(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '"'
}
