package qmath

import (
	"math/rand/v2"
	"testing"
)

// TestColSum holds the word-at-a-time column sum to the plain loop: widths
// with and without a tail, more rows than the 16-bit lanes hold at once,
// all-255 inputs (the largest lane sums) and the int8 flip.
func TestColSum(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct{ width, rows, stride int }{
		{1, 1, 1}, {7, 3, 9}, {8, 49, 1280}, {64, 49, 1280}, {13, 300, 16}, {24, 257, 24}, {64, 1000, 64}, {5, 513, 7},
	} {
		for _, flip := range []byte{0, 0x80} {
			for _, fill := range []string{"random", "max"} {
				src := randBytes(r, (tc.rows-1)*tc.stride+tc.width)
				if fill == "max" {
					for i := range src {
						src[i] = 255 ^ flip
					}
				}
				got := make([]int32, tc.width)
				want := make([]int32, tc.width)
				for j := range got {
					got[j] = int32(j) - 3 // colSum adds to what is there
					want[j] = got[j]
					for row := range tc.rows {
						want[j] += int32(src[row*tc.stride+j] ^ flip)
					}
				}
				colSum(got, src, tc.rows, tc.stride, flip)
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("%+v flip %#x %s: column %d = %d, want %d", tc, flip, fill, j, got[j], want[j])
					}
				}
			}
		}
	}
}

// BenchmarkColSum is the global average pool of MobileNetV2 (7×7×1280).
func BenchmarkColSum(b *testing.B) {
	src := randBytes(rand.New(rand.NewPCG(1, 2)), 49*1280)
	a := make([]int32, poolBlock)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		for c := 0; c < 1280; c += poolBlock {
			clear(a)
			colSum(a, src[c:], 49, 1280, 0)
		}
	}
}
