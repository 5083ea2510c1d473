package store

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store/storetest"
)

// legacyExpected is what the old store's API reported for
// testdata/legacy-state (written by testdata/mklegacy with that store).
type legacyExpected struct {
	Classes  []string          `json:"classes"`
	Samples  []Sample          `json:"samples"`
	Counts   map[string]int    `json:"counts"`
	Versions []json.RawMessage `json:"versions"`
	Names    []string          `json:"version_names"`
	Current  string            `json:"current"`
	Settings Settings          `json:"settings"`
	Burst    int64             `json:"next_burst"`
}

// copyLegacy copies testdata/legacy-state to a temp dir and returns it
// with the files' contents by relative path.
func copyLegacy(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	src := filepath.Join("testdata", "legacy-state")
	dst := filepath.Join(t.TempDir(), "state")
	files := map[string][]byte{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = b
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst, files
}

func readLegacyExpected(t *testing.T) legacyExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "legacy-state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp legacyExpected
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	return exp
}

// TestMigrateLegacyState opens a state directory written by the alphad
// before the database (testdata/legacy-state: a journal with adds,
// renames, an undone burst, a move, a removal, class deletions; three
// model versions with the second current; settings.json) and checks
// that everything the old store reported survives, that the old files
// stay byte for byte as a backup, and that the migration runs once.
func TestMigrateLegacyState(t *testing.T) {
	exp := readLegacyExpected(t)
	for _, readerFirst := range []bool{false, true} {
		name := "owner opens first"
		if readerFirst {
			name = "a reader (model ls, classify) opens first"
		}
		t.Run(name, func(t *testing.T) {
			dir, files := copyLegacy(t)
			if readerFirst {
				m, err := OpenModels(dir)
				if err != nil {
					t.Fatal(err)
				}
				if cur, err := m.CurrentName(); err != nil || cur != exp.Current {
					t.Fatalf("reader: current = %q, %v", cur, err)
				}
			}
			st := openState(t, dir)
			s := st.Samples()
			if got := s.Classes(); !slices.Equal(got, exp.Classes) {
				t.Errorf("classes %v, want %v", got, exp.Classes)
			}
			got := s.Samples()
			if len(got) != len(exp.Samples) {
				t.Fatalf("%d samples, want %d", len(got), len(exp.Samples))
			}
			for i := range got {
				g, w := got[i], exp.Samples[i]
				if !g.Time.Equal(w.Time) {
					t.Errorf("sample %d time %v, want %v", i, g.Time, w.Time)
				}
				g.Time = w.Time
				if g != w {
					t.Errorf("sample %d = %+v, want %+v", i, g, w)
				}
				if _, err := s.Image(g.ID); err != nil {
					t.Error(err)
				}
			}
			if c := s.Counts(); !reflect.DeepEqual(c, exp.Counts) {
				t.Errorf("counts %v, want %v", c, exp.Counts)
			}
			vs, cur, err := st.Models().List()
			if err != nil {
				t.Fatal(err)
			}
			if cur != exp.Current || len(vs) != len(exp.Versions) {
				t.Fatalf("%d versions, current %q; want %d, %q", len(vs), cur, len(exp.Versions), exp.Current)
			}
			for i, v := range vs {
				b, _ := json.Marshal(v)
				var g, w any
				json.Unmarshal(b, &g)
				json.Unmarshal(exp.Versions[i], &w)
				if v.Name != exp.Names[i] || !reflect.DeepEqual(g, w) {
					t.Errorf("version %s:\n got %s\nwant %s", v.Name, b, exp.Versions[i])
				}
			}
			if acc := vs[1].ClassAccuracy(); vs[1].Report != nil && vs[1].Report.On == "validation" && len(acc) == 0 {
				t.Errorf("version %s lost its per-class accuracy", vs[1].Name)
			}
			m, err := st.Models().Load("", newNative, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := head.NewClassifier(m)
			if p, err := c.Classify(ImageFill(storetest.ClassImage(0, 8, 1))); err != nil || p.Version != exp.Current {
				t.Errorf("classify with the migrated current version: %+v, %v", p, err)
			}
			m.Close()
			set, err := st.Settings()
			if err != nil || !reflect.DeepEqual(set, exp.Settings) {
				t.Errorf("settings %+v, %v; want %+v", set, err, exp.Settings)
			}
			if b := s.NextBurst(); b != exp.Burst {
				t.Errorf("next burst %d, want %d (ids are never reused)", b, exp.Burst)
			}
			// The old files stay as they were, a backup nothing reads.
			for rel, want := range files {
				b, err := os.ReadFile(filepath.Join(dir, rel))
				if err != nil || !bytes.Equal(b, want) {
					t.Errorf("legacy file %s changed or gone: %v", rel, err)
				}
			}
			// Changes after the migration win over the backup: the journal
			// is not replayed again.
			if err := s.Remove(got[0].ID); err != nil {
				t.Fatal(err)
			}
			if err := st.SetSettings(Settings{Window: 9}); err != nil {
				t.Fatal(err)
			}
			st.Close()
			st = openState(t, dir)
			if n := len(st.Samples().Samples()); n != len(exp.Samples)-1 {
				t.Errorf("after a removal and a reopen: %d samples, want %d", n, len(exp.Samples)-1)
			}
			if set, _ := st.Settings(); set.Window != 9 || set.Threshold != nil {
				t.Errorf("settings after a change and a reopen: %+v", set)
			}
			if rep, err := st.Check(false); err != nil || rep.Problems() != 0 || len(rep.Orphans) != 0 {
				t.Errorf("check after migration: %+v, %v", rep, err)
			}
		})
	}
}

// TestMigrateTornJournal: a journal an older alphad damaged (the partial
// bytes of an append cut short by a full disk, then the next record
// written after them; a torn last line) migrates with every acknowledged
// record.
func TestMigrateTornJournal(t *testing.T) {
	dir, files := copyLegacy(t)
	exp := readLegacyExpected(t)
	path := filepath.Join(dir, samplesDir, journalName)
	lines := bytes.SplitAfter(files[filepath.Join(samplesDir, journalName)], []byte("\n"))
	// The first 30 bytes of a lost append before the second record, and
	// half a record at the end.
	damaged := slices.Concat(lines[0], lines[1][:30])
	for _, l := range lines[1:] {
		damaged = append(damaged, l...)
	}
	damaged = append(damaged, lines[1][:40]...)
	if err := os.WriteFile(path, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	st := openState(t, dir)
	if got, want := ids(st.Samples().Samples()), ids(exp.Samples); !slices.Equal(got, want) {
		t.Fatalf("samples %v, want %v", got, want)
	}
}

// TestMigrateBadSettings: a settings.json the old alphad would refuse
// does not block the upgrade; the samples migrate and the settings start
// from the configuration.
func TestMigrateBadSettings(t *testing.T) {
	dir, _ := copyLegacy(t)
	if err := os.WriteFile(filepath.Join(dir, settingsFile), []byte(`{"threshold": 7}`), 0o644); err != nil {
		t.Fatal(err)
	}
	st := openState(t, dir)
	if len(st.Samples().Samples()) == 0 {
		t.Fatal("no samples migrated")
	}
	if set, err := st.Settings(); err != nil || set != (Settings{}) {
		t.Errorf("settings %+v, %v; want none", set, err)
	}
}

// TestSchemaFromTheFuture: a database a newer alphad migrated further is
// refused with a clear error rather than written with an old schema.
func TestSchemaFromTheFuture(t *testing.T) {
	dir := t.TempDir()
	st := openState(t, dir)
	if _, err := st.db.Exec(`INSERT INTO schema_version (version, applied) VALUES (?, 'x')`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := OpenState(dir, nil); err == nil || !bytes.Contains([]byte(err.Error()), []byte("newer than this alphad")) {
		t.Errorf("open = %v", err)
	}
	if _, err := OpenModels(dir); err == nil {
		t.Error("OpenModels opened a newer schema")
	}
}
