package qmath

import (
	"math/rand/v2"
	"testing"
)

func TestDot4x16(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, k := range []int{1, 2, 3, 16, 27, 96, 961} {
		n := 16
		w := randBytes(r, n*k)
		packed := packDot(w, n, k, 0)
		var rows [4][]byte
		var pairs [4][]uint32
		for i := range rows {
			rows[i] = randBytes(r, k)
			pairs[i] = make([]uint32, (k+1)/2)
			pairRow(pairs[i], rows[i])
		}
		var got, ref [64]int32
		dot4x16(&got, pairs[0], pairs[1], pairs[2], pairs[3], packed)
		dot4x16Go(&ref, pairs[0], pairs[1], pairs[2], pairs[3], packed)
		for i := range rows {
			for j := 0; j < n; j++ {
				var want int32
				for kk := 0; kk < k; kk++ {
					want += int32(rows[i][kk]) * int32(w[j*k+kk])
				}
				if got[i*16+j] != want || ref[i*16+j] != want {
					t.Fatalf("k=%d row %d col %d: got %d (portable %d), want %d", k, i, j, got[i*16+j], ref[i*16+j], want)
				}
			}
		}
	}
}
