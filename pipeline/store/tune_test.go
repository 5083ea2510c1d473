package store

import (
	"os"
	"testing"

	"github.com/alphad/alphad/pipeline/head"
)

// TestTune compares head configurations on cached dataset embeddings
// (ALPHAD_TUNE=1 ALPHAD_EMBED_CACHE=dir); a development aid, skipped
// otherwise.
func TestTune(t *testing.T) {
	if os.Getenv("ALPHAD_TUNE") == "" {
		t.Skip("set ALPHAD_TUNE=1")
	}
	type variant struct {
		name string
		flip bool
		cfg  func(*head.Config)
	}
	variants := []variant{
		{"default", true, func(c *head.Config) {}},
		{"norefit", true, func(c *head.Config) { c.Refit = false }},
		{"noflip", false, func(c *head.Config) {}},
		{"noearly", true, func(c *head.Config) { c.Patience = 0 }},
		{"l2", true, func(c *head.Config) { c.L2 = 1e-3 }},
		{"dropout", true, func(c *head.Config) { c.Dropout = 0.3 }},
		{"nosmooth", true, func(c *head.Config) { c.LabelSmoothing = 0 }},
		{"noval", true, func(c *head.Config) { c.Validation = 0 }},
	}
	for _, ds := range []string{"rps_picam", "flowers_tf"} {
		path := os.Getenv("ALPHAD_EMBED_CACHE") + "/" + ds + ".gob"
		if _, err := os.Stat(path); err != nil {
			continue
		}
		d := embedDataset(t, ds)
		for _, v := range variants {
			var accs []float64
			for seed := uint64(1); seed <= 3; seed++ {
				cfg := head.DefaultConfig()
				cfg.Seed = seed
				v.cfg(&cfg)
				m := heldOut(t, d, cfg, v.flip)
				accs = append(accs, m.Accuracy)
			}
			t.Logf("%-10s %-12s %.3f %.3f %.3f", ds, v.name, accs[0], accs[1], accs[2])
		}
	}
}
