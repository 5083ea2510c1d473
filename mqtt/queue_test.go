package mqtt

import (
	"slices"
	"testing"
)

func TestRing(t *testing.T) {
	tests := []struct {
		name    string
		ops     string // p = push next int, f = pushFront(-next), o = pop
		want    []int  // what remains, oldest first
		dropped int
	}{
		{"empty", "", nil, 0},
		{"fifo", "ppo", []int{2}, 0},
		{"overwrite oldest", "ppppp", []int{2, 3, 4, 5}, 1},
		{"front", "ppf", []int{-3, 1, 2}, 0},
		{"front when full drops", "ppppf", []int{1, 2, 3, 4}, 1},
		{"wrap", "pppoopppp", []int{6, 7, 8, 9}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing[int](4)
			n, dropped := 0, 0
			for _, op := range tt.ops {
				n++
				switch op {
				case 'p':
					if r.push(n) {
						dropped++
					}
				case 'f':
					if !r.pushFront(-n) {
						dropped++
					}
				case 'o':
					r.pop()
				}
			}
			var got []int
			for r.len() > 0 {
				v, _ := r.pop()
				got = append(got, v)
			}
			if !slices.Equal(got, tt.want) || dropped != tt.dropped {
				t.Errorf("got %v (dropped %d), want %v (dropped %d)", got, dropped, tt.want, tt.dropped)
			}
		})
	}
}
