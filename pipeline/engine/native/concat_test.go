package native

import (
	"fmt"
	"testing"

	"github.com/alphad/alphad/pipeline/tflite"
)

func TestConcatenation(t *testing.T) {
	for _, axis := range []int{0, 1, 2, -1} {
		t.Run(fmt.Sprint("axis", axis), func(t *testing.T) {
			// Inputs [2,3,4] and [2,3,4] with the concat axis sized 1 and 2.
			s1, s2 := []int{2, 3, 4}, []int{2, 3, 4}
			ax := (axis + 3) % 3
			s1[ax], s2[ax] = 1, 2
			so := []int{2, 3, 4}
			so[ax] = 3
			n := func(s []int) int { return s[0] * s[1] * s[2] }
			r := seeded(4)
			a, c := randF32(r, n(s1)), randF32(r, n(s2))
			// Reference: element (i,j,k) of the output by index.
			want := make([]float32, n(so))
			for i := 0; i < so[0]; i++ {
				for j := 0; j < so[1]; j++ {
					for k := 0; k < so[2]; k++ {
						idx := []int{i, j, k}
						var v float32
						if idx[ax] < 1 {
							v = a[(idx[0]*s1[1]+idx[1])*s1[2]+idx[2]]
						} else {
							idx[ax]--
							v = c[(idx[0]*s2[1]+idx[1])*s2[2]+idx[2]]
						}
						want[(i*so[1]+j)*so[2]+k] = v
					}
				}
			}
			var b modelBuilder
			x, y, z := b.f32(s1...), b.f32(s2...), b.f32(so...)
			b.op(tflite.OpConcatenation, &tflite.ConcatenationOptions{Axis: axis}, []int{x, y}, []int{z})
			closeTo(t, runF32(t, b.io([]int{x, y}, []int{z}), 1, a, c), want, 0)
		})
	}
}
