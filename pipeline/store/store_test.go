package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/alphad/alphad/pipeline/store/storetest"
)

// open opens dir as its owner and returns its sample store; close
// releases it (the state directory and its database).
func open(t *testing.T, dir string) *Store {
	t.Helper()
	st, err := OpenState(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Samples()
	testStates.Store(s, st)
	return s
}

// testStates maps the stores open returned to their State.
var testStates sync.Map

// closeTest closes the state directory a test opened with open.
func (s *Store) closeTest() error {
	st, ok := testStates.LoadAndDelete(s)
	if !ok {
		return errors.New("store not opened by open")
	}
	return st.(*State).Close()
}

// openState opens dir as its owner for the test.
func openState(t *testing.T, dir string) *State {
	t.Helper()
	s, err := OpenState(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func add(t *testing.T, s *Store, label string, seeds ...uint64) []Sample {
	t.Helper()
	var ns []NewSample
	for _, seed := range seeds {
		ns = append(ns, NewSample{Label: label, Image: storetest.ClassImage(len(label), 8, seed), Source: "test", Original: []byte("orig"), OriginalExt: ".jpg"})
	}
	out, err := s.Add(s.NextBurst(), ns)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(samples []Sample) []string {
	var out []string
	for _, s := range samples {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

func TestStoreLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	a := add(t, s, "rock", 1, 2, 3)
	b := add(t, s, "paper", 4, 5)
	if err := s.AddClass("scissors"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddClass("rock"); !errors.Is(err, ErrClassExists) {
		t.Errorf("AddClass(rock) = %v", err)
	}
	if got := s.Classes(); !slices.Equal(got, []string{"rock", "paper", "scissors"}) {
		t.Errorf("classes = %v", got)
	}
	if c := s.Counts(); c["rock"] != 3 || c["paper"] != 2 || c["scissors"] != 0 {
		t.Errorf("counts = %v", c)
	}
	// Re-adding the same image is idempotent.
	again := add(t, s, "rock", 1)
	if again[0].ID != a[0].ID || len(s.Samples()) != 5 {
		t.Errorf("re-add: %v, %d samples", again, len(s.Samples()))
	}
	if _, err := os.Stat(s.OriginalPath(a[0])); err != nil {
		t.Error(err)
	}
	if err := s.RenameClass("paper", "sheet"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameClass("nope", "x"); !errors.Is(err, ErrUnknownClass) {
		t.Errorf("rename unknown: %v", err)
	}
	last := add(t, s, "sheet", 6, 7)
	burst, n, err := s.UndoBurst()
	if err != nil || n != 2 || burst != last[0].Burst {
		t.Errorf("undo = %d, %d, %v", burst, n, err)
	}
	if err := s.Remove(a[2].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("feedbeef"); err == nil {
		t.Error("removing an unknown sample worked")
	}
	if n, err := s.DeleteClass("scissors"); err != nil || n != 0 {
		t.Errorf("delete = %d, %v", n, err)
	}
	want := ids(s.Samples())
	if len(want) != 4 {
		t.Fatalf("have %d samples, want 4", len(want))
	}
	s.closeTest()

	s = open(t, dir)
	defer s.closeTest()
	if got := ids(s.Samples()); !slices.Equal(got, want) {
		t.Errorf("after reopen %v, want %v", got, want)
	}
	if got := s.Classes(); !slices.Equal(got, []string{"rock", "sheet"}) {
		t.Errorf("classes after reopen = %v", got)
	}
	for _, sm := range s.Samples() {
		if sm.Label == "sheet" && !slices.Contains(ids(b), sm.ID) {
			t.Errorf("sample %s relabelled wrongly", sm.ID)
		}
		if _, err := s.Image(sm.ID); err != nil {
			t.Error(err)
		}
	}
	// Undone and removed images are gone from disk.
	ents, _ := os.ReadDir(filepath.Join(dir, "samples", "img"))
	if len(ents) != 4 {
		t.Errorf("%d image files, want 4", len(ents))
	}
}

// TestStoreCrashRecovery: what a kill -9 leaves (temp files, the image
// of an Add whose row never committed) is removed on open; a row whose
// image vanished is kept, reported by Check and removed by its repair.
func TestStoreCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	a := add(t, s, "a", 1, 2)
	add(t, s, "b", 3)
	want := ids(s.Samples())
	s.closeTest()
	img := filepath.Join(dir, "samples", "img")
	orphans := []string{
		filepath.Join(img, ".x.png.tmp123"),
		filepath.Join(img, "0123456789abcdef0123456789abcdef.png"),
		filepath.Join(dir, "samples", "orig", "0123456789abcdef0123456789abcdef.jpg"),
	}
	for _, p := range orphans {
		os.WriteFile(p, []byte("x"), 0o644)
	}
	s = open(t, dir)
	if got := ids(s.Samples()); !slices.Equal(got, want) {
		t.Errorf("after crash %v, want %v", got, want)
	}
	for _, p := range orphans {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("orphan %s not swept: %v", p, err)
		}
	}
	ents, _ := os.ReadDir(img)
	if len(ents) != 3 {
		t.Errorf("%d image files after sweep, want 3", len(ents))
	}
	s.closeTest()

	// An image lost behind alphad's back: the row stays until repaired.
	os.Remove(filepath.Join(img, a[0].ID+".png"))
	os.WriteFile(filepath.Join(img, a[1].ID+".png"), []byte("not a png"), 0o644)
	st := openState(t, dir)
	if n := len(st.Samples().Samples()); n != 3 {
		t.Errorf("%d samples after an image vanished, want 3 (kept until repaired)", n)
	}
	rep, err := st.Check(false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Missing, []string{a[0].ID}) || len(rep.BadImages) != 1 || rep.BadImages[0].ID != a[1].ID || rep.Problems() != 2 || len(rep.Removed) != 0 {
		t.Errorf("check = %+v", rep)
	}
	rep, err = st.Check(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Removed) != 2 || rep.Unrepaired() != 0 {
		t.Errorf("repair = %+v", rep)
	}
	if rep, _ := st.Check(false); rep.Problems() != 0 || rep.Samples != 1 {
		t.Errorf("check after repair = %+v", rep)
	}
}

// TestStoreCorruptJournal: a legacy journal with garbage in the middle
// is refused with the byte offset, not migrated with samples missing.
func TestStoreCorruptJournal(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "samples"), 0o755)
	os.WriteFile(filepath.Join(dir, "samples", journalName), []byte("garbage\n{\"op\":\"class\",\"name\":\"a\"}\n"), 0o644)
	if _, err := OpenState(dir, nil); err == nil || !strings.Contains(err.Error(), "corrupt record at byte 0") {
		t.Errorf("Open = %v", err)
	}
}

func TestEmbeddingCache(t *testing.T) {
	dir := t.TempDir()
	c, err := openEmbeddings(filepath.Join(dir, embeddingsDir), "abc", 3)
	if err != nil {
		t.Fatal(err)
	}
	id := "0123456789abcdef0123456789abcdef"
	if err := c.Put(id, ViewPlain, []float32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	c.Put(id, ViewFlipped, []float32{4, 5, 6})
	if err := c.Put("zz", 0, []float32{1, 2, 3}); err == nil {
		t.Error("bad id accepted")
	}
	if err := c.Put(id, 0, []float32{1}); err == nil {
		t.Error("bad length accepted")
	}
	c.Close()
	path := filepath.Join(dir, "embeddings", "abc.emb")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{1, 2, 3}) // torn record
	f.Close()
	c, err = openEmbeddings(filepath.Join(dir, embeddingsDir), "abc", 3)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Get(id, ViewFlipped); !ok || !slices.Equal(v, []float32{4, 5, 6}) || c.Len() != 2 {
		t.Errorf("after reopen: %v %v len %d", v, ok, c.Len())
	}
	c.Close()
	// Another dimension for the same hash starts over.
	c, _ = openEmbeddings(filepath.Join(dir, embeddingsDir), "abc", 4)
	if c.Len() != 0 {
		t.Errorf("dim change kept %d entries", c.Len())
	}
	c.Close()
	// Another backbone never sees these.
	c, _ = openEmbeddings(filepath.Join(dir, embeddingsDir), "def", 3)
	if _, ok := c.Get(id, ViewPlain); ok {
		t.Error("embedding leaked across backbones")
	}
	c.Close()
}
