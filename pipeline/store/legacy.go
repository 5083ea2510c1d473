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
	"time"
)

// The files an alphad before the database kept its metadata in. They are
// read once, by the first open of a state directory by this alphad, and
// then left untouched as a backup (docs/store.md): nothing reads or
// writes them again.
const (
	journalName  = "journal.jsonl" // in samplesDir: one JSON record per line
	settingsFile = "settings.json"
	legacyMeta   = "meta.json" // in each models/<version>/
	legacyLabels = "labels.txt"
	legacyCur    = "current" // in modelsDir
)

// Meta keys recording that the legacy files were imported.
const (
	metaMigratedSamples = "migrated_samples" // journal.jsonl and settings.json
	metaMigratedModels  = "migrated_models"  // models/<version>/meta.json and models/current
	metaMigratedReview  = "migrated_review"  // review/index.json
)

// record is one line of the legacy journal.
type record struct {
	Op      string   `json:"op"` // add, rm, move, class, rename, delclass, undo
	Samples []Sample `json:"samples,omitempty"`
	IDs     []string `json:"ids,omitempty"`
	Name    string   `json:"name,omitempty"`
	To      string   `json:"to,omitempty"`
	Burst   int64    `json:"burst,omitempty"`
}

// recordStart is how every journal record begins (Op is record's first
// field and JSON escapes quotes inside strings, so it occurs nowhere else).
var recordStart = []byte(`{"op":"`)

// journal is the state a legacy journal describes, replayed in memory.
type journal struct {
	classes   []string
	samples   []Sample // in insertion order
	index     map[string]int
	lastBurst int64
}

// readJournal replays a legacy journal. Like the alphad that wrote it,
// it drops a torn last line and salvages a record written after the
// partial bytes of an append cut short by a full disk; anything else
// that does not parse is an error naming the byte offset.
func readJournal(path string, log *slog.Logger) (*journal, error) {
	j := &journal{index: map[string]int{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	for off := 0; off < len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		var r record
		if nl < 0 || json.Unmarshal(data[off:off+nl], &r) != nil {
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
					log.Warn("store: dropping torn journal tail", "file", path, "bytes", len(data)-off)
					break
				}
				return nil, fmt.Errorf("store: %s: corrupt record at byte %d", path, off)
			}
			log.Warn("store: dropping torn journal record", "file", path, "at", off, "bytes", i)
		}
		if err := j.apply(r); err != nil {
			return nil, fmt.Errorf("store: %s: record at byte %d: %w", path, off, err)
		}
		off += nl + 1
	}
	return j, nil
}

// apply updates the replayed state with one record.
func (j *journal) apply(r record) error {
	switch r.Op {
	case "class":
		if !slices.Contains(j.classes, r.Name) {
			j.classes = append(j.classes, r.Name)
		}
	case "rename":
		i := slices.Index(j.classes, r.Name)
		if i < 0 {
			return fmt.Errorf("rename class %q: %w", r.Name, ErrUnknownClass)
		}
		if slices.Contains(j.classes, r.To) {
			return fmt.Errorf("rename class %q to %q: %w", r.Name, r.To, ErrClassExists)
		}
		j.classes[i] = r.To
		for k := range j.samples {
			if j.samples[k].Label == r.Name {
				j.samples[k].Label = r.To
			}
		}
	case "delclass":
		j.classes = slices.DeleteFunc(j.classes, func(c string) bool { return c == r.Name })
		j.removeIf(func(sm Sample) bool { return sm.Label == r.Name })
	case "add":
		for _, sm := range r.Samples {
			if !slices.Contains(j.classes, sm.Label) {
				j.classes = append(j.classes, sm.Label)
			}
			if _, dup := j.index[sm.ID]; dup {
				continue
			}
			j.index[sm.ID] = len(j.samples)
			j.samples = append(j.samples, sm)
			j.lastBurst = max(j.lastBurst, sm.Burst)
		}
	case "rm":
		gone := map[string]bool{}
		for _, id := range r.IDs {
			gone[id] = true
		}
		j.removeIf(func(sm Sample) bool { return gone[sm.ID] })
	case "move":
		if !slices.Contains(j.classes, r.To) {
			j.classes = append(j.classes, r.To)
		}
		for _, id := range r.IDs {
			if i, ok := j.index[id]; ok {
				j.samples[i].Label = r.To
			}
		}
	case "undo":
		j.removeIf(func(sm Sample) bool { return sm.Burst == r.Burst })
	default:
		return fmt.Errorf("unknown op %q", r.Op)
	}
	return nil
}

func (j *journal) removeIf(del func(Sample) bool) {
	j.samples = slices.DeleteFunc(j.samples, del)
	clear(j.index)
	for i, sm := range j.samples {
		j.index[sm.ID] = i
	}
}

// migrateSamples imports samples/journal.jsonl and settings.json into
// the database once (the caller owns the state directory). Samples and
// classes that do not fit the database's rules (a bad id, an empty
// class name) are dropped with a warning rather than blocking the
// upgrade; their images are then swept as orphans.
func migrateSamples(db *sql.DB, stateDir string, log *slog.Logger) error {
	done, err := metaValue(db, metaMigratedSamples)
	if err != nil || done != "" {
		return err
	}
	jpath := filepath.Join(stateDir, samplesDir, journalName)
	j, err := readJournal(jpath, log)
	if err != nil {
		return err
	}
	var set *Settings
	if s, err := readLegacySettings(stateDir); err != nil {
		log.Warn("store: not migrating the runtime settings", "err", err)
	} else {
		set = &s
	}
	err = inTx(db, func(tx *sql.Tx) error {
		classIDs := map[string]int64{}
		for _, c := range j.classes {
			res, err := tx.Exec(`INSERT OR IGNORE INTO classes (name) VALUES (?)`, c)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			classIDs[c] = id
		}
		bursts := map[int64]bool{}
		for _, sm := range j.samples {
			cid, ok := classIDs[sm.Label]
			if !ok || len(sm.ID) != 32 || !isHex(sm.ID) || sm.Burst < 0 {
				log.Warn("store: migrate: dropping a bad journal sample", "id", sm.ID, "label", sm.Label)
				continue
			}
			if !bursts[sm.Burst] {
				if _, err := tx.Exec(`INSERT OR IGNORE INTO bursts (id, created) VALUES (?, ?)`, sm.Burst, formatTime(sm.Time)); err != nil {
					return err
				}
				bursts[sm.Burst] = true
			}
			if _, err := tx.Exec(`INSERT INTO samples (id, class_id, time, source, burst, orig) VALUES (?, ?, ?, ?, ?, ?)`,
				sm.ID, cid, formatTime(sm.Time), sm.Source, sm.Burst, sm.Orig); err != nil {
				return fmt.Errorf("sample %s: %w", sm.ID, err)
			}
		}
		// Bursts undone or removed still count: a new burst never reuses an id.
		if j.lastBurst > 0 {
			if _, err := tx.Exec(`INSERT OR IGNORE INTO bursts (id, created) VALUES (?, ?)`, j.lastBurst, formatTime(time.Now())); err != nil {
				return err
			}
		}
		if set != nil {
			if err := writeSettings(tx, *set); err != nil {
				return err
			}
		}
		return setMeta(tx, metaMigratedSamples, formatTime(time.Now()))
	})
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", jpath, err)
	}
	if len(j.samples)+len(j.classes) > 0 || set != nil {
		log.Info("store: migrated samples into the database; the old files stay as a backup",
			"samples", len(j.samples), "classes", len(j.classes), "journal", jpath)
	}
	return nil
}

// readLegacySettings reads settings.json (zero Settings when absent).
func readLegacySettings(stateDir string) (Settings, error) {
	var s Settings
	p := filepath.Join(stateDir, settingsFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("store: settings: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Settings{}, fmt.Errorf("store: %s: %w", p, err)
	}
	if err := s.check(); err != nil {
		return Settings{}, fmt.Errorf("store: %s: %w", p, err)
	}
	return s, nil
}

// migrateModels imports the version folders' meta.json and
// models/current into the database once. The caller holds the models
// lock. A folder whose meta.json does not parse is left alone (and not
// swept: it still has its meta.json) with a warning.
func (m *Models) migrateModels(db *sql.DB) error {
	done, err := metaValue(db, metaMigratedModels)
	if err != nil || done != "" {
		return err
	}
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var vs []Version
	for _, e := range ents {
		if _, ok := versionNumber(e.Name()); !ok || !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(m.dir, e.Name(), legacyMeta))
		if errors.Is(err, os.ErrNotExist) {
			continue // an interrupted commit's folder: swept
		}
		var v Version
		if err == nil {
			err = json.Unmarshal(b, &v)
		}
		if err == nil && v.Kind != KindHead && v.Kind != KindTFLite {
			err = fmt.Errorf("kind %q", v.Kind)
		}
		if err != nil {
			m.log.Warn("store: migrate: skipping a version", "version", e.Name(), "err", err)
			continue
		}
		v.Name = e.Name()
		vs = append(vs, v)
	}
	cur := ""
	if b, err := os.ReadFile(filepath.Join(m.dir, legacyCur)); err == nil {
		cur = string(bytes.TrimSpace(b))
	}
	err = inTx(db, func(tx *sql.Tx) error {
		for _, v := range vs {
			if err := insertVersion(tx, v); err != nil {
				return fmt.Errorf("version %s: %w", v.Name, err)
			}
		}
		if cur != "" && slices.ContainsFunc(vs, func(v Version) bool { return v.Name == cur }) {
			if err := setMeta(tx, metaCurrent, cur); err != nil {
				return err
			}
		}
		return setMeta(tx, metaMigratedModels, formatTime(time.Now()))
	})
	if err != nil {
		return fmt.Errorf("store: migrate model versions: %w", err)
	}
	if len(vs) > 0 {
		m.log.Info("store: migrated model versions into the database; their meta.json files stay as a backup",
			"versions", len(vs), "current", cur)
	}
	return nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
