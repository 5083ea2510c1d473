package daemon

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/hooks"
	"github.com/alphad/alphad/internal/fleet"
	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/mqtt"
	"github.com/alphad/alphad/pipeline/decide"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
)

// ConfigVersion is the only configuration format version this build reads.
const ConfigVersion = 1

// Config is the daemon's YAML configuration. Each package owns its section's
// type; this struct only composes them. Start from DefaultConfig.
type Config struct {
	Version   int                 `yaml:"version"`
	StateDir  string              `yaml:"state_dir"`
	Log       LogConfig           `yaml:"log"`
	Camera    CameraConfig        `yaml:"camera"`
	Model     ModelConfig         `yaml:"model"`
	Smoothing decide.SmoothConfig `yaml:"smoothing"`
	Recording RecordingConfig     `yaml:"recording"`
	Training  TrainingConfig      `yaml:"training"`
	Panel     PanelConfig         `yaml:"panel"`
	MQTT      mqtt.Config         `yaml:"mqtt"`
	Hooks     []hooks.Config      `yaml:"hooks"`
	HTTP      HTTPConfig          `yaml:"http"`
	UI        UIConfig            `yaml:"ui"`
	Fleet     fleet.Config        `yaml:"fleet"`
	Images    ImagesConfig        `yaml:"images"`
	Review    ReviewConfig        `yaml:"review"`
}

// ReviewConfig sets the review queue of unsure frames (review.go).
type ReviewConfig struct {
	// Size is how many frames the queue keeps, the oldest dropped (0: off).
	Size int `yaml:"size"`
	// Interval is the least time between two queued frames; a situation
	// that lasts (the same unknown stretch) adds one every 10 intervals.
	Interval time.Duration `yaml:"interval"`
}

// LogConfig sets the log level (debug, info, warn, error).
type LogConfig struct {
	Level string `yaml:"level"`
}

// CameraConfig selects the frame source and how frames become tensors.
type CameraConfig struct {
	// Source is a camera spec, e.g. v4l2:/dev/video0?width=640&height=480.
	Source string `yaml:"source"`
	// Crop is center (square, default), full (whole frame, aspect not kept)
	// or roi (the Roi rectangle, fractions of the frame).
	Crop   string    `yaml:"crop"`
	Roi    []float64 `yaml:"roi"` // x, y, w, h in 0..1
	Mirror bool      `yaml:"mirror"`
	// Rotate turns frames clockwise (0, 90, 180, 270 degrees) before
	// mirror and crop: for a camera mounted on its side.
	Rotate int `yaml:"rotate"`
	// MaxFPS caps the frame rate (0 = as the camera delivers).
	MaxFPS float64 `yaml:"max_fps"`
	// InferEvery runs the model on every Nth frame (1 = all).
	InferEvery int `yaml:"infer_every"`
	// Retry is the pause before reopening a failed camera.
	Retry time.Duration `yaml:"retry"`
}

// ModelConfig chooses the model and the engine. With Path empty the state
// directory's current trained or imported model is used.
type ModelConfig struct {
	Path    string `yaml:"path"`
	Labels  string `yaml:"labels"`
	Engine  string `yaml:"engine"` // auto, native or xnnpack
	Threads int    `yaml:"threads"`
	// Backbone names the feature extractor training uses when the state
	// directory has no model yet: the backbone pulled under that name,
	// installed by `alphad model pull`.
	Backbone string `yaml:"backbone"`
	// Mirror replaces the download location of `alphad model pull`: an
	// http(s) URL, file:// URL or local path (.tgz or .tflite).
	Mirror string `yaml:"mirror"`
}

// RecordingConfig sets how samples are saved while a class is recorded.
type RecordingConfig struct {
	Rate     float64       `yaml:"rate"`      // samples per second while recording
	MaxBurst int           `yaml:"max_burst"` // stop a burst after this many samples
	MaxTime  time.Duration `yaml:"max_time"`  // stop a burst after this long
}

// TrainingConfig are the defaults of training started by a button or MQTT.
type TrainingConfig struct {
	Epochs       int     `yaml:"epochs"`
	BatchSize    int     `yaml:"batch_size"`
	LearningRate float64 `yaml:"learning_rate"`
	Validation   float64 `yaml:"validation"`
	Hidden       int     `yaml:"hidden"`
	KeepVersions int     `yaml:"keep_versions"`
	// Augmentation adds training views per sample: none, flip (2
	// embeddings per sample) or crops (flip plus two crops: 4).
	Augmentation string `yaml:"augmentation"`
	// The rest are `alphad train`'s options (see head.Config).
	Seed           uint64  `yaml:"seed"`
	Patience       int     `yaml:"patience"`
	ClassWeights   bool    `yaml:"class_weights"`
	L2             float64 `yaml:"l2"`
	LabelSmoothing float64 `yaml:"label_smoothing"`
	Dropout        float64 `yaml:"dropout"`
	Refit          bool    `yaml:"refit"`
	Ensemble       int     `yaml:"ensemble"`
	Calibrate      bool    `yaml:"calibrate"`
	Prototypes     float64 `yaml:"prototypes"`
	// Threads are the backbone engines embedding samples in parallel
	// while training (alphad train --threads); 0 = one per CPU. Training
	// embeds with model.engine (alphad train --engine), the engine
	// inference uses, so that both see the same embeddings; its backbone
	// is model.path's or model.backbone's (alphad train --backbone).
	Threads int `yaml:"threads"`
}

// HeadConfig is the head training configuration these settings make.
func (t TrainingConfig) HeadConfig() head.Config {
	return head.Config{Epochs: t.Epochs, BatchSize: t.BatchSize, LearningRate: t.LearningRate, Validation: t.Validation,
		Hidden: t.Hidden, Seed: t.Seed, Patience: t.Patience, ClassWeights: t.ClassWeights, L2: t.L2,
		LabelSmoothing: t.LabelSmoothing, Dropout: t.Dropout, Refit: t.Refit, Ensemble: t.Ensemble, Calibrate: t.Calibrate,
		Prototypes: t.Prototypes}
}

// PanelConfig switches the GPIO panel on and holds its wiring.
type PanelConfig struct {
	Enabled      bool `yaml:"enabled"`
	panel.Config `yaml:",inline"`
}

// HTTPConfig is the web app, /metrics and /healthz listener ("" = off).
type HTTPConfig struct {
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey (PEM files, both or neither) serve HTTPS.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// MetricsAuth puts /metrics behind the web app's session.
	MetricsAuth bool `yaml:"metrics_auth"`
}

// TLS reports whether the listener serves HTTPS.
func (c HTTPConfig) TLS() bool { return c.TLSCert != "" }

// UIConfig tunes the web app (served on http.listen when cmd/alphad
// mounts it).
type UIConfig struct {
	// StreamFPS is the live view's frame rate (MJPEG), while a page
	// watches.
	StreamFPS float64 `yaml:"stream_fps"`
}

// ImagesConfig bounds every image alphad decodes: samples added over
// MQTT, the socket or the web, the frames of dir: and image: cameras (see
// package stillimage), and every camera's frames (a larger frame is
// refused naming the camera and its size). Sizes are checked from the
// header before any pixel is decoded.
type ImagesConfig struct {
	MaxPixels int `yaml:"max_pixels"`  // width × height
	MaxSide   int `yaml:"max_side"`    // pixels per side
	MaxFileMB int `yaml:"max_file_mb"` // encoded size, MiB
}

// Limits are the stillimage limits these settings make.
func (c ImagesConfig) Limits() stillimage.Limits {
	return stillimage.Limits{MaxWidth: c.MaxSide, MaxHeight: c.MaxSide, MaxPixels: c.MaxPixels, MaxBytes: int64(c.MaxFileMB) << 20}
}

// Bounds of settings with no natural limit: a burst of samples, model
// versions kept.
const (
	maxBurst        = 10000
	maxKeepVersions = 1000
	maxTrainThreads = 64 // as model.threads and alphad train --threads
)

// Bounds of the images settings: a 1 GB Raspberry Pi must decode what
// they allow within its memory.
const (
	maxImagePixels = 64_000_000
	maxImageSide   = 65535
	maxImageFileMB = 256
)

// DefaultConfig is the configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		Version: ConfigVersion,
		Log:     LogConfig{Level: "info"},
		Camera: CameraConfig{
			Source:     "v4l2:/dev/video0?width=640&height=480&fps=15",
			Crop:       "center",
			InferEvery: 1,
			Retry:      2 * time.Second,
		},
		Model:     ModelConfig{Engine: "auto", Threads: 1, Backbone: store.DefaultBackbone},
		Smoothing: decide.DefaultSmoothConfig(),
		Recording: RecordingConfig{Rate: 5, MaxBurst: 200, MaxTime: time.Minute},
		Training:  defaultTraining(),
		Panel:     PanelConfig{Config: panel.Default()},
		MQTT:      mqtt.Default(),
		HTTP:      HTTPConfig{Listen: ":9464"},
		UI:        UIConfig{StreamFPS: 5},
		Images: ImagesConfig{MaxPixels: stillimage.DefaultMaxPixels, MaxSide: stillimage.DefaultMaxSide,
			MaxFileMB: stillimage.DefaultMaxBytes >> 20},
		Review: ReviewConfig{Size: store.DefaultReviewSize, Interval: 10 * time.Second},
	}
}

// defaultTraining is `alphad train`'s defaults (head.DefaultConfig).
func defaultTraining() TrainingConfig {
	h := head.DefaultConfig()
	return TrainingConfig{Epochs: h.Epochs, BatchSize: h.BatchSize, LearningRate: h.LearningRate, Validation: h.Validation,
		Hidden: h.Hidden, KeepVersions: 5, Augmentation: store.DefaultAugmentation, Seed: h.Seed, Patience: h.Patience,
		ClassWeights: h.ClassWeights, L2: h.L2, LabelSmoothing: h.LabelSmoothing, Dropout: h.Dropout, Refit: h.Refit,
		Ensemble: h.Ensemble, Calibrate: h.Calibrate, Prototypes: h.Prototypes}
}

// FieldError is one bad field, with its YAML path and source line (0 when
// the field is not in the file, i.e. a bad default or flag).
type FieldError struct {
	Path string
	Line int
	Msg  string
}

func (e FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// ConfigError lists every problem found in a configuration file.
type ConfigError struct {
	File   string
	Fields []FieldError
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problem(s)", e.File, len(e.Fields))
	for _, f := range e.Fields {
		b.WriteString("\n  " + f.Error())
	}
	return b.String()
}

// ParseConfig decodes a YAML configuration strictly (unknown keys are
// errors) on top of the defaults, then validates it. All problems are
// returned together in a *ConfigError; file only names the source.
func ParseConfig(file string, data []byte) (Config, error) {
	cfg := DefaultConfig()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return cfg, &ConfigError{File: file, Fields: yamlErrors(err)}
	}
	// Every unknown key and mistyped value at once (configcheck.go), then
	// the checks of the values that did decode.
	schema := checkSchema(&root)
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(len(schema) == 0)
		if err := dec.Decode(&cfg); err != nil && len(schema) == 0 {
			return cfg, &ConfigError{File: file, Fields: yamlErrors(err)}
		}
	}
	fe := schema
	for _, f := range cfg.validate() {
		if !slices.ContainsFunc(schema, func(s FieldError) bool { return s.Path == f.Path }) {
			f.Line = lineOf(&root, f.Path)
			fe = append(fe, f)
		}
	}
	if len(fe) > 0 {
		sort.SliceStable(fe, func(i, j int) bool { return fe[i].Line < fe[j].Line })
		return cfg, &ConfigError{File: file, Fields: fe}
	}
	return cfg, nil
}

// Validate lists every bad field of an already decoded configuration.
func (c Config) Validate() error {
	fe := c.validate()
	if len(fe) == 0 {
		return nil
	}
	return &ConfigError{File: "(config)", Fields: fe}
}

// validListen checks a listen address the way net.Listen would take it,
// without resolving names: host:port with a port in 0..65535 and a host
// that is empty (every interface), a valid IP literal, or a syntactically
// valid host name.
func validListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not host:port (%v)", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number in 0..65535", port)
	}
	if host == "" {
		return nil
	}
	if strings.ContainsRune(host, ':') || strings.Trim(host, "0123456789.") == "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("host %q is not a valid IP address", host)
		}
		return nil
	}
	if len(host) > 253 {
		return fmt.Errorf("host name %q is longer than 253 bytes", host)
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		ok := len(label) >= 1 && len(label) <= 63 && label[0] != '-' && label[len(label)-1] != '-'
		for _, r := range label {
			ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}
		if !ok {
			return fmt.Errorf("host %q is not an IP address or a host name", host)
		}
	}
	return nil
}

func (c Config) validate() []FieldError {
	var fe []FieldError
	add := func(path, msg string) { fe = append(fe, FieldError{Path: path, Msg: msg}) }
	// section folds a package's joined "field: message" errors under its
	// YAML section.
	section := func(prefix string, err error) {
		for _, e := range flatten(err) {
			field, msg := splitField(e.Error())
			if field == "" {
				add(prefix, msg)
			} else {
				add(prefix+"."+field, msg)
			}
		}
	}
	if c.Version != ConfigVersion {
		add("version", fmt.Sprintf("%d is not supported (this alphad reads version %d)", c.Version, ConfigVersion))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", fmt.Sprintf("%q is not debug, info, warn or error", c.Log.Level))
	}
	if _, err := device.ParseSpec(c.Camera.Source); err != nil {
		add("camera.source", err.Error())
	}
	switch c.Camera.Crop {
	case "center", "full":
	case "roi":
		if len(c.Camera.Roi) != 4 {
			add("camera.roi", "crop: roi needs roi: [x, y, w, h] as fractions of the frame")
		}
	default:
		add("camera.crop", fmt.Sprintf("%q is not center, full or roi", c.Camera.Crop))
	}
	if len(c.Camera.Roi) > 0 {
		if len(c.Camera.Roi) != 4 {
			add("camera.roi", fmt.Sprintf("has %d numbers, want 4: [x, y, w, h]", len(c.Camera.Roi)))
		} else if r := c.Camera.Roi; r[0] < 0 || r[1] < 0 || r[2] <= 0 || r[3] <= 0 || r[0]+r[2] > 1 || r[1]+r[3] > 1 {
			add("camera.roi", fmt.Sprintf("%v is not a rectangle inside [0,1]×[0,1]", r))
		}
	}
	switch c.Camera.Rotate {
	case 0, 90, 180, 270:
	default:
		add("camera.rotate", fmt.Sprintf("%d is not 0, 90, 180 or 270", c.Camera.Rotate))
	}
	if c.Review.Size < 0 || c.Review.Size > store.MaxReviewSize {
		add("review.size", fmt.Sprintf("%d is not in 0..%d (0: off)", c.Review.Size, store.MaxReviewSize))
	}
	if c.Review.Interval < 0 || c.Review.Interval > 24*time.Hour {
		add("review.interval", fmt.Sprintf("%v is not in 0..24h", c.Review.Interval))
	}
	if c.Camera.MaxFPS < 0 || c.Camera.MaxFPS > 1000 {
		add("camera.max_fps", fmt.Sprintf("%v is not in 0..1000", c.Camera.MaxFPS))
	}
	if c.Camera.InferEvery < 1 {
		add("camera.infer_every", fmt.Sprintf("%d must be ≥ 1", c.Camera.InferEvery))
	}
	if c.Camera.Retry <= 0 || c.Camera.Retry > time.Hour {
		add("camera.retry", fmt.Sprintf("%v is not in (0, 1h]", c.Camera.Retry))
	}
	switch c.Model.Engine {
	case "auto", "native", "xnnpack":
	default:
		add("model.engine", fmt.Sprintf("%q is not auto, native or xnnpack", c.Model.Engine))
	}
	if c.HTTP.Listen != "" {
		if err := validListen(c.HTTP.Listen); err != nil {
			add("http.listen", fmt.Sprintf("%q: %v", c.HTTP.Listen, err))
		}
	}
	switch {
	case (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == ""):
		add("http.tls_cert", "tls_cert and tls_key go together (give both or neither)")
	case c.HTTP.TLSCert != "":
		if _, err := tls.LoadX509KeyPair(c.HTTP.TLSCert, c.HTTP.TLSKey); err != nil {
			add("http.tls_cert", fmt.Sprintf("%s with key %s: %v", c.HTTP.TLSCert, c.HTTP.TLSKey, err))
		}
	}
	if c.Model.Threads < 1 || c.Model.Threads > 64 {
		add("model.threads", fmt.Sprintf("%d is not in 1..64", c.Model.Threads))
	}
	if err := store.ValidBackboneName(c.Model.Backbone); err != nil {
		add("model.backbone", err.Error())
	}
	section("smoothing", c.Smoothing.Validate())
	if c.UI.StreamFPS <= 0 || c.UI.StreamFPS > 30 {
		add("ui.stream_fps", fmt.Sprintf("%v is not in (0, 30] frames/s", c.UI.StreamFPS))
	}
	if c.Recording.Rate <= 0 || c.Recording.Rate > 100 {
		add("recording.rate", fmt.Sprintf("%v is not in (0, 100] samples/s", c.Recording.Rate))
	}
	if c.Recording.MaxBurst < 1 || c.Recording.MaxBurst > maxBurst {
		add("recording.max_burst", fmt.Sprintf("%d is not in 1..%d", c.Recording.MaxBurst, maxBurst))
	}
	if c.Recording.MaxTime <= 0 || c.Recording.MaxTime > time.Hour {
		add("recording.max_time", fmt.Sprintf("%v is not in (0, 1h]", c.Recording.MaxTime))
	}
	if im := c.Images; im.MaxPixels < 1 || im.MaxPixels > maxImagePixels {
		add("images.max_pixels", fmt.Sprintf("%d is not in 1..%d (a 1 GB device cannot decode more)", im.MaxPixels, maxImagePixels))
	}
	if im := c.Images; im.MaxSide < 1 || im.MaxSide > maxImageSide {
		add("images.max_side", fmt.Sprintf("%d is not in 1..%d", im.MaxSide, maxImageSide))
	}
	if im := c.Images; im.MaxFileMB < 1 || im.MaxFileMB > maxImageFileMB {
		add("images.max_file_mb", fmt.Sprintf("%d is not in 1..%d", im.MaxFileMB, maxImageFileMB))
	}
	t := c.Training
	if t.Epochs < 1 || t.Epochs > head.MaxEpochs {
		add("training.epochs", fmt.Sprintf("%d is not in 1..%d", t.Epochs, head.MaxEpochs))
	}
	if t.BatchSize < 1 || t.BatchSize > head.MaxBatchSize {
		add("training.batch_size", fmt.Sprintf("%d is not in 1..%d", t.BatchSize, head.MaxBatchSize))
	}
	if !(t.LearningRate > 0 && t.LearningRate < head.MaxLearnRate) {
		add("training.learning_rate", fmt.Sprintf("%v is not in (0, %d)", t.LearningRate, head.MaxLearnRate))
	}
	if !(t.Validation >= 0 && t.Validation < 1) {
		add("training.validation", fmt.Sprintf("%v is not in [0, 1)", t.Validation))
	}
	if t.Hidden < 0 || t.Hidden > head.MaxHidden {
		add("training.hidden", fmt.Sprintf("%d is not in 0..%d", t.Hidden, head.MaxHidden))
	}
	if t.KeepVersions < 1 || t.KeepVersions > maxKeepVersions {
		add("training.keep_versions", fmt.Sprintf("%d is not in 1..%d", t.KeepVersions, maxKeepVersions))
	}
	if _, err := store.Augmentation(t.Augmentation); err != nil {
		add("training.augmentation", fmt.Sprintf("%q is not none, flip or crops", t.Augmentation))
	}
	if t.Patience < 0 || t.Patience > head.MaxPatience {
		add("training.patience", fmt.Sprintf("%d is not in 0..%d", t.Patience, head.MaxPatience))
	}
	if !(t.L2 >= 0 && t.L2 <= head.MaxL2) {
		add("training.l2", fmt.Sprintf("%v is not in [0, %d]", t.L2, head.MaxL2))
	}
	if !(t.LabelSmoothing >= 0 && t.LabelSmoothing < 1) {
		add("training.label_smoothing", fmt.Sprintf("%v is not in [0, 1)", t.LabelSmoothing))
	}
	if !(t.Dropout >= 0 && t.Dropout < 1) {
		add("training.dropout", fmt.Sprintf("%v is not in [0, 1)", t.Dropout))
	}
	if t.Ensemble < 0 || t.Ensemble > head.MaxEnsemble {
		add("training.ensemble", fmt.Sprintf("%d is not in 0..%d", t.Ensemble, head.MaxEnsemble))
	}
	if !(t.Prototypes >= 0 && t.Prototypes <= head.MaxPrototype) {
		add("training.prototypes", fmt.Sprintf("%v is not in [0, %d]", t.Prototypes, head.MaxPrototype))
	}
	if t.Threads < 0 || t.Threads > maxTrainThreads {
		add("training.threads", fmt.Sprintf("%d is not in 0..%d (0 = one per CPU)", t.Threads, maxTrainThreads))
	}
	if c.Panel.Enabled {
		section("panel", c.Panel.Config.Validate())
	}
	if c.MQTT.Broker != "" {
		section("mqtt", c.MQTT.Validate())
	}
	for i, h := range c.Hooks {
		section(fmt.Sprintf("hooks[%d]", i), h.Validate())
	}
	section("fleet", c.Fleet.Validate())
	if c.Fleet.Enabled() && c.MQTT.Broker == "" {
		add("fleet.group", "the fleet works over MQTT: set mqtt.broker")
	}
	if p := c.MQTT.WithDefaults().TopicPrefix; c.Fleet.Enabled() && (p == fleet.TopicRoot || strings.HasPrefix(p, fleet.TopicRoot+"/")) {
		add("mqtt.topic_prefix", fmt.Sprintf("%q is inside the fleet's topics (%s/…): pick another device_id or topic_prefix", p, fleet.TopicRoot))
	}
	return fe
}

// flatten unwraps errors.Join trees into their leaves.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// splitField splits "field: message" (after an optional "pkg: " prefix)
// into its YAML field path and message; messages without a leading field
// name return field "".
func splitField(s string) (field, msg string) {
	for _, p := range []string{"panel: ", "mqtt: ", "hooks: ", "smoothing: ", "fleet: "} {
		s = strings.TrimPrefix(s, p)
	}
	i := strings.Index(s, ": ")
	if i <= 0 {
		return "", s
	}
	for _, r := range s[:i] {
		if !(r == '_' || r == '.' || r == '[' || r == ']' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return "", s
		}
	}
	return s[:i], s[i+2:]
}

// lineOf finds the line of a dotted YAML path ("mqtt.qos", "hooks[1].url")
// in the document, falling back to the closest ancestor present.
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if k := strings.IndexByte(part, '['); k > 0 && strings.HasSuffix(part, "]") {
			fmt.Sscanf(part[k+1:len(part)-1], "%d", &idx)
			key = part[:k]
		}
		next := mapValue(n, key)
		if next == nil {
			return line
		}
		line, n = next.Line, next
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// yamlErrors turns a yaml.v3 decode error into field errors with lines.
func yamlErrors(err error) []FieldError {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var fe []FieldError
		for _, s := range te.Errors {
			line := 0
			fmt.Sscanf(s, "line %d:", &line)
			msg := s
			if k := strings.Index(s, ": "); k > 0 && line > 0 {
				msg = s[k+2:]
			}
			fe = append(fe, FieldError{Path: "yaml", Line: line, Msg: msg})
		}
		return fe
	}
	line := 0
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if _, e := fmt.Sscanf(s, "line %d:", &line); e == nil {
		s = s[strings.Index(s, ":")+2:]
	}
	return []FieldError{{Path: "yaml", Line: line, Msg: s}}
}
