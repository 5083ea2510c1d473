package store

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/stillimage"
)

// Sample is one stored, labelled image.
type Sample struct {
	ID     string    `json:"id"` // hex content hash of the PNG
	Label  string    `json:"label"`
	Time   time.Time `json:"time"`
	Source string    `json:"source,omitempty"` // e.g. "camera", "file:/path/x.jpg", "button"
	Burst  int64     `json:"burst"`            // samples recorded together share it
	Orig   string    `json:"orig,omitempty"`   // file name of the original under orig/, if kept
}

// NewSample is what Add stores.
type NewSample struct {
	Label string
	Image image.Image // at model input size (cropped)
	// Original, if not nil, is kept as orig/<id><OriginalExt>.
	Original    []byte
	OriginalExt string
	Source      string
	Time        time.Time
}

// Errors for expected states.
var (
	ErrUnknownClass = errors.New("unknown class")
	ErrClassExists  = errors.New("class already exists")
	ErrNoBurst      = errors.New("nothing to undo")
	ErrLocked       = errors.New("state directory in use by another alphad process")
)

// Store is the sample store of a State: the samples' rows in the state
// database and their images under samples/img and samples/orig. It keeps
// a copy of the rows in memory (loaded at open, changed only after a
// transaction commits), so reads never fail. Its methods are safe for
// concurrent use.
type Store struct {
	dir string // samples directory
	log *slog.Logger
	fs  fileSystem

	mu        sync.Mutex
	db        *sql.DB // nil once closed
	classes   []string
	classID   map[string]int64
	samples   []Sample // in insertion order
	index     map[string]int
	lastBurst int64
	swept     []string // orphans removed since open (state-relative paths)
}

// openSamples loads the sample store in dir (the samples directory) from
// db, after removing what a crash left behind: temp files and images no
// row names. Rows whose image is missing are kept and logged (`alphad
// dataset check --repair` removes them). The caller (OpenState) owns the
// state directory.
func openSamples(db *sql.DB, dir string, fs fileSystem, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{dir, filepath.Join(dir, "img"), filepath.Join(dir, "orig")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	s := &Store{dir: dir, log: log, fs: fs, db: db}
	if err := s.load(); err != nil {
		return nil, err
	}
	if rep := s.sweep(); len(rep.Missing) > 0 {
		log.Warn("store: samples whose image file is missing (alphad dataset check --repair removes them)",
			"count", len(rep.Missing), "first", rep.Missing[0])
	}
	return s, nil
}

// Dir is the samples directory.
func (s *Store) Dir() string { return s.dir }

// load reads the classes and samples from the database.
func (s *Store) load() error {
	s.classes, s.classID = nil, map[string]int64{}
	s.samples, s.index = nil, map[string]int{}
	rows, err := s.db.Query(`SELECT id, name FROM classes ORDER BY id`)
	if err != nil {
		return fmt.Errorf("store: load classes: %w", err)
	}
	names := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return fmt.Errorf("store: load classes: %w", err)
		}
		s.classes = append(s.classes, name)
		s.classID[name] = id
		names[id] = name
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("store: load classes: %w", err)
	}
	rows, err = s.db.Query(`SELECT id, class_id, time, source, burst, orig FROM samples ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("store: load samples: %w", err)
	}
	for rows.Next() {
		var sm Sample
		var cid int64
		var t string
		if err := rows.Scan(&sm.ID, &cid, &t, &sm.Source, &sm.Burst, &sm.Orig); err != nil {
			rows.Close()
			return fmt.Errorf("store: load samples: %w", err)
		}
		if sm.Time, err = parseTime(t); err != nil {
			rows.Close()
			return fmt.Errorf("store: sample %s: time %q: %w", sm.ID, t, err)
		}
		sm.Label = names[cid]
		s.index[sm.ID] = len(s.samples)
		s.samples = append(s.samples, sm)
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("store: load samples: %w", err)
	}
	if err := s.db.QueryRow(`SELECT coalesce(max(id), 0) FROM bursts`).Scan(&s.lastBurst); err != nil {
		return fmt.Errorf("store: load bursts: %w", err)
	}
	return nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// update runs fn in a write transaction; on success it applies the change
// to the in-memory copy with then. The caller holds s.mu.
func (s *Store) update(op string, fn func(*sql.Tx) error, then func()) error {
	if s.db == nil {
		return errors.New("store: closed")
	}
	if err := inTx(s.db, fn); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if then != nil {
		then()
	}
	return nil
}

// ensureClass returns a class's row id, creating the class if new.
func (s *Store) ensureClass(tx *sql.Tx, name string, created map[string]int64) (int64, error) {
	if id, ok := s.classID[name]; ok {
		return id, nil
	}
	if id, ok := created[name]; ok {
		return id, nil
	}
	res, err := tx.Exec(`INSERT INTO classes (name) VALUES (?)`, name)
	if err != nil {
		return 0, fmt.Errorf("class %q: %w", name, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	created[name] = id
	return id, nil
}

// addClasses applies classes created in a committed transaction.
func (s *Store) addClasses(created map[string]int64) {
	for name, id := range created {
		s.classID[name] = id
	}
	// Creation order is row id order.
	names := slices.Collect(maps.Keys(created))
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(created[a], created[b]) })
	s.classes = append(s.classes, names...)
}

// removeSamples drops samples from the in-memory copy and deletes their
// files (best effort: a file left behind is an orphan the next open
// sweeps).
func (s *Store) removeSamples(del func(Sample) bool) {
	for _, sm := range s.samples {
		if del(sm) {
			s.fs.Remove(s.ImagePath(sm.ID))
			if p := s.OriginalPath(sm); p != "" {
				s.fs.Remove(p)
			}
		}
	}
	s.samples = slices.DeleteFunc(s.samples, del)
	clear(s.index)
	for i, sm := range s.samples {
		s.index[sm.ID] = i
	}
}

// close forgets the database (State.Close closes it).
func (s *Store) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.db = nil
}

// Classes lists the classes in the order they were created.
func (s *Store) Classes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.classes)
}

// Samples lists the samples in the order they were added.
func (s *Store) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples)
}

// Sample returns the sample with an ID.
func (s *Store) Sample(id string) (Sample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[id]
	if !ok {
		return Sample{}, false
	}
	return s.samples[i], true
}

// Counts is the number of samples per class, for every class.
func (s *Store) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, c := range s.classes {
		n[c] = 0
	}
	for _, sm := range s.samples {
		n[sm.Label]++
	}
	return n
}

// ImagePath is the file of a sample's PNG.
func (s *Store) ImagePath(id string) string { return filepath.Join(s.dir, "img", id+".png") }

// Image decodes a sample's stored image (within the default limits of
// package stillimage, like every image alphad reads).
func (s *Store) Image(id string) (image.Image, error) {
	img, err := stillimage.ReadFile(s.ImagePath(id), stillimage.Limits{})
	if err != nil {
		return nil, fmt.Errorf("store: sample %s: %w", id, err)
	}
	return img, nil
}

// validClass applies the one rule for class names of every interface
// (control.ValidLabel: 1-64 bytes of printable UTF-8 without surrounding
// spaces), so the CLI, the daemon and MQTT agree on what a class is.
func validClass(name string) error {
	if err := control.ValidLabel(name); err != nil {
		return fmt.Errorf("store: bad class name %q: %w", name, err)
	}
	return nil
}

// AddClass creates an empty class.
func (s *Store) AddClass(name string) error {
	if err := validClass(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.classID[name]; ok {
		return fmt.Errorf("store: add class %q: %w", name, ErrClassExists)
	}
	created := map[string]int64{}
	return s.update("add class "+strconv.Quote(name), func(tx *sql.Tx) error {
		_, err := s.ensureClass(tx, name, created)
		return err
	}, func() { s.addClasses(created) })
}

// RenameClass renames a class and relabels its samples.
func (s *Store) RenameClass(from, to string) error {
	if err := validClass(to); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.classID[from]
	if !ok {
		return fmt.Errorf("store: rename class %q: %w", from, ErrUnknownClass)
	}
	if _, ok := s.classID[to]; ok {
		return fmt.Errorf("store: rename class %q to %q: %w", from, to, ErrClassExists)
	}
	return s.update("rename class "+strconv.Quote(from), func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE classes SET name = ? WHERE id = ?`, to, id)
		return err
	}, func() {
		delete(s.classID, from)
		s.classID[to] = id
		s.classes[slices.Index(s.classes, from)] = to
		for i := range s.samples {
			if s.samples[i].Label == from {
				s.samples[i].Label = to
			}
		}
	})
}

// DeleteClass deletes a class and its samples and returns how many
// samples went.
func (s *Store) DeleteClass(name string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.classID[name]
	if !ok {
		return 0, fmt.Errorf("store: delete class %q: %w", name, ErrUnknownClass)
	}
	n := 0
	for _, sm := range s.samples {
		if sm.Label == name {
			n++
		}
	}
	err := s.update("delete class "+strconv.Quote(name), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM samples WHERE class_id = ?`, id); err != nil {
			return err
		}
		_, err := tx.Exec(`DELETE FROM classes WHERE id = ?`, id)
		return err
	}, func() {
		delete(s.classID, name)
		s.classes = slices.DeleteFunc(s.classes, func(c string) bool { return c == name })
		s.removeSamples(func(sm Sample) bool { return sm.Label == name })
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// NextBurst returns a new burst id for a recording (one button hold, one
// capture command, one `dataset add`). Ids are never reused, also across
// restarts: the burst's row is written by the Add that uses it.
func (s *Store) NextBurst() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastBurst++
	return s.lastBurst
}

// Add stores samples as one burst: their files are made durable first,
// then one transaction inserts their rows. When Add returns nil every
// sample is on disk; after a crash before that, none of them is (their
// files are orphans the next open removes). Samples whose image is
// already stored are returned with their existing row. Labels that are
// not classes yet become classes.
func (s *Store) Add(burst int64, samples []NewSample) ([]Sample, error) {
	if burst < 0 {
		return nil, fmt.Errorf("store: add: burst %d < 0", burst)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil, errors.New("store: closed")
	}
	out := make([]Sample, len(samples))
	var fresh []Sample
	var written []string
	cleanup := func() {
		for _, p := range written {
			s.fs.Remove(p)
		}
	}
	for i, ns := range samples {
		if err := validClass(ns.Label); err != nil {
			cleanup()
			return nil, err
		}
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&buf, ns.Image); err != nil {
			cleanup()
			return nil, fmt.Errorf("store: encode sample %d: %w", i, err)
		}
		sum := sha256.Sum256(buf.Bytes())
		id := hex.EncodeToString(sum[:16])
		if j, ok := s.index[id]; ok {
			out[i] = s.samples[j]
			continue
		}
		if k := slices.IndexFunc(fresh, func(f Sample) bool { return f.ID == id }); k >= 0 {
			out[i] = fresh[k]
			continue
		}
		t := ns.Time
		if t.IsZero() {
			t = time.Now()
		}
		sm := Sample{ID: id, Label: ns.Label, Time: t.UTC().Round(time.Millisecond), Source: ns.Source, Burst: burst}
		if err := s.fs.WriteFile(s.ImagePath(id), buf.Bytes(), 0o644); err != nil {
			cleanup()
			return nil, fmt.Errorf("store: sample %d: %w", i, err)
		}
		written = append(written, s.ImagePath(id))
		if ns.Original != nil {
			ext := ns.OriginalExt
			if ext != "" && (!strings.HasPrefix(ext, ".") || strings.ContainsAny(ext, "/\\") || len(ext) > 10) {
				ext = ""
			}
			sm.Orig = id + ext
			p := filepath.Join(s.dir, "orig", sm.Orig)
			if err := s.fs.WriteFile(p, ns.Original, 0o644); err != nil {
				cleanup()
				return nil, fmt.Errorf("store: sample %d original: %w", i, err)
			}
			written = append(written, p)
		}
		out[i] = sm
		fresh = append(fresh, sm)
	}
	if len(fresh) == 0 {
		return out, nil
	}
	created := map[string]int64{}
	err := s.update("add samples", func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO bursts (id, created) VALUES (?, ?)`, burst, formatTime(time.Now())); err != nil {
			return fmt.Errorf("burst %d: %w", burst, err)
		}
		st, err := tx.Prepare(`INSERT INTO samples (id, class_id, time, source, burst, orig) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, sm := range fresh {
			cid, err := s.ensureClass(tx, sm.Label, created)
			if err != nil {
				return err
			}
			if _, err := st.Exec(sm.ID, cid, formatTime(sm.Time), sm.Source, sm.Burst, sm.Orig); err != nil {
				return fmt.Errorf("sample %s: %w", sm.ID, err)
			}
		}
		return nil
	}, func() {
		s.addClasses(created)
		for _, sm := range fresh {
			s.index[sm.ID] = len(s.samples)
			s.samples = append(s.samples, sm)
		}
		s.lastBurst = max(s.lastBurst, burst)
	})
	if err != nil {
		// The files stay: a commit that reported failure may still reach
		// the disk, and a row must never name a missing file. If it did
		// not, they are orphans the next open removes.
		return nil, err
	}
	return out, nil
}

// Remove deletes samples by ID; unknown IDs are an error and nothing is
// removed.
func (s *Store) Remove(ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := map[string]bool{}
	for _, id := range ids {
		if _, ok := s.index[id]; !ok {
			return fmt.Errorf("store: remove sample %s: no such sample", id)
		}
		gone[id] = true
	}
	return s.update("remove samples", func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.Exec(`DELETE FROM samples WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	}, func() { s.removeSamples(func(sm Sample) bool { return gone[sm.ID] }) })
}

// Move relabels samples (by ID) as class to, which is created if new;
// unknown IDs are an error and nothing is moved.
func (s *Store) Move(to string, ids ...string) error {
	if err := validClass(to); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.index[id]; !ok {
			return fmt.Errorf("store: move sample %s: no such sample", id)
		}
	}
	created := map[string]int64{}
	return s.update("move samples", func(tx *sql.Tx) error {
		cid, err := s.ensureClass(tx, to, created)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.Exec(`UPDATE samples SET class_id = ? WHERE id = ?`, cid, id); err != nil {
				return err
			}
		}
		return nil
	}, func() {
		s.addClasses(created)
		for _, id := range ids {
			s.samples[s.index[id]].Label = to
		}
	})
}

// UndoBurst removes the samples of the most recent burst still present
// and returns its id and how many samples went.
func (s *Store) UndoBurst() (int64, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last int64 = -1
	for _, sm := range s.samples {
		last = max(last, sm.Burst)
	}
	if last < 0 {
		return 0, 0, fmt.Errorf("store: undo: %w", ErrNoBurst)
	}
	n := 0
	for _, sm := range s.samples {
		if sm.Burst == last {
			n++
		}
	}
	err := s.update("undo burst "+strconv.FormatInt(last, 10), func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM samples WHERE burst = ?`, last)
		return err
	}, func() { s.removeSamples(func(sm Sample) bool { return sm.Burst == last }) })
	if err != nil {
		return 0, 0, err
	}
	return last, n, nil
}

// OriginalPath is the file of a sample's original image, or "" if none
// was kept.
func (s *Store) OriginalPath(sm Sample) string {
	if sm.Orig == "" {
		return ""
	}
	return filepath.Join(s.dir, "orig", sm.Orig)
}
