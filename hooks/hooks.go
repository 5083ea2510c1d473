// Package hooks runs the user's actions when the decided label changes: a
// command (argv, no shell unless asked) with the event in its environment,
// and/or a JSON webhook POST with bounded retries. Each hook has a label
// filter and a cooldown. Hooks run off the frame loop: Fire never blocks.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/alphad/alphad/internal/control"
)

// Config is one hook.
type Config struct {
	Name string `yaml:"name"`
	// Labels limits the hook to changes TO these labels; empty = all.
	Labels []string `yaml:"labels"`
	// Command is an argv; run directly unless Shell is true, in which case
	// Command[0] is passed to /bin/sh -c.
	Command []string `yaml:"command"`
	Shell   bool     `yaml:"shell"`
	// URL receives a JSON POST of the Event.
	URL      string        `yaml:"url"`
	Timeout  time.Duration `yaml:"timeout"`  // per attempt; default 10s
	Retries  int           `yaml:"retries"`  // webhook retries after the first try; default 2
	Cooldown time.Duration `yaml:"cooldown"` // minimum time between two runs of this hook
}

// Validate lists every bad field of the hook at index i.
func (c Config) Validate() error {
	var errs []error
	if len(c.Command) == 0 && c.URL == "" {
		errs = append(errs, errors.New("needs a command or a url"))
	}
	if c.Shell && len(c.Command) != 1 {
		errs = append(errs, errors.New("command: with shell: true give exactly one string"))
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("url: %q is not an http(s) URL", c.URL))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %v is negative", c.Timeout))
	}
	if c.Retries < 0 || c.Retries > 10 {
		errs = append(errs, fmt.Errorf("retries: %d is not in 0..10", c.Retries))
	}
	if c.Cooldown < 0 {
		errs = append(errs, fmt.Errorf("cooldown: %v is negative", c.Cooldown))
	}
	return errors.Join(errs...)
}

// Event is a label change, as sent to hooks.
type Event struct {
	Device       string    `json:"device"`
	Label        string    `json:"label"`
	Previous     string    `json:"previous"`
	Confidence   float64   `json:"confidence"`
	ModelVersion string    `json:"model_version"`
	Seq          uint64    `json:"seq"`
	Time         time.Time `json:"time"`
}

// env is the environment a command hook sees on top of the daemon's.
func (e Event) env() []string {
	return []string{
		"ALPHAD_DEVICE=" + e.Device,
		"ALPHAD_LABEL=" + e.Label,
		"ALPHAD_PREVIOUS=" + e.Previous,
		"ALPHAD_CONFIDENCE=" + strconv.FormatFloat(e.Confidence, 'f', 4, 64),
		"ALPHAD_MODEL_VERSION=" + e.ModelVersion,
		"ALPHAD_SEQ=" + strconv.FormatUint(e.Seq, 10),
		"ALPHAD_TIME=" + e.Time.UTC().Format(time.RFC3339Nano),
	}
}

// Runner fires hooks. Create with New; Run drives it; Fire enqueues.
type Runner struct {
	log    *slog.Logger
	device string
	client *http.Client
	queue  chan Event
	now    func() time.Time

	mu       sync.Mutex
	hooks    []Config
	last     []time.Time // last run per hook
	dropped  uint64
	failures uint64
	runs     uint64
}

// New returns a runner for the hooks; each must be valid.
func New(hooks []Config, log *slog.Logger) (*Runner, error) {
	for i, h := range hooks {
		if err := h.Validate(); err != nil {
			return nil, fmt.Errorf("hooks[%d] %q: %w", i, h.Name, err)
		}
	}
	return &Runner{
		hooks:  hooks,
		log:    log,
		client: &http.Client{},
		queue:  make(chan Event, 16),
		now:    time.Now,
		last:   make([]time.Time, len(hooks)),
	}, nil
}

// Notify implements the daemon's output: a decision that changed the
// label fires the hooks (device names the device in the event).
func (r *Runner) Notify(ev control.Event) {
	d, ok := ev.(control.Decision)
	if !ok || !d.Changed {
		return
	}
	r.Fire(Event{Device: r.device, Label: d.Label, Previous: d.Previous, Confidence: d.Confidence,
		ModelVersion: d.ModelVersion, Seq: d.Seq, Time: d.Time})
}

// SetDevice sets the device name hook events carry.
func (r *Runner) SetDevice(name string) { r.device = name }

// Reload replaces the hooks (SIGHUP); each must be valid. Queued events
// run with the new hooks.
func (r *Runner) Reload(hooks []Config) error {
	for i, h := range hooks {
		if err := h.Validate(); err != nil {
			return fmt.Errorf("hooks[%d] %q: %w", i, h.Name, err)
		}
	}
	r.mu.Lock()
	r.hooks = slices.Clone(hooks)
	r.last = make([]time.Time, len(hooks))
	r.mu.Unlock()
	return nil
}

func (r *Runner) snapshot() []Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hooks
}

// Fire enqueues a label change; when the queue is full the event is dropped
// and counted, so the frame loop never waits for a slow hook.
func (r *Runner) Fire(e Event) {
	if len(r.snapshot()) == 0 {
		return
	}
	select {
	case r.queue <- e:
	default:
		r.mu.Lock()
		r.dropped++
		r.mu.Unlock()
	}
}

// Stats are the runner's counters.
type Stats struct{ Runs, Failures, Dropped uint64 }

// Stats returns the counters.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Runs: r.runs, Failures: r.failures, Dropped: r.dropped}
}

// Run executes queued events until ctx ends. Events for one hook run in
// order; a hook in cooldown skips the event.
func (r *Runner) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-r.queue:
			hooks := r.snapshot()
			for i, h := range hooks {
				r.runHook(ctx, i, h, e)
			}
		}
	}
}

func (r *Runner) runHook(ctx context.Context, i int, h Config, e Event) {
	if !matches(h.Labels, e.Label) {
		return
	}
	now := r.now()
	r.mu.Lock()
	if i >= len(r.last) { // reloaded meanwhile
		r.mu.Unlock()
		return
	}
	if h.Cooldown > 0 && !r.last[i].IsZero() && now.Sub(r.last[i]) < h.Cooldown {
		r.mu.Unlock()
		return
	}
	r.last[i] = now
	r.runs++
	r.mu.Unlock()
	var errs []error
	if len(h.Command) > 0 {
		if err := r.runCommand(ctx, h, e); err != nil {
			errs = append(errs, err)
		}
	}
	if h.URL != "" {
		if err := r.post(ctx, h, e); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		r.mu.Lock()
		r.failures++
		r.mu.Unlock()
		r.log.Warn("hook failed", "hook", h.Name, "label", e.Label, "err", err)
	}
}

func matches(labels []string, l string) bool {
	if len(labels) == 0 {
		return true
	}
	for _, x := range labels {
		if x == l {
			return true
		}
	}
	return false
}

func timeout(h Config) time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 10 * time.Second
}

func (r *Runner) runCommand(ctx context.Context, h Config, e Event) error {
	ctx, cancel := context.WithTimeout(ctx, timeout(h))
	defer cancel()
	var cmd *exec.Cmd
	if h.Shell {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", h.Command[0])
	} else {
		cmd = exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	}
	cmd.Env = append(os.Environ(), e.env()...)
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("command %q: timed out after %v", h.Command[0], timeout(h))
		}
		return fmt.Errorf("command %q: %w: %s", h.Command[0], err, tail(out.Bytes(), 200))
	}
	return nil
}

func (r *Runner) post(ctx context.Context, h Config, e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	retries := h.Retries
	var last error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
		last = r.postOnce(ctx, h, body)
		if last == nil {
			return nil
		}
	}
	return fmt.Errorf("webhook %s: %d attempts: %w", redact(h.URL), retries+1, last)
}

func (r *Runner) postOnce(ctx context.Context, h Config, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, timeout(h))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "alphad")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// redact drops user info from a URL for logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(bad url)"
	}
	return u.Redacted()
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}
