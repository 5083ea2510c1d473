package qmath

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
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

func TestDW9(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, c := range []int{8, 16, 40, 256} {
		for _, signed := range []bool{false, true} {
			w := make([]int32, 9*c)
			for i := range w {
				w[i] = int32(r.IntN(511) - 255)
			}
			var x [9][]byte
			for t := range x {
				x[t] = randBytes(r, c)
			}
			blk := packDW9(w, c)
			got, want := make([]int32, c), make([]int32, c)
			for i := range got {
				got[i] = int32(i)
				want[i] = int32(i)
			}
			dw9(got, &x, blk, signed)
			for i := range want {
				for tap := 0; tap < 9; tap++ {
					v := int32(x[tap][i])
					if signed {
						v = int32(int8(x[tap][i]))
					}
					want[i] += v * w[tap*c+i]
				}
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("c=%d signed=%v: channel %d = %d, want %d", c, signed, i, got[i], want[i])
				}
			}
		}
	}
}

func TestRequant16(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for iter := 0; iter < 200; iter++ {
		var acc, zw, bf [16]int32
		var sc [16]float32
		for j := range acc {
			acc[j] = int32(r.Uint32()) >> uint(r.IntN(31))
			zw[j] = int32(r.IntN(256))
			bf[j] = int32(r.IntN(1<<20)) - 1<<19
			sc[j] = float32(r.Float64()) * 0.01
		}
		if iter%7 == 0 {
			sc[3] = 0.5 // exact ties
			acc[3], zw[3], bf[3] = 5, 0, 0
		}
		lo := int32(r.IntN(40))
		p := newRequantParams(int32(r.IntN(5000)), int32(r.IntN(256)), lo, lo+int32(r.IntN(200)))
		var got, want [16]int32
		requant16(&got, acc[:], zw[:], bf[:], sc[:], &p)
		requant16Go(&want, acc[:], zw[:], bf[:], sc[:], &p)
		if got != want {
			t.Fatalf("iteration %d: got %v, want %v", iter, got, want)
		}
	}
}

// TestQuad4x16 holds the VNNI tile (where the CPU has it) and its portable
// form to the plain dot product and fp32Quant, for every column mask width.
func TestQuad4x16(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, k := range []int{1, 3, 4, 27, 96, 961} {
		for _, n := range []int{16, 9, 1} {
			w := randBytes(r, n*k)
			packed := packQuads(w, n, k, 0)
			kq := (k + 3) / 4
			var rows [4][]byte
			var tl quadTile
			for i := range rows {
				rows[i] = make([]byte, 4*kq)
				copy(rows[i], randBytes(r, k))
				for _, b := range rows[i] {
					tl.rowSum[i] += int32(b)
				}
				tl.a[i] = &rows[i][0]
			}
			var zw, bf [16]int32
			var sc [16]float32
			for j := range n {
				zw[j] = int32(r.IntN(256))
				bf[j] = int32(r.IntN(1<<20)) - 1<<19
				sc[j] = float32(r.Float64()) * 0.001
			}
			var zwQ [16]int32
			for j := range zwQ {
				zwQ[j] = zw[j] - 128
			}
			zero, lo, hi := int32(r.IntN(256)), int32(r.IntN(30)), 255-int32(r.IntN(30))
			tl.zw, tl.bf, tl.scale = &zwQ[0], &bf[0], &sc[0]
			tl.zero, tl.lo, tl.hi, tl.flip, tl.mask = zero, float32(lo-zero), float32(hi-zero), 0x80, 1<<n-1
			var out, ref [4][]byte
			for i := range out {
				out[i] = make([]byte, 17) // one byte past the tile must stay untouched
				ref[i] = make([]byte, 17)
				tl.out[i] = &out[i][0]
			}
			quad4x16Go(&tl, rows, packed, zwQ[:], bf[:], sc[:], ref)
			if slices.Contains(Dots(), DotQuads) {
				quad4x16(&tl, packed)
			} else {
				out = ref
			}
			for i := range rows {
				for j := range 17 {
					want := byte(0)
					if j < n {
						var acc int32
						for kk := range k {
							acc += int32(rows[i][kk]) * int32(w[j*k+kk])
						}
						want = byte(fp32Quant(acc-zw[j]*tl.rowSum[i]+bf[j], sc[j], zero, lo, hi)) ^ 0x80
					}
					if out[i][j] != want || ref[i][j] != want {
						t.Fatalf("k=%d n=%d row %d col %d: got %d (portable %d), want %d", k, n, i, j, out[i][j], ref[i][j], want)
					}
				}
			}
		}
	}
}

// TestDW9Q16 holds the fused depthwise kernel (where the CPU has it) and
// its portable form to the plain nine-tap sum and fp32Quant.
func TestDW9Q16(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, c := range []int{16, 40, 960} {
		for _, signed := range []bool{false, true} {
			w := make([]int32, 9*c)
			for i := range w {
				w[i] = int32(r.IntN(511) - 255)
			}
			var x [9][]byte
			for tp := range x {
				x[tp] = randBytes(r, c)
			}
			bias := make([]int32, c)
			scale := make([]float32, c)
			for i := range bias {
				bias[i] = int32(r.IntN(1<<16)) - 1<<15
				scale[i] = float32(r.Float64()) * 0.002
			}
			zero, lo, hi := int32(r.IntN(256)), int32(r.IntN(30)), 255-int32(r.IntN(30))
			rq := dwRequant{zero: zero, lo: float32(lo - zero), hi: float32(hi - zero), flip: 0x80}
			w16 := packDW16(w, c)
			got, ref := make([]byte, c), make([]byte, c)
			if slices.Contains(Dots(), DotQuads) {
				dw9q16(got, &x, w16, bias, scale, &rq, signed)
			} else {
				dw9q16Go(got, &x, w16, bias, scale, &rq, signed)
			}
			dw9q16Go(ref, &x, w16, bias, scale, &rq, signed)
			for i := range c {
				want := byte(0)
				if i < c/16*16 {
					acc := bias[i]
					for tp := range 9 {
						v := int32(x[tp][i])
						if signed {
							v = int32(int8(x[tp][i]))
						}
						acc += v * w[tp*c+i]
					}
					want = byte(fp32Quant(acc, scale[i], zero, lo, hi)) ^ 0x80
				}
				if got[i] != want || ref[i] != want {
					t.Fatalf("c=%d signed=%v: channel %d = %d (portable %d), want %d", c, signed, i, got[i], ref[i], want)
				}
			}
		}
	}
}

// TestNEONTiles checks the arm64 tiles (UDOT and UMLAL; their portable
// forms elsewhere) and their packing against plain dot products, for
// lengths around the loop steps and channel counts with a partial panel.
func TestNEONTiles(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, k := range []int{1, 7, 8, 9, 15, 16, 17, 40, 96, 961, kChunk} {
		for _, n := range []int{5, 16, 37} {
			w := randBytes(r, n*k)
			var rows [4][kChunk]byte
			for i := range rows {
				copy(rows[i][:k], randBytes(r, k))
			}
			ud := packUDOT(w, n, k, 0)
			ml := packMLAL(w, n, k, 0)
			kpU := (k + udotStep - 1) / udotStep * udotStep
			kpM := (k + mlalStep - 1) / mlalStep * mlalStep
			for g := 0; g < (n+15)/16; g++ {
				var gotU, gotM [64]int32
				udot4x16(&gotU, &rows, ud[g*kpU*16:(g+1)*kpU*16])
				mlal4x16(&gotM, &rows, ml[g*kpM*16:(g+1)*kpM*16])
				for i := range 4 {
					for j := range 16 {
						var want int32
						if oc := g*16 + j; oc < n {
							for kk := 0; kk < k; kk++ {
								want += int32(rows[i][kk]) * int32(w[oc*k+kk])
							}
						}
						if gotU[i*16+j] != want || gotM[i*16+j] != want {
							t.Fatalf("k=%d n=%d row %d col %d: udot %d, mlal %d, want %d", k, n, i, g*16+j, gotU[i*16+j], gotM[i*16+j], want)
						}
					}
				}
			}
		}
	}
}

// TestDots checks the kernel list: the portable kernel comes last, and
// when ALPHAD_WANT_DOTS names the list (scripts/cross-test.sh sets it for
// each emulated CPU) the run-time detection found exactly that.
func TestDots(t *testing.T) {
	ds := Dots()
	if len(ds) == 0 || ds[len(ds)-1] != DotSWAR {
		t.Fatalf("Dots() = %v, want the portable %v last", ds, DotSWAR)
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.String()
	}
	got := strings.Join(names, ",")
	t.Logf("dot-product kernels: %s", got)
	if want := os.Getenv("ALPHAD_WANT_DOTS"); want != "" && got != want {
		t.Fatalf("Dots() = %s, want %s (ALPHAD_WANT_DOTS)", got, want)
	}
}
