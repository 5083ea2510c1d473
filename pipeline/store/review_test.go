package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reviewImage is a 224×224 image of one colour (distinct per n).
func reviewImage(n int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 224, 224))
	c := color.RGBA{uint8(n * 37), uint8(n * 91), uint8(n * 13), 255}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func unsure(n int) ReviewItem {
	return ReviewItem{Reason: ReasonUnknown, Classes: []string{"rock", "paper"}, Scores: []float32{0.4 + float32(n)/100, 0.6 - float32(n)/100},
		ModelVersion: "v000001", Time: time.Unix(1700000000+int64(n), 0)}
}

func openTestState(t *testing.T, dir string) *State {
	t.Helper()
	s, err := OpenState(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reviewFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, reviewDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil // not made yet (a child process opening the state)
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestReviewBound: the queue keeps the newest size items, drops the
// oldest with their images, and reopens as it was.
func TestReviewBound(t *testing.T) {
	dir := t.TempDir()
	s := openTestState(t, dir)
	q := s.Review()
	if err := q.SetSize(3); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for n := range 5 {
		it, gone, err := q.Add(unsure(n), reviewImage(n))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
		if want := max(0, n-2); len(gone) != min(1, want) || (len(gone) == 1 && gone[0] != ids[n-3]) {
			t.Fatalf("add %d dropped %v", n, gone)
		}
	}
	list := q.List()
	if len(list) != 3 || list[0].ID != ids[4] || list[2].ID != ids[2] {
		t.Fatalf("list %v, want the newest three of %v, newest first", list, ids)
	}
	if top, sc := list[0].Top(); top != "paper" || sc != 0.56 {
		t.Errorf("top %s %v", top, sc)
	}
	if got := reviewFiles(t, dir); len(got) != 3 {
		t.Fatalf("files %v, want 3 images", got)
	}
	if err := q.SetSize(2); err != nil || q.Len() != 2 {
		t.Fatalf("shrink: %v, %d items", err, q.Len())
	}
	s.Close()
	s = openTestState(t, dir)
	defer s.Close()
	if got := s.Review().List(); len(got) != 2 || got[0].ID != ids[4] || got[1].ID != ids[3] || !slices.Equal(got[0].Scores, list[0].Scores) {
		t.Fatalf("reopened: %+v", got)
	}
	if err := s.Review().SetSize(MaxReviewSize + 1); err == nil {
		t.Error("size beyond the maximum accepted")
	}
	if err := s.Review().SetSize(0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Review().Add(unsure(9), reviewImage(9)); err == nil {
		t.Error("add with size 0 succeeded")
	}
}

// TestReviewAddChangesOneRow: adding to a full queue inserts the new row
// and deletes the oldest, nothing else (it used to rewrite every row: 400
// row changes per add at 200 items); filing or discarding deletes one row.
func TestReviewAddChangesOneRow(t *testing.T) {
	s := openTestState(t, t.TempDir())
	defer s.Close()
	q := s.Review()
	for n := range DefaultReviewSize {
		if _, _, err := q.Add(unsure(n%50), reviewImage(n)); err != nil {
			t.Fatal(err)
		}
	}
	changes := func() int {
		t.Helper()
		var n int
		if err := s.db.QueryRow(`SELECT total_changes()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := changes()
	oldest := q.List()[DefaultReviewSize-1]
	it, gone, err := q.Add(unsure(7), reviewImage(7))
	if err != nil {
		t.Fatal(err)
	}
	if d := changes() - before; d != 2 || len(gone) != 1 || gone[0] != oldest.ID {
		t.Errorf("add to a full queue of %d: %d row changes (want 2: one insert, one delete), dropped %v (want %s)", DefaultReviewSize, d, gone, oldest.ID)
	}
	before = changes()
	if err := q.Discard(it.ID); err != nil {
		t.Fatal(err)
	}
	if d := changes() - before; d != 1 {
		t.Errorf("discard: %d row changes, want 1", d)
	}
	var rows int
	if err := s.db.QueryRow(`SELECT count(*) FROM review`).Scan(&rows); err != nil || rows != DefaultReviewSize-1 || q.Len() != rows {
		t.Errorf("%d rows (%v), %d items; want %d", rows, err, q.Len(), DefaultReviewSize-1)
	}
}

// TestReviewFileAndDiscard: filing makes a sample (Source review, the
// item's time) and removes the item; discarding removes it; unknown or
// path-like ids are refused.
func TestReviewFileAndDiscard(t *testing.T) {
	dir := t.TempDir()
	s := openTestState(t, dir)
	defer s.Close()
	q := s.Review()
	a, _, err := q.Add(unsure(1), reviewImage(1))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := q.Add(ReviewItem{Reason: ReasonFlip, Label: "paper", Previous: "rock", Classes: []string{"rock", "paper"}, Scores: []float32{0.3, 0.7}}, reviewImage(2))
	if err != nil {
		t.Fatal(err)
	}
	if png, err := q.Image(a.ID); err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("image: %v", err)
	}
	sm, err := q.File(a.ID, "scissors")
	if err != nil {
		t.Fatal(err)
	}
	if sm.Label != "scissors" || sm.Source != "review" || !sm.Time.Equal(a.Time) {
		t.Errorf("sample %+v", sm)
	}
	if got := s.Samples().Counts()["scissors"]; got != 1 {
		t.Errorf("scissors has %d samples, want 1", got)
	}
	img, err := s.Samples().Image(sm.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, _, _ := img.At(100, 100).RGBA(); uint8(r>>8) != 37 || uint8(g>>8) != 91 {
		t.Errorf("the sample is not the item's image")
	}
	if _, ok := q.Item(a.ID); ok {
		t.Error("filed item still queued")
	}
	if err := q.Discard(b.ID); err != nil {
		t.Fatal(err)
	}
	if q.Len() != 0 || len(reviewFiles(t, dir)) != 0 {
		t.Errorf("after file and discard: %d items, files %v", q.Len(), reviewFiles(t, dir))
	}
	for _, id := range []string{a.ID, "../samples/journal", "../../etc/passwd", ""} {
		if err := q.Discard(id); !errors.Is(err, ErrNoReviewItem) {
			t.Errorf("discard %q: %v", id, err)
		}
		if _, err := q.File(id, "x"); !errors.Is(err, ErrNoReviewItem) {
			t.Errorf("file %q: %v", id, err)
		}
		if _, err := q.Image(id); !errors.Is(err, ErrNoReviewItem) {
			t.Errorf("image %q: %v", id, err)
		}
	}
	c, _, _ := q.Add(unsure(3), reviewImage(3))
	if _, err := q.File(c.ID, " bad"); err == nil {
		t.Error("filed into a bad class name")
	}
	if _, _, err := q.Add(ReviewItem{Reason: "bored"}, reviewImage(4)); err == nil {
		t.Error("a bad reason was accepted")
	}
}

// TestReviewCrash: an alphad killed (SIGKILL) while adding items leaves a
// queue that opens with every item it names intact, and no stray files.
func TestReviewCrash(t *testing.T) {
	if dir := os.Getenv("ALPHAD_REVIEW_CRASH_DIR"); dir != "" {
		s := openTestState(t, dir)
		s.Review().SetSize(5)
		for n := 0; ; n++ {
			if _, _, err := s.Review().Add(unsure(n%50), reviewImage(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReviewCrash$")
		cmd.Env = append(os.Environ(), "ALPHAD_REVIEW_CRASH_DIR="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// However the test ends (a t.Fatal below included), the writer
		// does not outlive it.
		t.Cleanup(func() { killChild(cmd) })
		if os.Getenv(reviewCrashEarly) != "" { // TestReviewCrashCleanup
			fmt.Printf("writer pid %d\n", cmd.Process.Pid)
			t.Fatal("failing early on purpose")
		}
		// Kill it once it has queued a few items (images seen on disk).
		deadline := time.Now().Add(30 * time.Second)
		for {
			if len(reviewFiles(t, dir)) > 3+round {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the writer did not get going")
			}
			time.Sleep(5 * time.Millisecond)
		}
		killChild(cmd)
		s := openTestState(t, dir)
		q := s.Review()
		items := q.List()
		if len(items) == 0 || len(items) > 5 {
			t.Fatalf("round %d: %d items after the crash", round, len(items))
		}
		for _, it := range items {
			if _, err := q.Image(it.ID); err != nil {
				t.Fatalf("round %d: item %s: %v", round, it.ID, err)
			}
		}
		if got := reviewFiles(t, dir); len(got) != len(items) {
			t.Fatalf("round %d: files %v for %d items", round, got, len(items))
		}
		t.Logf("round %d: %d items after the kill", round, len(items))
		s.Close()
	}
}

// reviewCrashEarly makes TestReviewCrash fail right after starting its
// writer (TestReviewCrashCleanup).
const reviewCrashEarly = "ALPHAD_REVIEW_CRASH_EARLY"

// TestReviewCrashCleanup: TestReviewCrash failing early (before its own
// kill) still kills its writer process; it used to be left running,
// writing into a removed temp directory.
func TestReviewCrashCleanup(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestReviewCrash$", "-test.v")
	cmd.Env = append(os.Environ(), reviewCrashEarly+"=1")
	out, err := cmd.CombinedOutput()
	var pid int
	for _, l := range strings.Split(string(out), "\n") {
		if _, e := fmt.Sscanf(l, "writer pid %d", &pid); e == nil {
			break
		}
	}
	if err == nil || pid <= 0 || !strings.Contains(string(out), "failing early on purpose") {
		t.Fatalf("TestReviewCrash did not fail early as asked (%v, writer pid %d):\n%s", err, pid, out)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the writer (pid %d) outlived the failed test: signal 0 gave %v", pid, err)
	}
}

// killChild kills a child process and reaps it; again is harmless.
func killChild(cmd *exec.Cmd) {
	cmd.Process.Kill()
	if cmd.ProcessState == nil {
		cmd.Wait()
	}
}

// TestReviewMigratesIndex: a queue kept by an older alphad in
// review/index.json moves into the database once; the file stays behind.
func TestReviewMigratesIndex(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, reviewDir), 0o755); err != nil {
		t.Fatal(err)
	}
	it := ReviewItem{ID: newReviewID(time.Now()), Time: time.Now().UTC().Round(time.Millisecond), Reason: ReasonUnknown,
		Classes: []string{"rock", "paper"}, Scores: []float32{0.4, 0.3}}
	var png bytes.Buffer
	if err := pngEncode(&png); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, reviewDir, it.ID+".png"), png.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	index, _ := json.Marshal(reviewFile{Version: 1, Items: []ReviewItem{it}})
	if err := os.WriteFile(filepath.Join(dir, reviewDir, reviewIndex), index, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := OpenState(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if l := st.Review().List(); len(l) != 1 || l[0].ID != it.ID || l[0].Scores[0] != 0.4 {
		t.Fatalf("migrated queue %+v, want the index's item", l)
	}
	if err := st.Review().Discard(it.ID); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = OpenState(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := st.Review().Len(); n != 0 {
		t.Errorf("after discard and reopen: %d items (the old index was imported again)", n)
	}
	if _, err := os.Stat(filepath.Join(dir, reviewDir, reviewIndex)); err != nil {
		t.Errorf("the old index is kept: %v", err)
	}
}

func pngEncode(w *bytes.Buffer) error {
	return png.Encode(w, image.NewGray(image.Rect(0, 0, 8, 8)))
}
