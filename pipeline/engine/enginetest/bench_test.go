package enginetest

import (
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		v    []float64
		want float64
	}{
		{"none", nil, 0},
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.v)
			if got := Median(tc.v); got != tc.want {
				t.Errorf("Median(%v) = %v, want %v", tc.v, got, tc.want)
			}
			if !slices.Equal(in, tc.v) {
				t.Errorf("Median changed its input to %v", tc.v)
			}
		})
	}
}
