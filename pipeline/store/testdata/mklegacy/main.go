// Command mklegacy writes the state directory under ../legacy-state and
// its expected.json with the pipeline/store of an alphad from before the
// state database (journal.jsonl, models/<version>/meta.json, current,
// settings.json). It is kept for the record: run it from a checkout of
// that alphad (commit ce0e5bd), e.g.
//
//	git archive ce0e5bd | tar -x -C /tmp/old
//	mkdir -p /tmp/old/cmd/mklegacy && cp main.go /tmp/old/cmd/mklegacy/
//	(cd /tmp/old && go run ./cmd/mklegacy OUT)
//
// expected.json is what that store's own API reported, so the migration
// test compares against the old code, not against itself.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/native"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store"
	"github.com/alphad/alphad/pipeline/store/storetest"
	"github.com/alphad/alphad/pipeline/tflite"
)

type expected struct {
	Classes  []string        `json:"classes"`
	Samples  []store.Sample  `json:"samples"`
	Counts   map[string]int  `json:"counts"`
	Versions []store.Version `json:"versions"`
	Names    []string        `json:"version_names"`
	Current  string          `json:"current"`
	Settings store.Settings  `json:"settings"`
	Burst    int64           `json:"next_burst"`
}

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(out string) error {
	dir := filepath.Join(out, "legacy-state")
	os.RemoveAll(dir)
	st, err := store.OpenState(dir, nil)
	if err != nil {
		return err
	}
	s := st.Samples()
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	seed := uint64(0)
	add := func(label string, c, n int, orig bool) ([]store.Sample, error) {
		var ns []store.NewSample
		for range n {
			seed++
			x := store.NewSample{Label: label, Image: storetest.ClassImage(c, 8, seed), Source: "camera", Time: t0.Add(time.Duration(seed) * time.Second)}
			if orig {
				x.Original, x.OriginalExt, x.Source = []byte(fmt.Sprintf("original %d", seed)), ".jpg", fmt.Sprintf("file:/tmp/%d.jpg", seed)
			}
			ns = append(ns, x)
		}
		return s.Add(s.NextBurst(), ns)
	}
	rock, err := add("rock", 0, 5, true)
	if err != nil {
		return err
	}
	if _, err := add("paper", 1, 5, false); err != nil {
		return err
	}
	if err := s.AddClass("scissors"); err != nil {
		return err
	}
	sc, err := add("scissors", 2, 5, false)
	if err != nil {
		return err
	}
	if err := s.RenameClass("paper", "sheet"); err != nil {
		return err
	}
	if _, err := add("sheet", 1, 2, false); err != nil {
		return err
	}
	if _, _, err := s.UndoBurst(); err != nil {
		return err
	}
	if err := s.Move("scissors", rock[4].ID); err != nil {
		return err
	}
	if err := s.Remove(sc[0].ID); err != nil {
		return err
	}
	for _, c := range []string{"empty", "gone"} {
		if err := s.AddClass(c); err != nil {
			return err
		}
	}
	if _, err := s.DeleteClass("gone"); err != nil {
		return err
	}
	bb, err := tflite.Marshal(storetest.TinyBackbone(8, 6))
	if err != nil {
		return err
	}
	if _, err := s.DeleteClass("empty"); err != nil { // training refuses empty classes
		return err
	}
	cfg := head.DefaultConfig()
	cfg.Hidden, cfg.Epochs = 8, 10
	newEngine := func(m *tflite.Model, o engine.Options) (engine.Engine, error) { return native.New(m, o) }
	opts := store.TrainOptions{Backbone: bb, BackboneSource: "tiny", NewEngine: newEngine, Config: cfg}
	for range 2 {
		if _, _, err := store.Train(context.Background(), st, opts); err != nil {
			return err
		}
	}
	m := st.Models()
	ref, err := m.PutBackbone(bb, "import /tmp/model.tflite")
	if err != nil {
		return err
	}
	if _, err := m.Commit(store.Version{Kind: store.KindTFLite, Labels: []string{"a", "b", "c", "d", "e", "f"}, Backbone: ref, Source: "import /tmp/model.tflite"}, nil); err != nil {
		return err
	}
	if _, err := m.Rollback("v000002"); err != nil {
		return err
	}
	if err := s.AddClass("empty"); err != nil { // an empty class survives too
		return err
	}
	th := 0.7
	set := store.Settings{Threshold: &th, Window: 5, Teach: "sheet"}
	if err := st.SetSettings(set); err != nil {
		return err
	}
	vs, cur, err := m.List()
	if err != nil {
		return err
	}
	exp := expected{Classes: s.Classes(), Samples: s.Samples(), Counts: s.Counts(), Versions: vs, Current: cur, Settings: set, Burst: s.NextBurst()}
	for _, v := range vs {
		exp.Names = append(exp.Names, v.Name)
	}
	if err := st.Close(); err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(dir, "embeddings")) // a cache, not metadata
	os.Remove(filepath.Join(dir, "lock"))
	os.Remove(filepath.Join(dir, "models", "lock"))
	b, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "legacy-state.json"), append(b, '\n'), 0o644)
}
