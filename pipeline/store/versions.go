package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/alphad/alphad/internal/atomicfile"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/tflite"
)

// DefaultKeep is how many model versions Commit keeps by default.
const DefaultKeep = 5

// Version kinds.
const (
	KindHead   = "head"   // a backbone plus a trained head (head.bin)
	KindTFLite = "tflite" // an imported classifier used as is
)

// Version describes one model version (models/<Name>/meta.json).
type Version struct {
	Name     string       `json:"-"`
	Created  time.Time    `json:"created"`
	Kind     string       `json:"kind"`
	Labels   []string     `json:"labels"`
	Backbone BackboneRef  `json:"backbone"`
	Config   *head.Config `json:"config,omitempty"`
	Report   *head.Report `json:"report,omitempty"`
	Samples  int          `json:"samples,omitempty"`
	Source   string       `json:"source,omitempty"` // "train", "import <path>"
	// Unknown is the open-set rule calibrated at training (nil for
	// imported models and versions trained before it existed).
	Unknown  *head.Unknown `json:"unknown,omitempty"`
	Training *TrainingInfo `json:"training,omitempty"` // dataset and timings of the run
	Origin   *Origin       `json:"origin,omitempty"`   // set when adopted from a fleet publication
}

// Errors for expected states.
var (
	ErrNoModel        = errors.New("no model version yet (train or import one)")
	ErrNoSuchVersion  = errors.New("no such model version")
	ErrNothingToRoll  = errors.New("no older version to roll back to")
	errVersionMissing = errors.New("version incomplete")
)

// Models manages the model versions under <state>/models and the
// backbones under <state>/backbones (see the package doc). The owner of a
// state directory gets it from State.Models; other processes open it with
// OpenModels to read versions or install a backbone.
type Models struct {
	state string
	dir   string
	Keep  int // versions kept by Commit (the current one always survives)
}

// OpenModels opens (creating) the version and backbone directories of a
// state directory, removes what an interrupted Commit left behind and
// migrates pulled backbones from the older models/backbones folder. It
// does not take the state directory's owner lock.
func OpenModels(stateDir string) (*Models, error) {
	m := &Models{state: stateDir, dir: filepath.Join(stateDir, modelsDir), Keep: DefaultKeep}
	for _, d := range []string{m.dir, filepath.Join(stateDir, backbonesDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	ents, _ := os.ReadDir(m.dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			os.RemoveAll(filepath.Join(m.dir, e.Name()))
		}
	}
	if err := m.migrateBackbones(); err != nil {
		return nil, err
	}
	return m, nil
}

// lock takes the version lock (blocking): writers are short.
func (m *Models) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(m.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: lock %s: %w", m.dir, err)
	}
	return func() { f.Close() }, nil
}

func versionName(n int) string { return fmt.Sprintf("v%06d", n) }

func versionNumber(name string) (int, bool) {
	if len(name) != 7 || name[0] != 'v' {
		return 0, false
	}
	n, err := strconv.Atoi(name[1:])
	return n, err == nil && n > 0
}

// names lists complete version directories, oldest first.
func (m *Models) names() ([]string, error) {
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []string
	for _, e := range ents {
		if _, ok := versionNumber(e.Name()); ok && e.IsDir() {
			if _, err := os.Stat(filepath.Join(m.dir, e.Name(), "meta.json")); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// LabelsText formats labels as Teachable Machine's labels.txt ("0 rock").
func LabelsText(labels []string) []byte {
	var b bytes.Buffer
	for i, l := range labels {
		fmt.Fprintf(&b, "%d %s\n", i, l)
	}
	return b.Bytes()
}

// Commit writes a new version (its head is nil for KindTFLite), makes it
// current and prunes old versions beyond Keep. A crash leaves either the
// old current version or the new one in use.
func (m *Models) Commit(v Version, h *head.Head) (Version, error) {
	if (v.Kind == KindHead) != (h != nil) || (v.Kind != KindHead && v.Kind != KindTFLite) {
		return Version{}, fmt.Errorf("store: commit version: kind %q with head %v", v.Kind, h != nil)
	}
	if len(v.Labels) < 2 {
		return Version{}, fmt.Errorf("store: commit version: %d labels, want ≥ 2", len(v.Labels))
	}
	unlock, err := m.lock()
	if err != nil {
		return Version{}, err
	}
	defer unlock()
	names, err := m.names()
	if err != nil {
		return Version{}, err
	}
	next := 1
	if len(names) > 0 {
		n, _ := versionNumber(names[len(names)-1])
		next = n + 1
	}
	if v.Created.IsZero() {
		v.Created = time.Now().UTC().Round(time.Second)
	}
	v.Name = versionName(next)
	tmp, err := os.MkdirTemp(m.dir, ".tmp-")
	if err != nil {
		return Version{}, fmt.Errorf("store: %w", err)
	}
	defer os.RemoveAll(tmp)
	meta, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return Version{}, fmt.Errorf("store: %w", err)
	}
	files := map[string][]byte{"meta.json": meta, "labels.txt": LabelsText(v.Labels)}
	if h != nil {
		b, _ := h.MarshalBinary()
		files["head.bin"] = b
	}
	for name, data := range files {
		if err := atomicfile.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return Version{}, fmt.Errorf("store: version %s: %w", v.Name, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Version{}, fmt.Errorf("store: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(m.dir, v.Name)); err != nil {
		return Version{}, fmt.Errorf("store: version %s: %w", v.Name, err)
	}
	if err := atomicfile.SyncDir(m.dir); err != nil {
		return Version{}, err
	}
	if err := m.setCurrent(v.Name); err != nil {
		return Version{}, err
	}
	return v, m.prune(append(names, v.Name), v.Name)
}

func (m *Models) prune(names []string, current string) error {
	keep := m.Keep
	if keep < 1 {
		keep = DefaultKeep
	}
	for len(names) > keep {
		old := names[0]
		names = names[1:]
		if old == current {
			continue
		}
		if err := os.RemoveAll(filepath.Join(m.dir, old)); err != nil {
			return fmt.Errorf("store: prune %s: %w", old, err)
		}
	}
	return atomicfile.SyncDir(m.dir)
}

func (m *Models) setCurrent(name string) error {
	if err := atomicfile.WriteFile(filepath.Join(m.dir, "current"), []byte(name+"\n"), 0o644); err != nil {
		return fmt.Errorf("store: set current version: %w", err)
	}
	return nil
}

// CurrentName is the name of the current version.
func (m *Models) CurrentName() (string, error) {
	b, err := os.ReadFile(filepath.Join(m.dir, "current"))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("store: %w", ErrNoModel)
	}
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	name := strings.TrimSpace(string(b))
	if _, ok := versionNumber(name); !ok {
		return "", fmt.Errorf("store: current version %q: bad name", name)
	}
	return name, nil
}

// Version reads one version's description.
func (m *Models) Version(name string) (Version, error) {
	if _, ok := versionNumber(name); !ok {
		return Version{}, fmt.Errorf("store: version %q: %w", name, ErrNoSuchVersion)
	}
	b, err := os.ReadFile(filepath.Join(m.dir, name, "meta.json"))
	if errors.Is(err, os.ErrNotExist) {
		return Version{}, fmt.Errorf("store: version %s: %w", name, ErrNoSuchVersion)
	}
	if err != nil {
		return Version{}, fmt.Errorf("store: %w", err)
	}
	var v Version
	if err := json.Unmarshal(b, &v); err != nil {
		return Version{}, fmt.Errorf("store: version %s meta.json: %w", name, err)
	}
	v.Name = name
	return v, nil
}

// List returns every version, oldest first, and the current one's name
// ("" when none).
func (m *Models) List() ([]Version, string, error) {
	names, err := m.names()
	if err != nil {
		return nil, "", err
	}
	var out []Version
	for _, n := range names {
		v, err := m.Version(n)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	cur, err := m.CurrentName()
	if errors.Is(err, ErrNoModel) {
		err = nil
	}
	return out, cur, err
}

// Rollback makes version to current, or, when to is "", the newest
// version older than the current one. It returns the new current name.
func (m *Models) Rollback(to string) (string, error) {
	unlock, err := m.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if to == "" {
		cur, err := m.CurrentName()
		if err != nil {
			return "", err
		}
		names, err := m.names()
		if err != nil {
			return "", err
		}
		for _, n := range names {
			if n < cur {
				to = n
			}
		}
		if to == "" {
			return "", fmt.Errorf("store: rollback from %s: %w", cur, ErrNothingToRoll)
		}
	}
	if _, err := m.Version(to); err != nil {
		return "", err
	}
	return to, m.setCurrent(to)
}

// Head reads the trained head of a KindHead version.
func (m *Models) Head(name string) (*head.Head, error) {
	b, err := os.ReadFile(filepath.Join(m.dir, name, "head.bin"))
	if err != nil {
		return nil, fmt.Errorf("store: version %s: %w", name, err)
	}
	var h head.Head
	if err := h.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("store: version %s head.bin: %w", name, err)
	}
	return &h, nil
}

// Load builds a runnable model of version name ("" = current) with the
// given engine.
func (m *Models) Load(name string, newEngine engine.New, opts engine.Options) (*head.Model, error) {
	if name == "" {
		var err error
		if name, err = m.CurrentName(); err != nil {
			return nil, err
		}
	}
	v, err := m.Version(name)
	if err != nil {
		return nil, err
	}
	data, err := m.ReadBackbone(v.Backbone)
	if err != nil {
		return nil, fmt.Errorf("store: version %s: %w", name, err)
	}
	tm, err := tflite.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("store: version %s backbone: %w", name, err)
	}
	var h *head.Head
	if v.Kind == KindHead {
		if tm, _, err = head.FeatureModel(tm); err != nil {
			return nil, fmt.Errorf("store: version %s: %w", name, err)
		}
		if h, err = m.Head(name); err != nil {
			return nil, err
		}
		if h.In != tm.Output(0).NumElements() || h.Classes != len(v.Labels) {
			return nil, fmt.Errorf("store: version %s: head %d→%d does not fit backbone (%d) and labels (%d)",
				name, h.In, h.Classes, tm.Output(0).NumElements(), len(v.Labels))
		}
		if v.Unknown != nil {
			if err := v.Unknown.Check(h.Classes, h.In); err != nil {
				return nil, fmt.Errorf("store: version %s: %w", name, err)
			}
		}
	}
	bb, err := head.NewBackbone(tm, v.Backbone.Hash, newEngine, opts)
	if err != nil {
		return nil, fmt.Errorf("store: version %s: %w", name, err)
	}
	return &head.Model{Version: name, Labels: v.Labels, Backbone: bb, Head: h, Unknown: v.Unknown}, nil
}

// LoadCurrent loads the current model of a state directory: what
// `alphad classify` and the daemon use when no model is given.
func LoadCurrent(stateDir string, newEngine engine.New, opts engine.Options) (*head.Model, error) {
	m, err := OpenModels(stateDir)
	if err != nil {
		return nil, err
	}
	return m.Load("", newEngine, opts)
}
