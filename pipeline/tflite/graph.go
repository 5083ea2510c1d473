package tflite

import (
	"cmp"
	"fmt"
	"slices"
)

// OpCount is one line of an op histogram.
type OpCount struct {
	Op      string // schema name, or the custom code
	Version int
	Count   int
}

func (c OpCount) String() string { return fmt.Sprintf("%s v%d", c.Op, c.Version) }

// OpHistogram counts the operators by op and version, most frequent first
// (ties by name, then version).
func (m *Model) OpHistogram() []OpCount {
	idx := map[OpCount]int{}
	var h []OpCount
	for _, op := range m.Operators {
		k := OpCount{Op: OpName(op.Op), Version: op.Version}
		if op.Op == OpCustom && op.CustomCode != "" {
			k.Op = op.CustomCode
		}
		i, ok := idx[k]
		if !ok {
			i = len(h)
			idx[k] = i
			h = append(h, k)
		}
		h[i].Count++
	}
	slices.SortFunc(h, func(a, b OpCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Op, b.Op), cmp.Compare(a.Version, b.Version))
	})
	return h
}
