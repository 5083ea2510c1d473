package store

import (
	"bytes"
	"crypto/rand"
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
//	review/index.json   the items, oldest first (written atomically)
//	review/<id>.png     each item's image at model input size
//
// An image is durable before the index names it; opening drops index
// entries whose image is missing and removes images and temp files the
// index does not name, so a crash at any moment leaves a queue that opens.
// The API (Add, List, Item, Image, File, Discard) hides the layout so the
// queue can move into another store later.

const (
	reviewDir   = "review"
	reviewIndex = "index.json"
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
	dir     string
	log     *slog.Logger
	samples *Store

	mu    sync.Mutex
	size  int
	items []ReviewItem // oldest first
}

// Review is the state directory's review queue.
func (s *State) Review() *Review { return s.review }

// openReview opens (creating if needed) the queue in dir, repairing what
// a crash left behind.
func openReview(dir string, samples *Store, log *slog.Logger) (*Review, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: review: %w", err)
	}
	r := &Review{dir: dir, log: log, samples: samples, size: DefaultReviewSize}
	p := filepath.Join(dir, reviewIndex)
	data, err := os.ReadFile(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("store: review: %w", err)
	default:
		var f reviewFile
		if err := json.Unmarshal(data, &f); err != nil {
			// The index is written atomically: a bad one was not written
			// by alphad. The queue is a convenience: start afresh.
			log.Warn("store: review index unreadable, starting an empty queue", "file", p, "err", err)
		}
		for _, it := range f.Items {
			if !validReviewID(it.ID) {
				log.Warn("store: review: dropping an item with a bad id", "id", it.ID)
				continue
			}
			if _, err := os.Stat(r.imagePath(it.ID)); err != nil {
				log.Warn("store: review: item image missing, dropping item", "id", it.ID, "err", err)
				continue
			}
			r.items = append(r.items, it)
		}
	}
	r.sweep()
	return r, nil
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

func (r *Review) index(id string) int {
	return slices.IndexFunc(r.items, func(it ReviewItem) bool { return it.ID == id })
}

// save writes the index atomically; on failure the queue in memory is
// restored to prev by the caller.
func (r *Review) save() error {
	b, err := json.Marshal(reviewFile{Version: 1, Items: r.items})
	if err != nil {
		return fmt.Errorf("store: review index: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(r.dir, reviewIndex), b, 0o644); err != nil {
		return fmt.Errorf("store: review index: %w", err)
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
	prev := r.items
	drop := len(r.items) - n
	var gone []string
	for _, it := range r.items[:drop] {
		gone = append(gone, it.ID)
	}
	r.items = slices.Clone(r.items[drop:])
	if err := r.save(); err != nil {
		r.items = prev
		return nil, err
	}
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
	prev := r.items
	r.items = append(slices.Clone(r.items), it)
	if err := r.save(); err != nil {
		r.items = prev
		os.Remove(r.imagePath(it.ID))
		return ReviewItem{}, nil, err
	}
	gone, err := r.trimLocked(r.size)
	if err != nil {
		r.log.Warn("store: review: dropping the oldest items", "err", err)
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
	prev := r.items
	id := r.items[i].ID
	r.items = slices.Delete(slices.Clone(r.items), i, i+1)
	if err := r.save(); err != nil {
		r.items = prev
		return err
	}
	os.Remove(r.imagePath(id))
	return nil
}
