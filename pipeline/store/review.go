package store

import (
	"bytes"
	"crypto/rand"
	"database/sql"
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

// The review queue keeps frames the model was unsure about, for a person
// to file into a class (they become samples) or discard. Layout:
//
//	state.db, table review   the items (one row each, the item as JSON)
//	review/<id>.png          each item's image at model input size
//
// An image is durable before the row that names it commits; opening drops
// rows whose image is missing and removes images and temp files no row
// names, so a crash at any moment leaves a queue that opens. A queue kept
// by an older alphad in review/index.json moves into the table once (the
// file stays behind, untouched).

const (
	reviewDir   = "review"
	reviewIndex = "index.json" // the queue of an older alphad, migrated once
	// DefaultReviewSize is how many items the queue keeps by default.
	DefaultReviewSize = 200
	// MaxReviewSize bounds review.size.
	MaxReviewSize = 10000
)

// Review reasons.
const (
	ReasonUnknown = "unknown" // the top score was under the threshold
	ReasonFlip    = "flip"    // the decided label changed from one class to another
)

// ErrNoReviewItem means an id the queue does not hold.
var ErrNoReviewItem = errors.New("no such review item")

// ReviewItem is one unsure frame.
type ReviewItem struct {
	ID           string    `json:"id"`
	Time         time.Time `json:"time"`
	Reason       string    `json:"reason"`             // ReasonUnknown or ReasonFlip
	Label        string    `json:"label,omitempty"`    // the decided label ("" = unknown)
	Previous     string    `json:"previous,omitempty"` // the label before a flip
	Classes      []string  `json:"classes"`
	Scores       []float32 `json:"scores"` // the frame's model scores, in Classes order
	ModelVersion string    `json:"model_version"`
}

// Top returns the best score's class and score ("" when there are none).
func (it ReviewItem) Top() (string, float32) {
	best := -1
	for i, s := range it.Scores {
		if i < len(it.Classes) && (best < 0 || s > it.Scores[best]) {
			best = i
		}
	}
	if best < 0 {
		return "", 0
	}
	return it.Classes[best], it.Scores[best]
}

type reviewFile struct {
	Version int          `json:"version"`
	Items   []ReviewItem `json:"items"`
}

// Review is the bounded queue of unsure frames of a State. Its methods are
// safe for concurrent use.
type Review struct {
	db      *sql.DB
	dir     string
	log     *slog.Logger
	samples *Store

	mu    sync.Mutex
	size  int
	items []ReviewItem // oldest first
}

// Review is the state directory's review queue.
func (s *State) Review() *Review { return s.review }

// openReview opens (creating if needed) the queue in dir with its rows in
// db, repairing what a crash left behind.
func openReview(db *sql.DB, dir string, samples *Store, log *slog.Logger) (*Review, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: review: %w", err)
	}
	r := &Review{db: db, dir: dir, log: log, samples: samples, size: DefaultReviewSize}
	items, drop, err := r.load()
	if err != nil {
		return nil, err
	}
	if items, err = r.migrateIndex(items); err != nil {
		return nil, err
	}
	for _, it := range items {
		if !validReviewID(it.ID) {
			log.Warn("store: review: dropping an item with a bad id", "id", it.ID)
			drop = append(drop, it.ID)
			continue
		}
		if _, err := os.Stat(r.imagePath(it.ID)); err != nil {
			log.Warn("store: review: item image missing, dropping item", "id", it.ID, "err", err)
			drop = append(drop, it.ID)
			continue
		}
		r.items = append(r.items, it)
	}
	if err := r.apply(nil, drop); err != nil {
		return nil, err
	}
	r.sweep()
	return r, nil
}

// load reads the rows, oldest first, and the ids of rows it could not
// read.
func (r *Review) load() (items []ReviewItem, bad []string, err error) {
	rows, err := r.db.Query(`SELECT id, item FROM review ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("store: review: %w", err)
	}
	for rows.Next() {
		var id, js string
		if err := rows.Scan(&id, &js); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("store: review: %w", err)
		}
		var it ReviewItem
		if err := json.Unmarshal([]byte(js), &it); err != nil {
			r.log.Warn("store: review: dropping an unreadable item", "id", id, "err", err)
			bad = append(bad, id)
			continue
		}
		it.ID = id
		items = append(items, it)
	}
	if err := closeRows(rows); err != nil {
		return nil, nil, fmt.Errorf("store: review: %w", err)
	}
	return items, bad, nil
}

// migrateIndex moves an older alphad's review/index.json into the table,
// once (recorded in meta; the file stays as it was).
func (r *Review) migrateIndex(items []ReviewItem) ([]ReviewItem, error) {
	done, err := metaValue(r.db, metaMigratedReview)
	if err != nil {
		return nil, fmt.Errorf("store: review: %w", err)
	}
	if done != "" {
		return items, nil
	}
	p := filepath.Join(r.dir, reviewIndex)
	data, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store: review: %w", err)
	}
	if err == nil {
		var f reviewFile
		if err := json.Unmarshal(data, &f); err != nil {
			// The index was written atomically: a bad one was not written
			// by alphad. The queue is a convenience: start afresh.
			r.log.Warn("store: review index unreadable, not migrated", "file", p, "err", err)
		}
		for _, it := range f.Items {
			if validReviewID(it.ID) && r.find(items, it.ID) < 0 {
				items = append(items, it)
			}
		}
		slices.SortFunc(items, func(a, b ReviewItem) int { return strings.Compare(a.ID, b.ID) })
	}
	err = inTx(r.db, func(tx *sql.Tx) error {
		if err := writeReview(tx, items); err != nil {
			return err
		}
		return setMeta(tx, metaMigratedReview, formatTime(time.Now()))
	})
	if err != nil {
		return nil, fmt.Errorf("store: review: migrating %s: %w", p, err)
	}
	return items, nil
}

func (r *Review) find(items []ReviewItem, id string) int {
	return slices.IndexFunc(items, func(it ReviewItem) bool { return it.ID == id })
}

// sweep removes files the index does not name (temp files, images of a
// crash between image and index).
func (r *Review) sweep() {
	ents, _ := os.ReadDir(r.dir)
	for _, e := range ents {
		name := e.Name()
		if name == reviewIndex {
			continue
		}
		id := strings.TrimSuffix(name, ".png")
		if !strings.HasPrefix(name, ".") && id != name && r.index(id) >= 0 {
			continue
		}
		os.Remove(filepath.Join(r.dir, name))
	}
}

// validReviewID: ids are what newReviewID makes (hex and one dash), so no
// id names a path outside the queue (the one rule of control.ValidReviewID).
func validReviewID(id string) bool { return control.ValidReviewID(id) }

// newReviewID is the time in milliseconds and 4 random bytes, in hex: ids
// sort by time.
func newReviewID(t time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%012x-%s", t.UnixMilli(), hex.EncodeToString(b[:]))
}

func (r *Review) imagePath(id string) string { return filepath.Join(r.dir, id+".png") }

func (r *Review) index(id string) int { return r.find(r.items, id) }

// apply changes the rows in one transaction: it inserts add (nil: none)
// and deletes the rows of drop. The queue in memory changes only when it
// returned nil.
func (r *Review) apply(add *ReviewItem, drop []string) error {
	if add == nil && len(drop) == 0 {
		return nil
	}
	err := inTx(r.db, func(tx *sql.Tx) error {
		if add != nil {
			if err := insertReview(tx, *add); err != nil {
				return err
			}
		}
		for _, id := range drop {
			if _, err := tx.Exec(`DELETE FROM review WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: review: %w", err)
	}
	return nil
}

func insertReview(tx *sql.Tx, it ReviewItem) error {
	js, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("item %s: %w", it.ID, err)
	}
	_, err = tx.Exec(`INSERT INTO review (id, item) VALUES (?, ?)`, it.ID, string(js))
	return err
}

// writeReview makes the review table hold items (at most MaxReviewSize).
func writeReview(tx *sql.Tx, items []ReviewItem) error {
	if _, err := tx.Exec(`DELETE FROM review`); err != nil {
		return err
	}
	for _, it := range items {
		if err := insertReview(tx, it); err != nil {
			return err
		}
	}
	return nil
}

// SetSize sets how many items the queue keeps (0: none are added; those
// kept stay until filed or discarded); a smaller size drops the oldest.
func (r *Review) SetSize(n int) error {
	if n < 0 || n > MaxReviewSize {
		return fmt.Errorf("store: review size %d is not in 0..%d", n, MaxReviewSize)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.size = n
	if n == 0 || len(r.items) <= n {
		return nil
	}
	_, err := r.trimLocked(n)
	return err
}

// trimLocked drops the oldest items beyond n and returns their ids.
func (r *Review) trimLocked(n int) ([]string, error) {
	if len(r.items) <= n {
		return nil, nil
	}
	drop := len(r.items) - n
	var gone []string
	for _, it := range r.items[:drop] {
		gone = append(gone, it.ID)
	}
	if err := r.apply(nil, gone); err != nil {
		return nil, err
	}
	r.items = slices.Clone(r.items[drop:])
	for _, id := range gone {
		os.Remove(r.imagePath(id))
	}
	return gone, nil
}

// Add stores an unsure frame (img at model input size) as the newest item;
// when the queue is full the oldest go. It returns the stored item (with
// its new ID) and the ids dropped to make room. With size 0 nothing is
// stored and Add returns an error.
func (r *Review) Add(it ReviewItem, img image.Image) (ReviewItem, []string, error) {
	if it.Reason != ReasonUnknown && it.Reason != ReasonFlip {
		return ReviewItem{}, nil, fmt.Errorf("store: review: reason %q is not %s or %s", it.Reason, ReasonUnknown, ReasonFlip)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return ReviewItem{}, nil, fmt.Errorf("store: review: encode: %w", err)
	}
	if it.Time.IsZero() {
		it.Time = time.Now()
	}
	it.Time = it.Time.UTC().Round(time.Millisecond)
	it.ID = newReviewID(it.Time)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.size == 0 {
		return ReviewItem{}, nil, errors.New("store: review: the queue is off (review.size 0)")
	}
	if err := atomicfile.WriteFile(r.imagePath(it.ID), buf.Bytes(), 0o644); err != nil {
		return ReviewItem{}, nil, fmt.Errorf("store: review: %w", err)
	}
	// One transaction adds the item and drops the oldest beyond the size,
	// so a crash never leaves more items than the size.
	drop := max(len(r.items)+1-r.size, 0)
	var gone []string
	for _, old := range r.items[:drop] {
		gone = append(gone, old.ID)
	}
	if err := r.apply(&it, gone); err != nil {
		os.Remove(r.imagePath(it.ID))
		return ReviewItem{}, nil, err
	}
	r.items = append(slices.Clone(r.items[drop:]), it)
	for _, id := range gone {
		os.Remove(r.imagePath(id))
	}
	return it, gone, nil
}

// List returns the items, newest first.
func (r *Review) List() []ReviewItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.items)
	slices.Reverse(out)
	return out
}

// Len is the number of items.
func (r *Review) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// Item returns the item with an id.
func (r *Review) Item(id string) (ReviewItem, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.index(id)
	if i < 0 {
		return ReviewItem{}, false
	}
	return r.items[i], true
}

// Image returns an item's PNG.
func (r *Review) Image(id string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.index(id) < 0 {
		return nil, fmt.Errorf("store: review item %q: %w", id, ErrNoReviewItem)
	}
	b, err := os.ReadFile(r.imagePath(id))
	if err != nil {
		return nil, fmt.Errorf("store: review item %s: %w", id, err)
	}
	return b, nil
}

// File makes an item a sample of class (created if new, Source "review",
// the item's time) as a burst of its own, then removes it from the queue.
// The sample is durable before the item goes: after a crash in between
// the item is still queued and filing it again finds the stored sample.
func (r *Review) File(id, class string) (Sample, error) {
	if err := validClass(class); err != nil {
		return Sample{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.index(id)
	if i < 0 {
		return Sample{}, fmt.Errorf("store: review item %q: %w", id, ErrNoReviewItem)
	}
	it := r.items[i]
	img, err := stillimage.ReadFile(r.imagePath(id), stillimage.Limits{})
	if err != nil {
		return Sample{}, fmt.Errorf("store: review item %s: %w", id, err)
	}
	added, err := r.samples.Add(r.samples.NextBurst(), []NewSample{{Label: class, Image: img, Source: "review", Time: it.Time}})
	if err != nil {
		return Sample{}, err
	}
	if err := r.removeLocked(i); err != nil {
		return added[0], err
	}
	return added[0], nil
}

// Discard deletes an item.
func (r *Review) Discard(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.index(id)
	if i < 0 {
		return fmt.Errorf("store: review item %q: %w", id, ErrNoReviewItem)
	}
	return r.removeLocked(i)
}

func (r *Review) removeLocked(i int) error {
	id := r.items[i].ID
	if err := r.apply(nil, []string{id}); err != nil {
		return err
	}
	r.items = slices.Delete(slices.Clone(r.items), i, i+1)
	os.Remove(r.imagePath(id))
	return nil
}
