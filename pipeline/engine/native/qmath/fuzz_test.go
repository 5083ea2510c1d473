package qmath

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// fuzzShape derives a small convolution geometry from fuzz bytes.
func fuzzShape(b []byte) (ConvShape, bool) {
	if len(b) < 10 {
		return ConvShape{}, false
	}
	s := ConvShape{Batch: 1 + int(b[0]%2), InH: 1 + int(b[1]%9), InW: 1 + int(b[2]%9), InC: 1 + int(b[3]%9),
		OutC: 1 + int(b[4]%9), KH: 1 + int(b[5]%4), KW: 1 + int(b[6]%4),
		StrideH: 1 + int(b[7]%3), StrideW: 1 + int(b[7]/3%3), DilationH: 1 + int(b[8]%2), DilationW: 1 + int(b[8]/2%2),
		PadTop: int(b[9] % 3), PadLeft: int(b[9] / 3 % 3)}
	s.OutH = (s.InH+2*s.PadTop-s.DilationH*(s.KH-1)-1)/s.StrideH + 1
	s.OutW = (s.InW+2*s.PadLeft-s.DilationW*(s.KW-1)-1)/s.StrideW + 1
	if s.OutH < 1 || s.OutW < 1 || s.InH+2*s.PadTop < s.DilationH*(s.KH-1)+1 || s.InW+2*s.PadLeft < s.DilationW*(s.KW-1)+1 {
		return ConvShape{}, false
	}
	return s, true
}

// FuzzConv checks the packed integer GEMM convolution against the
// reference loop on fuzzed geometries, types and data.
func FuzzConv(f *testing.F) {
	f.Add([]byte{0, 4, 4, 3, 5, 2, 2, 0, 0, 1}, uint64(1), uint8(0))
	f.Add([]byte{1, 8, 7, 8, 8, 3, 3, 4, 3, 4}, uint64(2), uint8(3))
	f.Add([]byte{0, 1, 1, 1, 1, 0, 0, 0, 0, 0}, uint64(3), uint8(1))
	f.Fuzz(func(t *testing.T, geo []byte, seed uint64, mode uint8) {
		s, ok := fuzzShape(geo)
		if !ok {
			return
		}
		r := rand.New(rand.NewPCG(seed, 1))
		typ := Type(mode % 2)
		p := convCase(r, s, typ, typ, typ, mode/2%2 == 1)
		if mode/4%2 == 1 {
			withFP32(p)
		}
		src, filter := randBytes(r, s.inLen()), randBytes(r, s.filterLen())
		want := make([]byte, s.outLen())
		ConvRef(want, src, filter, p)
		c, err := NewConv(p, filter)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, s.outLen())
		c.Run(got, src, 0, c.Units())
		if !bytes.Equal(got, want) {
			t.Fatalf("%+v: differs at %d", s, firstDiff(got, want))
		}
	})
}

// FuzzDepthwise checks the depthwise kernel against its reference loop.
func FuzzDepthwise(f *testing.F) {
	f.Add([]byte{0, 5, 5, 3, 1, 2, 2, 0, 0, 1}, uint64(1), uint8(0))
	f.Add([]byte{1, 8, 7, 8, 2, 2, 2, 4, 3, 4}, uint64(2), uint8(7))
	f.Fuzz(func(t *testing.T, geo []byte, seed uint64, mode uint8) {
		s, ok := fuzzShape(geo)
		if !ok {
			return
		}
		m := 1 + int(geo[4]%3)
		s.OutC = s.InC * m
		r := rand.New(rand.NewPCG(seed, 2))
		typ := Type(mode % 2)
		p := &DepthwiseParams{ConvParams: *convCase(r, s, typ, typ, typ, mode/2%2 == 1), DepthMultiplier: m}
		if mode/4%2 == 1 {
			withFP32(&p.ConvParams)
		}
		src, filter := randBytes(r, s.inLen()), randBytes(r, s.KH*s.KW*s.OutC)
		want := make([]byte, s.outLen())
		DepthwiseRef(want, src, filter, p)
		d, err := NewDepthwise(p, filter)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, s.outLen())
		d.Run(got, src, 0, d.Units())
		if !bytes.Equal(got, want) {
			t.Fatalf("%+v m=%d: differs at %d", s, m, firstDiff(got, want))
		}
	})
}
