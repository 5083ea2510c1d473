package store

import (
	"encoding/gob"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/tflite"
)

// randomCrop returns a seeded random square crop of 75–90 % of img's side.
func randomCrop(img image.Image, r *rand.Rand) image.Image {
	src := toRGBA(img)
	b := src.Bounds()
	side := min(b.Dx(), b.Dy())
	s := side * (75 + r.IntN(16)) / 100
	x0 := r.IntN(b.Dx() - s + 1)
	y0 := r.IntN(b.Dy() - s + 1)
	return resize(src, image.Rect(x0, y0, x0+s, y0+s), 224, 224)
}

func TestTune3(t *testing.T) {
	if os.Getenv("ALPHAD_TUNE") != "3" {
		t.Skip("set ALPHAD_TUNE=3")
	}
	name := os.Getenv("ALPHAD_TUNE_DS")
	d := embedDataset(t, name)
	cachePath := filepath.Join(os.Getenv("ALPHAD_EMBED_CACHE"), name+"_crops.gob")
	var crops [][][2][]float32
	if f, err := os.Open(cachePath); err == nil {
		gob.NewDecoder(f).Decode(&crops)
		f.Close()
	}
	if crops == nil {
		data, _ := os.ReadFile(testshared.Path(t, "models", "mobilenet_v2_1.0_224_dequant_f32_features.tflite"))
		m, _ := tflite.Parse(data)
		_, newEngine := fastEngine()
		bb, err := head.NewBackbone(m, "x", newEngine, engine.Options{Threads: runtime.NumCPU()})
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(5, 5))
		for c := range d.Classes {
			var vs [][2][]float32
			for _, f := range d.Files[c] {
				img, err := decodeFile(filepath.Join(testshared.Path(t, "datasets", name, d.Classes[c], f)))
				if err != nil {
					t.Fatal(err)
				}
				crop := CenterCrop(img, 224)
				var v [2][]float32
				for k, im := range []image.Image{randomCrop(crop, r), Mirror(randomCrop(crop, r))} {
					v[k] = make([]float32, 1280)
					bb.Embed(v[k], ImageFill(im))
				}
				vs = append(vs, v)
			}
			crops = append(crops, vs)
		}
		f, _ := os.Create(cachePath)
		gob.NewEncoder(f).Encode(crops)
		f.Close()
	}
	train := split70(d)
	for _, v := range []struct {
		name  string
		views func(c, i int) [][]float32
		cfg   func(*head.Config)
	}{
		{"flip", func(c, i int) [][]float32 { return [][]float32{d.Vecs[c][i][1]} }, func(c *head.Config) { c.L2 = 1e-2; c.Patience = 0 }},
		{"flip+crops", func(c, i int) [][]float32 { return [][]float32{d.Vecs[c][i][1], crops[c][i][0], crops[c][i][1]} }, func(c *head.Config) { c.L2 = 1e-2; c.Patience = 0 }},
		{"flip+crops-def", func(c, i int) [][]float32 { return [][]float32{d.Vecs[c][i][1], crops[c][i][0], crops[c][i][1]} }, func(c *head.Config) {}},
		{"flip+crops-l2", func(c, i int) [][]float32 { return [][]float32{d.Vecs[c][i][1], crops[c][i][0], crops[c][i][1]} }, func(c *head.Config) { c.L2 = 1e-2 }},
	} {
		var accs []float64
		for seed := uint64(1); seed <= 6; seed++ {
			var samples []head.Sample
			var tx [][]float32
			var ty []int
			for c := range d.Classes {
				for i, vec := range d.Vecs[c] {
					if slices.Contains(train[c], i) {
						samples = append(samples, head.Sample{Label: c, X: vec[0], Views: v.views(c, i)})
					} else {
						tx, ty = append(tx, vec[0]), append(ty, c)
					}
				}
			}
			cfg := head.DefaultConfig()
			cfg.Seed = seed
			v.cfg(&cfg)
			h, _, err := head.Train(t.Context(), samples, len(d.Classes), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			accs = append(accs, head.Evaluate(h, tx, ty).Accuracy)
		}
		mean, lo := 0.0, 1.0
		for _, a := range accs {
			mean += a / float64(len(accs))
			lo = min(lo, a)
		}
		t.Logf("%-14s %.3f  mean %.3f min %.3f", v.name, accs, mean, lo)
	}
}
