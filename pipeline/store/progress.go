package store

// Tracker turns the Progress of one training run into one monotonic
// fraction of the whole run (0..1): embedding is the first 40 %, the
// heads of an ensemble and their refits on all samples share the next
// 58 % (the heads train side by side: their epochs count together), and
// the last 2 % is the commit. The fraction never goes back. The daemon
// (MQTT, web app) and the CLI's progress bar read the same numbers from
// it.
type Tracker struct {
	refit bool
	last  float64
	runs  []float64 // fraction done of each head's validated run, then of each refit
}

// NewTracker returns a tracker for a run; refit says whether the head
// configuration refits on all samples after validation.
func NewTracker(refit bool) *Tracker { return &Tracker{refit: refit} }

// Update returns the run's fraction after p (below 1 until Done) and
// whether p carried progress at all.
func (t *Tracker) Update(p Progress) (float64, bool) {
	var f float64
	switch {
	case p.Phase == "embed" && p.Total > 0:
		f = 0.40 * float64(p.Done) / float64(p.Total)
	case p.Phase == "train" && p.Epoch != nil:
		e := p.Epoch
		members := max(e.Members, 1)
		if len(t.runs) != 2*members {
			t.runs = make([]float64, 2*members)
		}
		k := min(max(e.Member, 1), members) - 1
		if e.Refit {
			// The validated runs are over (early stopping ends them
			// before Epochs).
			for i := range members {
				t.runs[i] = 1
			}
			k += members
		}
		t.runs[k] = max(t.runs[k], float64(e.Epoch)/float64(max(e.Epochs, 1)))
		n, sum := members, 0.0
		if t.refit {
			n *= 2
		}
		for _, r := range t.runs[:n] {
			sum += r
		}
		f = 0.40 + 0.58*sum/float64(n)
	default:
		return t.last, false
	}
	t.last = max(t.last, min(f, 0.99))
	return t.last, true
}

// Head is "i/n" of the head in training for an ensemble or a refit ("" for
// a single head without refit, and outside the train phase).
func (t *Tracker) Head(p Progress) string {
	if p.Phase != "train" || p.Epoch == nil {
		return ""
	}
	e := p.Epoch
	members := max(e.Members, 1)
	n := members
	if t.refit {
		n++
	}
	if n <= 1 {
		return ""
	}
	i := max(e.Member, 1)
	if e.Refit {
		i = n
	}
	return itoa(i) + "/" + itoa(n)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
