package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/alphad/alphad/internal/atomicfile"
)

// fileSystem is how the store writes and removes the files its rows name
// (sample images, originals, version heads). Tests inject one that fails
// part-way through a write.
type fileSystem interface {
	// WriteFile replaces path atomically: afterwards it holds data in
	// full, durably, or (on error) what it held before.
	WriteFile(path string, data []byte, perm os.FileMode) error
	Remove(path string) error
}

// osFS is the real file system, written through internal/atomicfile.
type osFS struct{}

func (osFS) WriteFile(path string, data []byte, perm os.FileMode) error {
	return atomicfile.WriteFile(path, data, perm)
}

func (osFS) Remove(path string) error { return os.Remove(path) }

// isTemp reports whether a file name is a temp file (atomicfile's
// ".<name>.tmp…", a folder's ".tmp-…").
func isTemp(name string) bool { return strings.HasPrefix(name, ".") }

// sweepReport is what a sweep of the sample files found. Paths are
// relative to the state directory.
type sweepReport struct {
	Orphans []string // temp files and files no row names (removed)
	Missing []string // sample ids whose image file is gone
	// MissingOriginals are sample ids whose original file is gone.
	MissingOriginals []string
}

// sweep removes temp files and files no sample names under img/ and
// orig/, and lists samples whose files are missing. The caller holds
// s.mu or has not shared s yet.
func (s *Store) sweep() sweepReport {
	var rep sweepReport
	named := map[string]bool{}
	for _, sm := range s.samples {
		named[filepath.Join("img", sm.ID+".png")] = true
		if sm.Orig != "" {
			named[filepath.Join("orig", sm.Orig)] = true
		}
	}
	present := map[string]bool{}
	for _, sub := range []string{"img", "orig"} {
		ents, err := os.ReadDir(filepath.Join(s.dir, sub))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("store: sweep", "err", err)
		}
		for _, e := range ents {
			rel := filepath.Join(sub, e.Name())
			if !isTemp(e.Name()) && named[rel] && e.Type().IsRegular() {
				present[rel] = true
				continue
			}
			if e.IsDir() {
				continue // not ours: left alone
			}
			if err := s.fs.Remove(filepath.Join(s.dir, rel)); err != nil {
				s.log.Warn("store: removing orphan", "file", filepath.Join(s.dir, rel), "err", err)
				continue
			}
			s.log.Debug("store: removed orphan", "file", filepath.Join(s.dir, rel))
			rep.Orphans = append(rep.Orphans, filepath.Join(samplesDir, rel))
		}
	}
	for _, sm := range s.samples {
		if !present[filepath.Join("img", sm.ID+".png")] {
			rep.Missing = append(rep.Missing, sm.ID)
		}
		if sm.Orig != "" && !present[filepath.Join("orig", sm.Orig)] {
			rep.MissingOriginals = append(rep.MissingOriginals, sm.ID)
		}
	}
	if len(rep.Orphans) > 0 {
		atomicfile.SyncDir(filepath.Join(s.dir, "img"))
		atomicfile.SyncDir(filepath.Join(s.dir, "orig"))
	}
	s.swept = append(s.swept, rep.Orphans...)
	return rep
}
