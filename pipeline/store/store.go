package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/alphad/alphad/internal/atomicfile"
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

// record is one journal line.
type record struct {
	Op      string   `json:"op"` // add, rm, move, class, rename, delclass, undo
	Samples []Sample `json:"samples,omitempty"`
	IDs     []string `json:"ids,omitempty"`
	Name    string   `json:"name,omitempty"`
	To      string   `json:"to,omitempty"`
	Burst   int64    `json:"burst,omitempty"`
}

// Store is the sample store of a State. Its methods are safe for
// concurrent use.
type Store struct {
	dir string // samples directory
	log *slog.Logger

	mu      sync.Mutex
	journal journalFile
	// jsize is the journal's length after the last record that was
	// written and synced in full; a failed append is cut back to it.
	jsize int64
	// torn is set when a failed append could not be cut back: the next
	// commit retries the cut before writing anything.
	torn      bool
	records   int
	classes   []string
	samples   []Sample // in insertion order
	index     map[string]int
	lastBurst int64
}

const journalName = "journal.jsonl"

// journalFile is what the store needs of its open journal (an *os.File;
// tests inject one that fails mid-write).
type journalFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// recordStart is how every journal record begins (Op is record's first
// field and JSON escapes quotes inside strings, so it occurs nowhere else).
var recordStart = []byte(`{"op":"`)

// openSamples opens (creating if needed) the sample store in dir,
// recovering from a crash: a torn last journal line is cut off, temp files
// and images no record names are removed. The caller (OpenState) holds
// the state directory's lock.
func openSamples(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{dir, filepath.Join(dir, "img"), filepath.Join(dir, "orig")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	s := &Store{dir: dir, log: log, index: map[string]int{}}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir is the samples directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) load() error {
	path := filepath.Join(s.dir, journalName)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	good := 0
	salvaged := false
	for off := 0; off < len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		var r record
		if nl < 0 || json.Unmarshal(data[off:off+nl], &r) != nil {
			// A torn record followed by a record on the same line: the
			// bytes an older alphad left of an append cut short (a full
			// disk), with the next record written after them. The append
			// failed, so its sample was never acknowledged; the record
			// that follows was, and is kept.
			i := -1
			if nl >= 0 {
				line := data[off : off+nl]
				r = record{} // a failed decode may have set fields
				if i = bytes.LastIndex(line, recordStart); i > 0 && json.Unmarshal(line[i:], &r) != nil {
					i = -1
				}
			}
			if i <= 0 {
				if nl < 0 || off+nl+1 >= len(data) {
					s.log.Warn("store: dropping torn journal tail", "file", path, "bytes", len(data)-off)
					break
				}
				return fmt.Errorf("store: %s: corrupt record at byte %d", path, off)
			}
			s.log.Warn("store: dropping torn journal record", "file", path, "at", off, "bytes", i)
			salvaged = true
		}
		if err := s.apply(r); err != nil {
			return fmt.Errorf("store: %s: record at byte %d: %w", path, off, err)
		}
		s.records++
		off += nl + 1
		good = off
	}
	if good < len(data) {
		if err := os.Truncate(path, int64(good)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	// Drop samples whose image vanished (not expected: images are durable
	// before their record), then clean up temp files and orphans.
	for _, sm := range slices.Clone(s.samples) {
		if _, err := os.Stat(s.ImagePath(sm.ID)); err != nil {
			s.log.Warn("store: sample image missing, dropping sample", "id", sm.ID, "err", err)
			s.remove(sm.ID)
		}
	}
	s.sweep()
	if salvaged || s.records > 2*len(s.samples)+len(s.classes)+64 {
		if err := s.compact(); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("store: %w", err)
	}
	s.journal, s.jsize = f, st.Size()
	return atomicfile.SyncDir(s.dir)
}

// sweep removes temp files and files no sample names.
func (s *Store) sweep() {
	for _, sub := range []string{"img", "orig"} {
		d := filepath.Join(s.dir, sub)
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			name := e.Name()
			id := strings.TrimSuffix(name, filepath.Ext(name))
			if _, ok := s.index[id]; ok && !strings.HasPrefix(name, ".") {
				continue
			}
			s.log.Debug("store: removing orphan", "file", filepath.Join(d, name))
			os.Remove(filepath.Join(d, name))
		}
	}
}

// compact rewrites the journal as one class record per class and one add
// record with every sample.
func (s *Store) compact() error {
	path := filepath.Join(s.dir, journalName)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	n := 0
	for _, c := range s.classes {
		enc.Encode(record{Op: "class", Name: c})
		n++
	}
	if len(s.samples) > 0 {
		enc.Encode(record{Op: "add", Samples: s.samples})
		n++
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("store: compact journal: %w", err)
	}
	s.records = n
	return nil
}

// apply updates the in-memory state with one record.
func (s *Store) apply(r record) error {
	switch r.Op {
	case "class":
		if !slices.Contains(s.classes, r.Name) {
			s.classes = append(s.classes, r.Name)
		}
	case "rename":
		i := slices.Index(s.classes, r.Name)
		if i < 0 {
			return fmt.Errorf("rename class %q: %w", r.Name, ErrUnknownClass)
		}
		s.classes[i] = r.To
		for j := range s.samples {
			if s.samples[j].Label == r.Name {
				s.samples[j].Label = r.To
			}
		}
	case "delclass":
		s.classes = slices.DeleteFunc(s.classes, func(c string) bool { return c == r.Name })
		var ids []string
		for _, sm := range s.samples {
			if sm.Label == r.Name {
				ids = append(ids, sm.ID)
			}
		}
		s.remove(ids...)
	case "add":
		for _, sm := range r.Samples {
			if !slices.Contains(s.classes, sm.Label) {
				s.classes = append(s.classes, sm.Label)
			}
			if _, dup := s.index[sm.ID]; dup {
				continue
			}
			s.index[sm.ID] = len(s.samples)
			s.samples = append(s.samples, sm)
			s.lastBurst = max(s.lastBurst, sm.Burst)
		}
	case "rm":
		s.remove(r.IDs...)
	case "move":
		if !slices.Contains(s.classes, r.To) {
			s.classes = append(s.classes, r.To)
		}
		for _, id := range r.IDs {
			if i, ok := s.index[id]; ok {
				s.samples[i].Label = r.To
			}
		}
	case "undo":
		var ids []string
		for _, sm := range s.samples {
			if sm.Burst == r.Burst {
				ids = append(ids, sm.ID)
			}
		}
		s.remove(ids...)
	default:
		return fmt.Errorf("unknown op %q", r.Op)
	}
	return nil
}

func (s *Store) remove(ids ...string) {
	if len(ids) == 0 {
		return
	}
	gone := map[string]bool{}
	for _, id := range ids {
		gone[id] = true
	}
	s.samples = slices.DeleteFunc(s.samples, func(sm Sample) bool { return gone[sm.ID] })
	clear(s.index)
	for i, sm := range s.samples {
		s.index[sm.ID] = i
	}
}

// commit appends r to the journal, fsyncs it, then applies it. An append
// that fails (a full disk, a write cut short, a failed fsync) is cut back
// off the journal, so no partial bytes precede the next record and the
// journal holds exactly the records applied.
func (s *Store) commit(r record) error {
	if s.journal == nil {
		return errors.New("store: closed")
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if s.torn {
		if err := s.cut(); err != nil {
			return fmt.Errorf("store: append journal: cut failed append: %w", err)
		}
	}
	line = append(line, '\n')
	if _, err := s.journal.Write(line); err != nil {
		return s.failed("append journal", err)
	}
	if err := s.journal.Sync(); err != nil {
		return s.failed("sync journal", err)
	}
	s.jsize += int64(len(line))
	s.records++
	return s.apply(r)
}

// failed cuts a failed append off the journal and returns the error.
func (s *Store) failed(op string, err error) error {
	s.torn = true
	if cerr := s.cut(); cerr != nil {
		s.log.Error("store: cannot cut failed journal append; retrying before the next one", "err", cerr)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// cut truncates the journal back to its last complete record.
func (s *Store) cut() error {
	if err := s.journal.Truncate(s.jsize); err != nil {
		return err
	}
	if err := s.journal.Sync(); err != nil {
		return err
	}
	s.torn = false
	return nil
}

// close closes the journal (State.Close calls it).
func (s *Store) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.journal != nil {
		err = s.journal.Close()
		s.journal = nil
	}
	return err
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
	if slices.Contains(s.classes, name) {
		return fmt.Errorf("store: add class %q: %w", name, ErrClassExists)
	}
	return s.commit(record{Op: "class", Name: name})
}

// RenameClass renames a class and relabels its samples.
func (s *Store) RenameClass(from, to string) error {
	if err := validClass(to); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.classes, from) {
		return fmt.Errorf("store: rename class %q: %w", from, ErrUnknownClass)
	}
	if slices.Contains(s.classes, to) {
		return fmt.Errorf("store: rename class %q to %q: %w", from, to, ErrClassExists)
	}
	return s.commit(record{Op: "rename", Name: from, To: to})
}

// DeleteClass deletes a class and its samples and returns how many
// samples went.
func (s *Store) DeleteClass(name string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.classes, name) {
		return 0, fmt.Errorf("store: delete class %q: %w", name, ErrUnknownClass)
	}
	n := 0
	for _, sm := range s.samples {
		if sm.Label == name {
			n++
		}
	}
	if err := s.commit(record{Op: "delclass", Name: name}); err != nil {
		return 0, err
	}
	s.sweep()
	return n, nil
}

// NextBurst returns a new burst id for a recording (one button hold, one
// capture command, one `dataset add`).
func (s *Store) NextBurst() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastBurst++
	return s.lastBurst
}

// Add stores samples as one burst: their files are made durable first,
// then one journal record names them all. When Add returns nil every
// sample is on disk; after a crash before that, none or all of them are.
// Samples whose image is already stored are returned with their existing
// record. Labels that are not classes yet become classes.
func (s *Store) Add(burst int64, samples []NewSample) ([]Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Sample, len(samples))
	var fresh []Sample
	for i, ns := range samples {
		if err := validClass(ns.Label); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(&buf, ns.Image); err != nil {
			return nil, fmt.Errorf("store: encode sample %d: %w", i, err)
		}
		sum := sha256.Sum256(buf.Bytes())
		id := hex.EncodeToString(sum[:16])
		if j, ok := s.index[id]; ok {
			out[i] = s.samples[j]
			continue
		}
		t := ns.Time
		if t.IsZero() {
			t = time.Now()
		}
		sm := Sample{ID: id, Label: ns.Label, Time: t.UTC().Round(time.Millisecond), Source: ns.Source, Burst: burst}
		if err := atomicfile.WriteFile(s.ImagePath(id), buf.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("store: sample %d: %w", i, err)
		}
		if ns.Original != nil {
			ext := ns.OriginalExt
			if ext != "" && (!strings.HasPrefix(ext, ".") || strings.ContainsAny(ext, "/\\") || len(ext) > 10) {
				ext = ""
			}
			sm.Orig = id + ext
			if err := atomicfile.WriteFile(filepath.Join(s.dir, "orig", sm.Orig), ns.Original, 0o644); err != nil {
				return nil, fmt.Errorf("store: sample %d original: %w", i, err)
			}
		}
		out[i] = sm
		if !slices.ContainsFunc(fresh, func(f Sample) bool { return f.ID == id }) {
			fresh = append(fresh, sm)
		}
	}
	if len(fresh) == 0 {
		return out, nil
	}
	if err := s.commit(record{Op: "add", Samples: fresh}); err != nil {
		return nil, err
	}
	return out, nil
}

// Remove deletes samples by ID; unknown IDs are an error and nothing is
// removed.
func (s *Store) Remove(ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.index[id]; !ok {
			return fmt.Errorf("store: remove sample %s: no such sample", id)
		}
	}
	if err := s.commit(record{Op: "rm", IDs: ids}); err != nil {
		return err
	}
	s.sweep()
	return nil
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
	return s.commit(record{Op: "move", IDs: ids, To: to})
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
	if err := s.commit(record{Op: "undo", Burst: last}); err != nil {
		return 0, 0, err
	}
	s.sweep()
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
