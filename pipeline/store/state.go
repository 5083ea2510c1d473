// Package store owns alphad's state directory: the labelled samples (one
// content-addressed PNG per sample), a cache of their backbone
// embeddings, the backbones (pulled by name or used by a version), the
// trained model versions with their metrics and a "current" pointer, and
// the runtime settings. Their metadata lives in one SQLite database
// (state.db, through the pure-Go modernc.org/sqlite) in WAL mode with
// synchronous=FULL; images and model files stay files. Nothing else in
// alphad knows the layout below; docs/store.md shows how to inspect it.
//
// One process owns a state directory at a time: OpenState takes an
// exclusive, non-blocking flock and fails with ErrLocked while another
// alphad process (the daemon, or a CLI command that changes samples or
// versions) holds it. Processes that only read model versions (classify,
// watch, model ls/export) or install a backbone (model pull) use
// OpenModels or LoadCurrent without owning the directory; SQLite orders
// their reads against the owner's transactions, and writes of version and
// backbone files are serialised by a short blocking lock.
//
// Everything is crash safe: a file is written with internal/atomicfile
// (temp + fsync + rename + directory fsync) before the transaction that
// adds the row naming it commits, so a kill -9 or a full disk at any
// moment leaves a store that opens and holds every sample whose Add
// returned. Opening removes temp files and files no row names (orphans);
// rows whose file vanished are reported by State.Check (`alphad dataset
// check`).
//
// Layout under the state directory:
//
//	lock                       flock held by the owning process (OpenState)
//	state.db, -wal, -shm       the database: classes, samples, bursts, versions,
//	                           version_metrics, settings, meta, schema_version
//	samples/img/<id>.png       the sample at model input size
//	samples/orig/<id><ext>     the original image bytes, when given
//	embeddings/<hash>.emb      embedding cache per backbone hash
//	backbones/<hash>.tflite    every backbone and imported classifier, by content hash
//	backbones/names.json       installed (pulled) backbones: name → hash and source
//	models/v000001/head.bin    a trained version's head
//	models/lock                flock around writes to models/ and backbones/
//	review/<id>.png            a queued frame at model input size (its row: table review)
//
// Older layouts are migrated when opened: the samples journal
// (samples/journal.jsonl), settings.json, and the version folders'
// meta.json plus models/current move into the database once and stay
// behind untouched as a backup; pulled backbones under
// models/backbones/<name>.tflite move into backbones/ (content file plus a
// names.json entry), and the owner lock moves from samples/lock to lock.
package store

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The layout of a state directory (see the package doc).
const (
	lockName       = "lock"
	samplesDir     = "samples"
	embeddingsDir  = "embeddings"
	backbonesDir   = "backbones"
	backboneNames  = "names.json" // in backbonesDir
	modelsDir      = "models"
	legacyBackbone = "models/backbones" // pulled backbones before the unified folder
	legacyLock     = "samples/lock"     // the owner lock before it moved to the top
)

// State is an owned state directory: its samples, embeddings, backbones
// and model versions. Open it with OpenState; only one process can hold
// it at a time. Its parts are safe for concurrent use.
type State struct {
	dir     string
	log     *slog.Logger
	lock    *os.File
	db      *sql.DB
	samples *Store
	models  *Models
	review  *Review
}

// OpenState opens (creating if needed) the state directory dir as its
// only owner, brings its database's schema up to date, migrates an older
// layout (the journal, version folders and settings.json of an alphad
// before the database), removes what a crash left behind (temp files,
// orphan images and version folders, backbones nothing uses) and loads
// the samples. It fails with ErrLocked while another process owns dir.
func OpenState(dir string, log *slog.Logger) (*State, error) {
	return openStateFS(dir, osFS{}, log)
}

func openStateFS(dir string, fsys fileSystem, log *slog.Logger) (*State, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: state dir: %w", err)
	}
	lock, err := flock(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", dir, err)
	}
	s := &State{dir: dir, log: log, lock: lock}
	if err := s.open(fsys); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *State) open(fsys fileSystem) error {
	// An alphad from before the move holds samples/lock: respect it once,
	// then drop the file (binaries that know it are gone after an upgrade).
	legacy := filepath.Join(s.dir, legacyLock)
	if _, err := os.Stat(legacy); err == nil {
		f, err := flock(legacy)
		if err != nil {
			return fmt.Errorf("store: lock %s (an older alphad): %w", legacy, err)
		}
		os.Remove(legacy)
		f.Close()
	}
	var err error
	if s.db, err = openDB(s.dir); err != nil {
		return err
	}
	if s.models, err = openModels(s.dir, s.db, fsys, s.log); err != nil {
		return err
	}
	if err := s.models.sweepBackbones(s.log); err != nil {
		s.log.Warn("store: sweeping unused backbones", "err", err)
	}
	if err := migrateSamples(s.db, s.dir, s.log); err != nil {
		return err
	}
	if s.samples, err = openSamples(s.db, filepath.Join(s.dir, samplesDir), fsys, s.log); err != nil {
		return err
	}
	s.review, err = openReview(s.db, filepath.Join(s.dir, reviewDir), s.samples, s.log)
	return err
}

// flock opens path and takes an exclusive lock without waiting:
// ErrLocked when another process holds it.
func flock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, err
	}
	return f, nil
}

// Dir is the state directory.
func (s *State) Dir() string { return s.dir }

// Samples is the sample store.
func (s *State) Samples() *Store { return s.samples }

// Models is the model versions and backbones. Set its Keep to change how
// many versions a commit keeps.
func (s *State) Models() *Models { return s.models }

// Embeddings opens the embedding cache of a backbone (by its hash) with
// embeddings of dim floats, creating it if needed. A cache file of another
// dimension is discarded. The caller closes it.
func (s *State) Embeddings(backboneHash string, dim int) (*EmbeddingCache, error) {
	return openEmbeddings(filepath.Join(s.dir, embeddingsDir), backboneHash, dim)
}

// Close closes the database and releases the directory.
func (s *State) Close() error {
	var err error
	if s.samples != nil {
		s.samples.close()
	}
	if s.db != nil {
		if err = s.db.Close(); err != nil {
			err = fmt.Errorf("store: close database: %w", err)
		}
		s.db = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}
