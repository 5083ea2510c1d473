package store

import (
	"database/sql"
	"fmt"
	"os"
	"slices"
)

// CheckReport is what State.Check found in a state directory. Paths are
// relative to the state directory.
type CheckReport struct {
	Samples int `json:"samples"`
	// Orphans are temp files and files no row names; the open before the
	// check already removed them.
	Orphans []string `json:"orphans"`
	// Missing are samples whose image file is gone.
	Missing []string `json:"missing"`
	// MissingOriginals are samples whose original file is gone (the
	// sample itself is usable).
	MissingOriginals []string `json:"missing_originals"`
	// BadImages are samples whose image does not decode.
	BadImages []BadImage `json:"bad_images"`
	// BrokenVersions are model versions whose head file is missing or
	// unreadable (rollback to another, or train again).
	BrokenVersions []BadVersion `json:"broken_versions"`
	// Removed are the samples Check removed (repair only).
	Removed []string `json:"removed"`
	// RemovedOriginals are originals whose record Check cleared (repair).
	RemovedOriginals []string `json:"removed_originals"`
}

// BadImage is a sample whose stored image cannot be used.
type BadImage struct {
	ID  string `json:"id"`
	Err string `json:"error"`
}

// BadVersion is a model version that cannot be loaded.
type BadVersion struct {
	Name string `json:"name"`
	Err  string `json:"error"`
}

// Problems counts what is wrong (orphans excepted: they are gone).
func (r CheckReport) Problems() int {
	return len(r.Missing) + len(r.MissingOriginals) + len(r.BadImages) + len(r.BrokenVersions)
}

// Unrepaired counts what is still wrong after a repair: what Check found
// and did not remove.
func (r CheckReport) Unrepaired() int {
	return r.Problems() - len(r.Removed) - len(r.RemovedOriginals)
}

// Check looks for files without rows (removed by the open, and again
// now), rows without files and sample images that do not decode (every
// image is decoded: seconds per thousand samples). With repair it removes
// the samples whose image is missing or bad and forgets originals whose
// file is gone. Broken model versions are reported, never removed.
func (s *State) Check(repair bool) (CheckReport, error) {
	st := s.samples
	st.mu.Lock()
	rep := CheckReport{Samples: len(st.samples)}
	sw := st.sweep()
	rep.Orphans = slices.Clone(st.swept)
	rep.Missing, rep.MissingOriginals = sw.Missing, sw.MissingOriginals
	samples := slices.Clone(st.samples)
	st.mu.Unlock()

	for _, sm := range samples {
		if slices.Contains(rep.Missing, sm.ID) {
			continue
		}
		if _, err := st.Image(sm.ID); err != nil {
			rep.BadImages = append(rep.BadImages, BadImage{ID: sm.ID, Err: err.Error()})
		}
	}
	versions, _, err := s.models.List()
	if err != nil {
		return rep, err
	}
	for _, v := range versions {
		if v.Kind != KindHead {
			continue
		}
		if _, err := s.models.Head(v.Name); err != nil {
			rep.BrokenVersions = append(rep.BrokenVersions, BadVersion{Name: v.Name, Err: err.Error()})
		}
	}
	if !repair {
		return rep, nil
	}
	var gone []string
	gone = append(gone, rep.Missing...)
	for _, b := range rep.BadImages {
		gone = append(gone, b.ID)
	}
	if len(gone) > 0 {
		if err := st.Remove(gone...); err != nil {
			return rep, fmt.Errorf("store: repair: %w", err)
		}
		rep.Removed = gone
	}
	for _, id := range rep.MissingOriginals {
		if slices.Contains(gone, id) {
			continue
		}
		if err := st.forgetOriginal(id); err != nil {
			return rep, fmt.Errorf("store: repair: %w", err)
		}
		rep.RemovedOriginals = append(rep.RemovedOriginals, id)
	}
	return rep, nil
}

// forgetOriginal clears a sample's original when its file is gone.
func (s *Store) forgetOriginal(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[id]
	if !ok {
		return fmt.Errorf("sample %s: no such sample", id)
	}
	if p := s.OriginalPath(s.samples[i]); p != "" {
		if _, err := os.Stat(p); err == nil {
			return nil // it came back
		}
	}
	return s.update("forget original of "+id, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE samples SET orig = '' WHERE id = ?`, id)
		return err
	}, func() { s.samples[i].Orig = "" })
}
