package store

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// Version describes one model version (a row of the versions table;
// its JSON form is the row's meta column).
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
	ErrNoModel       = errors.New("no model version yet (train or import one)")
	ErrNoSuchVersion = errors.New("no such model version")
	ErrNothingToRoll = errors.New("no older version to roll back to")
)

// Models manages the model versions (rows in the state database, each
// KindHead version's head.bin under <state>/models/<name>/) and the
// backbones under <state>/backbones (see the package doc). The owner of a
// state directory gets it from State.Models; other processes open it with
// OpenModels to read versions or install a backbone.
type Models struct {
	state string
	dir   string
	log   *slog.Logger
	fs    fileSystem
	// db is the owner's connection, shared with its Store; nil for
	// OpenModels, whose calls each open the database and close it again
	// (a reader holds nothing between calls).
	db   *sql.DB
	Keep int // versions kept by Commit (the current one always survives)
}

// metaCurrent is the meta key of the current version's name.
const metaCurrent = "current_version"

// OpenModels opens (creating) the version and backbone directories of a
// state directory, migrates versions an older alphad kept as folders
// with meta.json, removes what an interrupted Commit left behind and
// migrates pulled backbones from the older models/backbones folder. It
// does not take the state directory's owner lock.
func OpenModels(stateDir string) (*Models, error) {
	return openModels(stateDir, nil, osFS{}, nil)
}

func openModels(stateDir string, db *sql.DB, fsys fileSystem, log *slog.Logger) (*Models, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Models{state: stateDir, dir: filepath.Join(stateDir, modelsDir), log: log, fs: fsys, db: db, Keep: DefaultKeep}
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
	err = m.withDB(func(db *sql.DB) error {
		if err := m.migrateModels(db); err != nil {
			return err
		}
		return m.sweepVersions(db)
	})
	if err != nil {
		return nil, err
	}
	if err := m.migrateBackbones(); err != nil {
		return nil, err
	}
	return m, nil
}

// withDB runs fn with the state database: the owner's connection, or
// one opened for this call.
func (m *Models) withDB(fn func(*sql.DB) error) error {
	if m.db != nil {
		return fn(m.db)
	}
	db, err := openDB(m.state)
	if err != nil {
		return err
	}
	err = fn(db)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store: close database: %w", cerr)
	}
	return err
}

// sweepVersions removes the temp folders of interrupted commits and
// version folders no row names (a commit that crashed before its row, a
// prune that crashed before its folder went). Folders that still hold an
// older alphad's meta.json are backups and stay. The caller holds the
// models lock.
func (m *Models) sweepVersions(db *sql.DB) error {
	names, err := versionNames(db)
	if err != nil {
		return err
	}
	ents, _ := os.ReadDir(m.dir)
	removed := false
	for _, e := range ents {
		p := filepath.Join(m.dir, e.Name())
		switch _, ok := versionNumber(e.Name()); {
		case strings.HasPrefix(e.Name(), ".tmp-"):
		case ok && e.IsDir() && !slices.Contains(names, e.Name()):
			if _, err := os.Stat(filepath.Join(p, legacyMeta)); err == nil {
				continue
			}
		default:
			continue
		}
		m.log.Info("store: removing a version folder no version names", "dir", p)
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		removed = true
	}
	if removed {
		return atomicfile.SyncDir(m.dir)
	}
	return nil
}

// lock takes the version lock (blocking): writers are short. It orders
// a version's files and row against sweeps in other processes.
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

// versionNames lists the versions, oldest first.
func versionNames(db *sql.DB) ([]string, error) {
	rows, err := db.Query(`SELECT name FROM versions ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: versions: %w", err)
	}
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: versions: %w", err)
		}
		out = append(out, n)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("store: versions: %w", err)
	}
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

// headPath is the file of a KindHead version's head.
func (m *Models) headPath(name string) string { return filepath.Join(m.dir, name, "head.bin") }

// insertVersion writes a version's row and its per-class metrics.
func insertVersion(tx *sql.Tx, v Version) error {
	meta, err := json.Marshal(v)
	if err != nil {
		return err
	}
	labels, err := json.Marshal(v.Labels)
	if err != nil {
		return err
	}
	var acc, on any
	if v.Report != nil {
		acc, on = v.Report.Final.Accuracy, v.Report.On
	}
	if _, err := tx.Exec(`INSERT INTO versions (name, created, kind, labels, backbone_hash, backbone_file, backbone_source,
		samples, source, accuracy, accuracy_on, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Name, formatTime(v.Created), v.Kind, string(labels), v.Backbone.Hash, v.Backbone.File, v.Backbone.Source,
		v.Samples, v.Source, acc, on, string(meta)); err != nil {
		return err
	}
	if v.Report == nil || len(v.Report.Final.PerClass) != len(v.Labels) {
		return nil
	}
	for c, sc := range v.Report.Final.PerClass {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO version_metrics (version, class, support, correct, accuracy) VALUES (?, ?, ?, ?, ?)`,
			v.Name, v.Labels[c], sc.Support, sc.Correct, sc.Accuracy); err != nil {
			return err
		}
	}
	return nil
}

// Commit writes a new version (its head is nil for KindTFLite), makes it
// current and prunes old versions beyond Keep. The head file is durable
// before the transaction that adds the row and moves "current" commits:
// a crash leaves either the old current version or the new one in use.
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
	if v.Created.IsZero() {
		v.Created = time.Now().UTC().Round(time.Second)
	}
	var pruned []string
	err = m.withDB(func(db *sql.DB) error {
		names, err := versionNames(db)
		if err != nil {
			return err
		}
		next := 1
		if len(names) > 0 {
			n, _ := versionNumber(names[len(names)-1])
			next = n + 1
		}
		v.Name = versionName(next)
		dir := filepath.Join(m.dir, v.Name)
		os.RemoveAll(dir) // an orphan of a commit that crashed before its row
		if h != nil {
			if err := os.Mkdir(dir, 0o755); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			b, _ := h.MarshalBinary()
			if err := m.fs.WriteFile(m.headPath(v.Name), b, 0o644); err != nil {
				return fmt.Errorf("store: version %s: %w", v.Name, err)
			}
			if err := atomicfile.SyncDir(m.dir); err != nil {
				return err
			}
		}
		keep := m.Keep
		if keep < 1 {
			keep = DefaultKeep
		}
		all := append(names, v.Name)
		for len(all) > keep {
			pruned, all = append(pruned, all[0]), all[1:]
		}
		return inTx(db, func(tx *sql.Tx) error {
			if err := insertVersion(tx, v); err != nil {
				return fmt.Errorf("store: version %s: %w", v.Name, err)
			}
			if err := setMeta(tx, metaCurrent, v.Name); err != nil {
				return fmt.Errorf("store: set current version: %w", err)
			}
			for _, old := range pruned {
				if _, err := tx.Exec(`DELETE FROM versions WHERE name = ?`, old); err != nil {
					return fmt.Errorf("store: prune %s: %w", old, err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return Version{}, err
	}
	for _, old := range pruned {
		if err := os.RemoveAll(filepath.Join(m.dir, old)); err != nil {
			return v, fmt.Errorf("store: prune %s: %w", old, err)
		}
	}
	return v, atomicfile.SyncDir(m.dir)
}

// CurrentName is the name of the current version.
func (m *Models) CurrentName() (string, error) {
	var name string
	err := m.withDB(func(db *sql.DB) (err error) {
		name, err = metaValue(db, metaCurrent)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: current version: %w", err)
	}
	if name == "" {
		return "", fmt.Errorf("store: %w", ErrNoModel)
	}
	return name, nil
}

// Version reads one version's description.
func (m *Models) Version(name string) (Version, error) {
	if _, ok := versionNumber(name); !ok {
		return Version{}, fmt.Errorf("store: version %q: %w", name, ErrNoSuchVersion)
	}
	var v Version
	err := m.withDB(func(db *sql.DB) (err error) {
		v, err = readVersion(db, name)
		return err
	})
	return v, err
}

func readVersion(db *sql.DB, name string) (Version, error) {
	var meta string
	err := db.QueryRow(`SELECT meta FROM versions WHERE name = ?`, name).Scan(&meta)
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, fmt.Errorf("store: version %s: %w", name, ErrNoSuchVersion)
	}
	if err != nil {
		return Version{}, fmt.Errorf("store: version %s: %w", name, err)
	}
	var v Version
	if err := json.Unmarshal([]byte(meta), &v); err != nil {
		return Version{}, fmt.Errorf("store: version %s meta: %w", name, err)
	}
	v.Name = name
	return v, nil
}

// List returns every version, oldest first, and the current one's name
// ("" when none).
func (m *Models) List() ([]Version, string, error) {
	var out []Version
	var cur string
	err := m.withDB(func(db *sql.DB) error {
		names, err := versionNames(db)
		if err != nil {
			return err
		}
		for _, n := range names {
			v, err := readVersion(db, n)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		cur, err = metaValue(db, metaCurrent)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return out, cur, nil
}

// Rollback makes version to current, or, when to is "", the newest
// version older than the current one. It returns the new current name.
func (m *Models) Rollback(to string) (string, error) {
	unlock, err := m.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	err = m.withDB(func(db *sql.DB) error {
		if to == "" {
			cur, err := metaValue(db, metaCurrent)
			if err != nil {
				return err
			}
			if cur == "" {
				return fmt.Errorf("store: %w", ErrNoModel)
			}
			names, err := versionNames(db)
			if err != nil {
				return err
			}
			for _, n := range names {
				if n < cur {
					to = n
				}
			}
			if to == "" {
				return fmt.Errorf("store: rollback from %s: %w", cur, ErrNothingToRoll)
			}
		}
		if _, err := readVersion(db, to); err != nil {
			return err
		}
		return inTx(db, func(tx *sql.Tx) error { return setMeta(tx, metaCurrent, to) })
	})
	if err != nil {
		return "", err
	}
	return to, nil
}

// Head reads the trained head of a KindHead version.
func (m *Models) Head(name string) (*head.Head, error) {
	b, err := os.ReadFile(m.headPath(name))
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
	return m.LoadShared(name, nil, newEngine, opts)
}

// LoadShared is Load that reuses the backbone of running, a model in use:
// when version name is a trained head on the same backbone (by hash) as
// running's head, the new model shares running.Backbone (its engine,
// safe for concurrent use) instead of building a second one. The caller
// then closes only one of the two models (Close closes the backbone).
// Otherwise, or with running nil, it loads like Load.
func (m *Models) LoadShared(name string, running *head.Model, newEngine engine.New, opts engine.Options) (*head.Model, error) {
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
	var tm *tflite.Model
	if running != nil && running.Head != nil && v.Kind == KindHead && running.Backbone.Hash == v.Backbone.Hash {
		tm = running.Backbone.Model // the feature model this backbone's head versions run on
	} else {
		running = nil
		data, err := m.ReadBackbone(v.Backbone)
		if err != nil {
			return nil, fmt.Errorf("store: version %s: %w", name, err)
		}
		if tm, err = tflite.Parse(data); err != nil {
			return nil, fmt.Errorf("store: version %s backbone: %w", name, err)
		}
	}
	var h *head.Head
	if v.Kind == KindHead {
		if running == nil {
			if tm, _, err = head.FeatureModel(tm); err != nil {
				return nil, fmt.Errorf("store: version %s: %w", name, err)
			}
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
	if running != nil {
		return &head.Model{Version: name, Labels: v.Labels, Backbone: running.Backbone, Head: h, Unknown: v.Unknown}, nil
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
