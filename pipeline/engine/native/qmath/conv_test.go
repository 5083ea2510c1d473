package qmath

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/cputime"
)

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

func randZero(r *rand.Rand, t Type) int32 {
	return t.Min() + int32(r.IntN(256))
}

// convCase builds random parameters for shape s.
func convCase(r *rand.Rand, s ConvShape, in, filt, out Type, perChannel bool) *ConvParams {
	p := &ConvParams{Shape: s, In: in, Filter: filt, Out: out,
		InZero: randZero(r, in), OutZero: randZero(r, out)}
	n := 1
	if perChannel {
		n = s.OutC
	}
	for range n {
		if perChannel {
			p.FilterZero = append(p.FilterZero, 0)
		} else {
			p.FilterZero = append(p.FilterZero, randZero(r, filt))
		}
		p.Mult = append(p.Mult, QuantizeMultiplier(0.0005+r.Float64()*0.004))
	}
	p.Bias = make([]int32, s.OutC)
	for i := range p.Bias {
		p.Bias[i] = int32(r.IntN(20001) - 10000)
	}
	p.Lo, p.Hi = out.Min()+int32(r.IntN(20)), out.Max()-int32(r.IntN(20))
	return p
}

// withFP32 switches p to XNNPACK's float requantization.
func withFP32(p *ConvParams) {
	p.Scale = nil
	for _, m := range p.Mult {
		p.Scale = append(p.Scale, float32(m.Float()))
	}
}

func outSize(in, k, stride, dil, pad int) int { return (in+2*pad-dil*(k-1)-1)/stride + 1 }

func TestConv(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type tc struct {
		name                           string
		b, h, w, c, oc, kh, kw, st, dl int
		pad                            int
		in, filt                       Type
		perCh                          bool
	}
	tests := []tc{
		{"1x1 u8", 1, 5, 7, 16, 24, 1, 1, 1, 1, 0, Uint8, Uint8, false},
		{"1x1 i8 perch", 1, 5, 7, 16, 24, 1, 1, 1, 1, 0, Int8, Int8, true},
		{"1x1 odd channels", 2, 3, 3, 5, 7, 1, 1, 1, 1, 0, Uint8, Uint8, false},
		{"3x3 s2 pad u8", 1, 9, 8, 3, 32, 3, 3, 2, 1, 1, Uint8, Uint8, false},
		{"3x3 s1 pad i8", 1, 6, 6, 8, 6, 3, 3, 1, 1, 1, Int8, Int8, true},
		{"3x3 dilated", 1, 9, 9, 4, 5, 3, 3, 1, 2, 2, Int8, Int8, true},
		{"5x3 s2 nopad", 1, 11, 9, 3, 9, 5, 3, 2, 1, 0, Uint8, Uint8, false},
		{"1x1 strided", 1, 8, 8, 4, 4, 1, 1, 2, 1, 0, Uint8, Uint8, false},
		{"long k", 1, 2, 3, kChunk + 300, 6, 1, 1, 1, 1, 0, Int8, Int8, true},
		{"fc", 3, 1, 1, 100, 10, 1, 1, 1, 1, 0, Int8, Int8, false},
		{"1x1 many channels", 1, 3, 5, 64, 41, 1, 1, 1, 1, 0, Uint8, Uint8, true},
		{"3x3 s2 u8 wide", 1, 7, 7, 3, 48, 3, 3, 2, 1, 1, Uint8, Uint8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ConvShape{Batch: tt.b, InH: tt.h, InW: tt.w, InC: tt.c, OutC: tt.oc, KH: tt.kh, KW: tt.kw,
				StrideH: tt.st, StrideW: tt.st, DilationH: tt.dl, DilationW: tt.dl, PadTop: tt.pad, PadLeft: tt.pad}
			s.OutH = outSize(tt.h, tt.kh, tt.st, tt.dl, tt.pad)
			s.OutW = outSize(tt.w, tt.kw, tt.st, tt.dl, tt.pad)
			for _, mode := range []struct {
				out  Type
				fp32 bool
			}{{Uint8, false}, {Int8, false}, {Uint8, true}, {Int8, true}} {
				out := mode.out
				p := convCase(r, s, tt.in, tt.filt, out, tt.perCh)
				if mode.fp32 {
					withFP32(p)
				}
				src := randBytes(r, s.inLen())
				filter := randBytes(r, s.filterLen())
				want := make([]byte, s.outLen())
				ConvRef(want, src, filter, p)
				for _, dot := range Dots() {
					p.Dot = dot
					c, err := NewConv(p, filter)
					if err != nil {
						t.Fatal(err)
					}
					got := make([]byte, s.outLen())
					// In two parts, as the worker pool would.
					half := c.Units() / 2
					c.Run(got, src, 0, half)
					c.Run(got, src, half, c.Units())
					if !bytes.Equal(got, want) {
						t.Fatalf("%s: out %s fp32 %v: fast conv differs from reference at %d", dot, out, mode.fp32, firstDiff(got, want))
					}
					// In pixel × channel-group pieces: odd pixel ranges
					// and every group on its own.
					clear(got)
					for g := range c.Groups() {
						for lo := 0; lo < c.Units(); lo += 3 {
							c.RunGroups(got, src, lo, min(lo+3, c.Units()), g, g+1)
						}
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%s: out %s fp32 %v: conv by groups differs from reference at %d", dot, out, mode.fp32, firstDiff(got, want))
					}
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestConvErrors(t *testing.T) {
	s := ConvShape{Batch: 1, InH: 1, InW: 1, InC: 2, OutH: 1, OutW: 1, OutC: 2, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}
	ok := ConvParams{Shape: s, FilterZero: []int32{0}, Mult: []Multiplier{{M: 1 << 30}}, Lo: 0, Hi: 255}
	tests := []struct {
		name   string
		mod    func(p *ConvParams)
		filter int
	}{
		{"filter size", func(p *ConvParams) {}, 3},
		{"zero points", func(p *ConvParams) { p.FilterZero = []int32{0, 0, 0} }, 4},
		{"multipliers", func(p *ConvParams) { p.Mult = nil }, 4},
		{"bias", func(p *ConvParams) { p.Bias = []int32{1} }, 4},
		{"clamp", func(p *ConvParams) { p.Hi = 300 }, 4},
		{"shape", func(p *ConvParams) { p.Shape.StrideH = 0 }, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.mod(&p)
			if _, err := NewConv(&p, make([]byte, tt.filter)); err == nil {
				t.Error("no error")
			}
		})
	}
}

// reportCPU reports the CPU time per iteration since t0 (with the default
// -cpu 1 single-threaded kernels this is the kernel's own cost).
func reportCPU(b *testing.B, t0 time.Duration) {
	if d := cputime.Process() - t0; d > 0 && b.N > 0 {
		b.ReportMetric(float64(d.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
	}
}

func BenchmarkConv1x1(b *testing.B) {
	for _, sz := range []struct{ hw, c, oc int }{{56, 24, 144}, {28, 32, 192}, {14, 96, 576}, {7, 320, 1280}} {
		b.Run(fmt.Sprintf("%dx%dx%d-%d", sz.hw, sz.hw, sz.c, sz.oc), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			s := ConvShape{Batch: 1, InH: sz.hw, InW: sz.hw, InC: sz.c, OutH: sz.hw, OutW: sz.hw, OutC: sz.oc,
				KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}
			p := convCase(r, s, Int8, Int8, Int8, true)
			withFP32(p)
			c, err := NewConv(p, randBytes(r, s.filterLen()))
			if err != nil {
				b.Fatal(err)
			}
			src, dst := randBytes(r, s.inLen()), make([]byte, s.outLen())
			b.SetBytes(int64(s.OutH * s.OutW * s.OutC * s.InC)) // MACs, reported as "MB/s"
			b.ReportAllocs()
			defer reportCPU(b, cputime.Process())
			for b.Loop() {
				c.Run(dst, src, 0, c.Units())
			}
		})
	}
}

func BenchmarkConv3x3(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	s := ConvShape{Batch: 1, InH: 224, InW: 224, InC: 3, OutH: 112, OutW: 112, OutC: 32,
		KH: 3, KW: 3, StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1}
	p := convCase(r, s, Uint8, Uint8, Uint8, false)
	withFP32(p)
	c, err := NewConv(p, randBytes(r, s.filterLen()))
	if err != nil {
		b.Fatal(err)
	}
	src, dst := randBytes(r, s.inLen()), make([]byte, s.outLen())
	b.SetBytes(int64(s.OutH * s.OutW * s.OutC * 27))
	b.ReportAllocs()
	defer reportCPU(b, cputime.Process())
	for b.Loop() {
		c.Run(dst, src, 0, c.Units())
	}
}
