package store

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// EmbeddingCache maps (sample ID, view) to the embedding one backbone
// computed for it. It is a file per backbone hash, so embeddings of
// different backbones never mix. Records are fixed size with a CRC, so a
// torn tail after a crash is detected and cut off; a cache entry is never
// needed for correctness.
type EmbeddingCache struct {
	path string
	dim  int

	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	vecs map[key][]float32
}

type key struct {
	id   [16]byte
	view uint32
}

// Views of a sample whose embeddings the cache holds.
const (
	ViewPlain       = 0 // the stored image
	ViewFlipped     = 1 // mirrored left-right
	ViewCrop        = 2 // a random crop (CropView, seeded by the sample ID)
	ViewCropFlipped = 3 // another random crop, mirrored
)

const embMagic = "ALPHAD-EMB-1\n"

// openEmbeddings opens the cache file of a backbone in dir (see
// State.Embeddings).
func openEmbeddings(dir, backboneHash string, dim int) (*EmbeddingCache, error) {
	if dim <= 0 || backboneHash == "" || filepath.Base(backboneHash) != backboneHash {
		return nil, fmt.Errorf("store: embedding cache: bad backbone %q or dim %d", backboneHash, dim)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	c := &EmbeddingCache{path: filepath.Join(dir, backboneHash+".emb"), dim: dim, vecs: map[key][]float32{}}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *EmbeddingCache) recSize() int { return 16 + 4 + 4*c.dim + 4 }

func (c *EmbeddingCache) header() []byte {
	h := []byte(embMagic)
	return binary.LittleEndian.AppendUint32(h, uint32(c.dim))
}

func (c *EmbeddingCache) load() error {
	data, err := os.ReadFile(c.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: %w", err)
	}
	hdr := c.header()
	good := 0
	if len(data) >= len(hdr) && string(data[:len(hdr)]) == string(hdr) {
		good = len(hdr)
		rs := c.recSize()
		for off := good; off+rs <= len(data); off += rs {
			rec := data[off : off+rs]
			if crc32.ChecksumIEEE(rec[:rs-4]) != binary.LittleEndian.Uint32(rec[rs-4:]) {
				break
			}
			var k key
			copy(k.id[:], rec[:16])
			k.view = binary.LittleEndian.Uint32(rec[16:])
			v := make([]float32, c.dim)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(rec[20+4*i:]))
			}
			c.vecs[k] = v
			good = off + rs
		}
	}
	f, err := os.OpenFile(c.path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if good < len(hdr) {
		// New, foreign or unreadable: start over.
		if err := f.Truncate(0); err == nil {
			_, err = f.WriteAt(hdr, 0)
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("store: embedding cache %s: %w", c.path, err)
		}
		good = len(hdr)
	} else if good < len(data) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return fmt.Errorf("store: embedding cache %s: %w", c.path, err)
		}
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("store: %w", err)
	}
	c.f, c.w = f, bufio.NewWriterSize(f, 1<<16)
	return nil
}

func makeKey(id string, view int) (key, bool) {
	var k key
	b, err := hex.DecodeString(id)
	if err != nil || len(b) != 16 {
		return k, false
	}
	copy(k.id[:], b)
	k.view = uint32(view)
	return k, true
}

// Dim is the embedding length.
func (c *EmbeddingCache) Dim() int { return c.dim }

// Len is the number of cached embeddings.
func (c *EmbeddingCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.vecs)
}

// Get returns the cached embedding of a sample view (shared; do not modify).
func (c *EmbeddingCache) Get(id string, view int) ([]float32, bool) {
	k, ok := makeKey(id, view)
	if !ok {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.vecs[k]
	return v, ok
}

// Put caches an embedding (copied). It is durable after Flush.
func (c *EmbeddingCache) Put(id string, view int, vec []float32) error {
	k, ok := makeKey(id, view)
	if !ok {
		return fmt.Errorf("store: embedding cache: bad sample id %q", id)
	}
	if len(vec) != c.dim {
		return fmt.Errorf("store: embedding cache: sample %s: length %d, want %d", id, len(vec), c.dim)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return errors.New("store: embedding cache closed")
	}
	rec := make([]byte, 0, c.recSize())
	rec = append(rec, k.id[:]...)
	rec = binary.LittleEndian.AppendUint32(rec, k.view)
	for _, x := range vec {
		rec = binary.LittleEndian.AppendUint32(rec, math.Float32bits(x))
	}
	rec = binary.LittleEndian.AppendUint32(rec, crc32.ChecksumIEEE(rec))
	if _, err := c.w.Write(rec); err != nil {
		return fmt.Errorf("store: embedding cache %s: %w", c.path, err)
	}
	c.vecs[k] = append([]float32(nil), vec...)
	return nil
}

// Flush writes buffered embeddings and fsyncs the file.
func (c *EmbeddingCache) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w == nil {
		return nil
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("store: embedding cache %s: %w", c.path, err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("store: embedding cache %s: %w", c.path, err)
	}
	return nil
}

// Close flushes and closes the cache.
func (c *EmbeddingCache) Close() error {
	err := c.Flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil {
		if cerr := c.f.Close(); err == nil {
			err = cerr
		}
		c.f, c.w = nil, nil
	}
	return err
}
