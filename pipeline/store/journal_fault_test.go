package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/alphad/alphad/pipeline/store/storetest"
)

// faultyJournal is the journal file with faults injected: a write keeps
// only the first budget bytes and then fails with ENOSPC (a full disk);
// failSync and failTruncate make those calls fail.
type faultyJournal struct {
	*os.File
	budget       int // bytes a write may still put; < 0: no limit
	failSync     bool
	failTruncate bool
}

func (j *faultyJournal) Write(p []byte) (int, error) {
	if j.budget < 0 || len(p) <= j.budget {
		if j.budget >= 0 {
			j.budget -= len(p)
		}
		return j.File.Write(p)
	}
	n, err := j.File.Write(p[:j.budget])
	j.budget = 0
	if err != nil {
		return n, err
	}
	return n, &os.PathError{Op: "write", Path: j.Name(), Err: syscall.ENOSPC}
}

func (j *faultyJournal) Sync() error {
	if j.failSync {
		return &os.PathError{Op: "sync", Path: j.Name(), Err: syscall.EIO}
	}
	return j.File.Sync()
}

func (j *faultyJournal) Truncate(size int64) error {
	if j.failTruncate {
		return &os.PathError{Op: "truncate", Path: j.Name(), Err: syscall.EIO}
	}
	return j.File.Truncate(size)
}

func inject(s *Store) *faultyJournal {
	j := &faultyJournal{File: s.journal.(*os.File), budget: -1}
	s.journal = j
	return j
}

// TestJournalAppendCutShort: appends that fail part-way (ENOSPC after
// a few bytes, a failed fsync, a failed cut retried later) leave no bytes
// behind; every acknowledged sample survives a reopen and the failed ones
// are not there.
func TestJournalAppendCutShort(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var acked []Sample
	acked = append(acked, add(t, s, "rock", 1, 2)...)
	j := inject(s)

	tryAdd := func(label string, seed uint64) error {
		_, err := s.Add(s.NextBurst(), []NewSample{{Label: label, Image: storetest.ClassImage(len(label), 8, seed)}})
		return err
	}
	// A full disk: 10 bytes of the record get written.
	j.budget = 10
	if err := tryAdd("paper", 3); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("add on a full disk: got %v, want ENOSPC", err)
	}
	// Space freed: the next append must not follow the partial bytes.
	j.budget = -1
	acked = append(acked, add(t, s, "paper", 4)...)
	// fsync fails: the record is cut back off, the sample is not stored.
	j.failSync = true
	if err := tryAdd("paper", 5); err == nil {
		t.Fatal("add with a failing fsync succeeded")
	}
	j.failSync = false
	// The write and the cut both fail: the next commit cuts first.
	j.budget, j.failTruncate = 7, true
	if err := tryAdd("scissors", 6); err == nil {
		t.Fatal("add with a failing write succeeded")
	}
	if err := tryAdd("scissors", 7); err == nil {
		t.Fatal("add before the failed append could be cut succeeded")
	}
	j.budget, j.failTruncate = -1, false
	acked = append(acked, add(t, s, "scissors", 8)...)

	if got, want := ids(s.Samples()), ids(acked); !slices.Equal(got, want) {
		t.Fatalf("in memory: samples %v, want %v", got, want)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, samplesDir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(slices.DeleteFunc(splitLines(data), func(l []byte) bool { return len(l) == 0 })); n != 3 {
		t.Errorf("journal has %d records, want 3 (the acknowledged appends):\n%s", n, data)
	}
	r := open(t, dir)
	defer r.close()
	if got, want := ids(r.Samples()), ids(acked); !slices.Equal(got, want) {
		t.Fatalf("reopened: samples %v, want %v", got, want)
	}
}

// TestJournalSalvagesOldTornRecord: a journal an older alphad damaged
// (the partial bytes of an append cut short by a full disk, then the next
// record written after them) opens with every acknowledged record, and is
// rewritten clean.
func TestJournalSalvagesOldTornRecord(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	a := add(t, s, "rock", 1)
	b := add(t, s, "paper", 2)
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, samplesDir, journalName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := splitLines(data)
	// rock's record, the first 30 bytes of a lost append, paper's record.
	damaged := slices.Concat(lines[0], []byte("\n"), lines[1][:30], lines[1], []byte("\n"))
	if err := os.WriteFile(path, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	r := open(t, dir)
	if got, want := ids(r.Samples()), ids(append(a, b...)); !slices.Equal(got, want) {
		t.Fatalf("samples %v, want %v", got, want)
	}
	c := add(t, r, "rock", 3)
	r.close()
	r = open(t, dir)
	defer r.close()
	if got, want := ids(r.Samples()), ids(slices.Concat(a, b, c)); !slices.Equal(got, want) {
		t.Fatalf("after another add and a reopen: samples %v, want %v", got, want)
	}

	// Garbage in the middle that is not a torn record is still refused.
	if err := os.WriteFile(path, slices.Concat([]byte("garbage\n"), data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openSamples(filepath.Join(dir, samplesDir), nil); err == nil {
		t.Fatal("a journal with a corrupt record in the middle opened")
	}
}

func splitLines(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		i := slices.Index(data, '\n')
		if i < 0 {
			return append(out, data)
		}
		out = append(out, data[:i])
		data = data[i+1:]
	}
	return out
}
