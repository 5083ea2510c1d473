package qmath

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/alphad/alphad/internal/cputime"
)

func TestDepthwise(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name                       string
		h, w, c, m, k, st, dl, pad int
		in                         Type
		perCh                      bool
	}{
		{"3x3 s1 u8", 7, 6, 16, 1, 3, 1, 1, 1, Uint8, false},
		{"3x3 s2 i8", 9, 9, 24, 1, 3, 2, 1, 1, Int8, true},
		{"3x3 valid i8", 8, 8, 8, 1, 3, 2, 1, 0, Int8, true},
		{"multiplier 2", 5, 5, 3, 2, 3, 1, 1, 1, Uint8, false},
		{"dilated", 9, 9, 4, 1, 3, 1, 2, 2, Int8, true},
		{"wide", 3, 3, dwBlock + 40, 1, 3, 1, 1, 1, Uint8, false},
		{"3x3 s1 i8 tail", 6, 5, 16 + 8 + 3, 1, 3, 1, 1, 1, Int8, true},
		{"3x3 s2 u8 48", 7, 7, 48, 1, 3, 2, 1, 1, Uint8, false},
		// Rows of interior pixels (the fused row kernel), in both types.
		{"3x3 s1 i8 32 rows", 6, 11, 32, 1, 3, 1, 1, 1, Int8, true},
		{"3x3 s2 valid u8 16 rows", 9, 12, 16, 1, 3, 2, 1, 0, Uint8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ConvShape{Batch: 1, InH: tt.h, InW: tt.w, InC: tt.c, OutC: tt.c * tt.m, KH: tt.k, KW: tt.k,
				StrideH: tt.st, StrideW: tt.st, DilationH: tt.dl, DilationW: tt.dl, PadTop: tt.pad, PadLeft: tt.pad}
			s.OutH = outSize(tt.h, tt.k, tt.st, tt.dl, tt.pad)
			s.OutW = outSize(tt.w, tt.k, tt.st, tt.dl, tt.pad)
			for i, out := range []Type{Uint8, Int8, Uint8, Int8} {
				p := &DepthwiseParams{ConvParams: *convCase(r, s, tt.in, tt.in, out, tt.perCh), DepthMultiplier: tt.m}
				if i >= 2 {
					withFP32(&p.ConvParams)
				}
				src := randBytes(r, s.inLen())
				filter := randBytes(r, s.KH*s.KW*s.OutC)
				want := make([]byte, s.outLen())
				DepthwiseRef(want, src, filter, p)
				for _, dot := range Dots() {
					p.Dot = dot
					d, err := NewDepthwise(p, filter)
					if err != nil {
						t.Fatal(err)
					}
					got := make([]byte, s.outLen())
					d.Run(got, src, 0, 3)
					d.Run(got, src, 3, d.Units())
					if !bytes.Equal(got, want) {
						t.Fatalf("%s: case %d out %s: fast depthwise differs from reference at %d", dot, i, out, firstDiff(got, want))
					}
				}
			}
		})
	}
}

func BenchmarkDepthwise(b *testing.B) {
	for _, sz := range []struct{ hw, c, st int }{{112, 32, 1}, {56, 144, 1}, {28, 192, 2}, {7, 960, 1}} {
		b.Run(fmt.Sprintf("%dx%dx%d-s%d", sz.hw, sz.hw, sz.c, sz.st), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			s := ConvShape{Batch: 1, InH: sz.hw, InW: sz.hw, InC: sz.c, OutC: sz.c, KH: 3, KW: 3,
				StrideH: sz.st, StrideW: sz.st, DilationH: 1, DilationW: 1, PadTop: 1, PadLeft: 1}
			s.OutH, s.OutW = outSize(sz.hw, 3, sz.st, 1, 1), outSize(sz.hw, 3, sz.st, 1, 1)
			p := &DepthwiseParams{ConvParams: *convCase(r, s, Int8, Int8, Int8, true), DepthMultiplier: 1}
			withFP32(&p.ConvParams)
			d, err := NewDepthwise(p, randBytes(r, 9*s.OutC))
			if err != nil {
				b.Fatal(err)
			}
			src, dst := randBytes(r, s.inLen()), make([]byte, s.outLen())
			b.ReportAllocs()
			defer reportCPU(b, cputime.Process())
			for b.Loop() {
				d.Run(dst, src, 0, d.Units())
			}
		})
	}
}
