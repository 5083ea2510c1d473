package store

import (
	"math"
	"os"
	"testing"

	"github.com/alphad/alphad/pipeline/head"
)

func transformed(d *datasetEmbeddings, f func([]float32) []float32) *datasetEmbeddings {
	out := &datasetEmbeddings{Classes: d.Classes, Files: d.Files}
	for c := range d.Vecs {
		var vs [][4][]float32
		for _, v := range d.Vecs[c] {
			vs = append(vs, [4][]float32{f(v[0]), f(v[1]), f(v[2]), f(v[3])})
		}
		out.Vecs = append(out.Vecs, vs)
	}
	return out
}

func TestTune2(t *testing.T) {
	if os.Getenv("ALPHAD_TUNE") != "2" {
		t.Skip("set ALPHAD_TUNE=2")
	}
	d := embedDataset(t, os.Getenv("ALPHAD_TUNE_DS"))
	dim := len(d.Vecs[0][0][0])
	mu, sd := make([]float64, dim), make([]float64, dim)
	n := 0.0
	for c := range d.Vecs {
		for _, v := range d.Vecs[c] {
			for i, x := range v[0] {
				mu[i] += float64(x)
				sd[i] += float64(x) * float64(x)
			}
			n++
		}
	}
	for i := range mu {
		mu[i] /= n
		sd[i] = math.Sqrt(math.Max(sd[i]/n-mu[i]*mu[i], 0)) + 1e-3
	}
	std := transformed(d, func(x []float32) []float32 {
		y := make([]float32, len(x))
		for i := range x {
			y[i] = float32((float64(x[i]) - mu[i]) / sd[i])
		}
		return y
	})
	l2 := transformed(d, func(x []float32) []float32 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		y := make([]float32, len(x))
		for i := range x {
			y[i] = float32(float64(x[i]) / math.Sqrt(s) * 30)
		}
		return y
	})
	for _, v := range []struct {
		name string
		aug  string
		d    *datasetEmbeddings
		cfg  func(*head.Config)
	}{
		{"default", "crops", d, func(c *head.Config) {}},
		{"flip", "flip", d, func(c *head.Config) {}},
		{"l2-1e-2", "crops", d, func(c *head.Config) { c.L2 = 1e-2 }},
		{"l2-p0", "crops", d, func(c *head.Config) { c.L2, c.Patience = 1e-2, 0 }},
		{"l2-s0", "crops", d, func(c *head.Config) { c.L2, c.LabelSmoothing = 1e-2, 0 }},
		{"std-l2", "crops", std, func(c *head.Config) { c.L2 = 1e-2 }},
		{"l2n-l2", "crops", l2, func(c *head.Config) { c.L2 = 1e-2 }},
		{"l2-ens3", "crops", d, func(c *head.Config) { c.L2, c.Ensemble = 1e-2, 3 }},
	} {
		var accs []float64
		for seed := uint64(1); seed <= 6; seed++ {
			cfg := head.DefaultConfig()
			cfg.Seed = seed
			v.cfg(&cfg)
			views, _ := Augmentation(v.aug)
			accs = append(accs, heldOut(t, v.d, cfg, views).Accuracy)
		}
		mean, lo := 0.0, 1.0
		for _, a := range accs {
			mean += a / float64(len(accs))
			lo = min(lo, a)
		}
		t.Logf("%-12s %.3f  mean %.3f min %.3f", v.name, accs, mean, lo)
	}
}
