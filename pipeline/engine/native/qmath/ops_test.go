package qmath

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// i8 stores int8 values as bytes.
func i8(v ...int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func TestAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tests := []struct {
		name       string
		typ        Type
		s1, s2, so float32
		z1, z2, zo int32
	}{
		{"u8 equal scales", Uint8, 0.1, 0.1, 0.1, 0, 0, 0},
		{"u8 mobilenet-like", Uint8, 0.41, 0.27, 0.52, 122, 130, 127},
		{"i8", Int8, 0.2, 0.35, 0.4, -3, 10, -7},
		{"i8 small ratio", Int8, 0.01, 0.5, 0.6, 0, -128, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := tt.typ.Min(), tt.typ.Max()
			p := NewAddParams(tt.typ, tt.typ, tt.typ, tt.s1, tt.s2, tt.so, tt.z1, tt.z2, tt.zo, lo, hi)
			xp, ok := NewXNNPACKAddParams(tt.typ, tt.typ, tt.typ, tt.s1, tt.s2, tt.so, tt.z1, tt.z2, tt.zo, lo, hi)
			if !ok {
				t.Fatal("XNNPACK rejected the scales")
			}
			a, b := randBytes(r, 4096), randBytes(r, 4096)
			got, gotX := make([]byte, len(a)), make([]byte, len(a))
			Add(got, a, b, &p)
			AddXNNPACK(gotX, a, b, &xp)
			for i := range a {
				real := float64(tt.s1)*float64(tt.typ.Value(a[i])-tt.z1) + float64(tt.s2)*float64(tt.typ.Value(b[i])-tt.z2)
				want := math.Max(float64(lo), math.Min(float64(hi), math.Round(real/float64(tt.so))+float64(tt.zo)))
				for name, g := range map[string][]byte{"tflite": got, "xnnpack": gotX} {
					if d := math.Abs(float64(tt.typ.Value(g[i])) - want); d > 1 {
						t.Fatalf("%s: %d + %d = %d, want ≈%g", name, a[i], b[i], tt.typ.Value(g[i]), want)
					}
				}
			}
		})
	}
	// Equal scales and zero points add exactly.
	p := NewAddParams(Uint8, Uint8, Uint8, 0.5, 0.5, 0.5, 0, 0, 0, 0, 255)
	xp, _ := NewXNNPACKAddParams(Uint8, Uint8, Uint8, 0.5, 0.5, 0.5, 0, 0, 0, 0, 255)
	dst, dstX := make([]byte, 3), make([]byte, 3)
	Add(dst, []byte{1, 100, 200}, []byte{2, 27, 100}, &p)
	AddXNNPACK(dstX, []byte{1, 100, 200}, []byte{2, 27, 100}, &xp)
	if want := []byte{3, 127, 255}; !bytes.Equal(dst, want) || !bytes.Equal(dstX, want) {
		t.Errorf("exact add = %v / %v, want %v", dst, dstX, want)
	}
}

func TestPools(t *testing.T) {
	// One channel, 3×3 input, 2×2 window, stride 2, SAME padding of 0 at
	// the top-left (so the last row/column windows are clipped).
	s := &PoolShape{Batch: 1, InH: 3, InW: 3, C: 1, OutH: 2, OutW: 2, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	tests := []struct {
		name   string
		typ    Type
		in     []byte
		avg    []byte
		maxv   []byte
		lo, hi int32
	}{
		{"u8", Uint8, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, []byte{3, 5, 8, 9}, []byte{5, 6, 8, 9}, 0, 255},
		// (-1-2-4-4)/4 = -2.75 -> -3; (-3-7)/2 = -5; (-7-8)/2 = -7.5 -> -8 (ties away from zero).
		{"i8 negative", Int8, i8(-1, -2, -3, -4, -4, -7, -7, -8, 9), i8(-3, -5, -8, 9), i8(-1, -3, -7, 9), -128, 127},
		{"i8 clamped", Int8, i8(-1, -2, -3, -4, -4, -7, -7, -8, 9), i8(-3, -5, -8, 5), i8(-1, -3, -7, 5), -128, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]byte, 4)
			AveragePool(got, tt.in, tt.typ, s, tt.lo, tt.hi, 0, 1, 0, s.C)
			AveragePool(got, tt.in, tt.typ, s, tt.lo, tt.hi, 1, 2, 0, s.C)
			if !bytes.Equal(got, tt.avg) {
				t.Errorf("AveragePool = %v, want %v", got, tt.avg)
			}
			MaxPool(got, tt.in, tt.typ, s, tt.lo, tt.hi, 0, 2, 0, s.C)
			if !bytes.Equal(got, tt.maxv) {
				t.Errorf("MaxPool = %v, want %v", got, tt.maxv)
			}
		})
	}
}

func TestMean(t *testing.T) {
	// Two channels over four positions: channel 0 = 10,11,12,14 (mean
	// 11.75), channel 1 = 0,0,0,1 (mean 0.25).
	in := []byte{10, 0, 11, 0, 12, 0, 14, 1}
	tests := []struct {
		mode              MeanMode
		inScale, outScale float32
		inZero, outZero   int32
		want              []byte
	}{
		{MeanTruncate, 1, 1, 0, 0, []byte{11, 0}},
		// gemmlowp's double rounding takes 1·0.25 to 1.
		{MeanMultiplier, 1, 1, 0, 0, []byte{12, 1}},
		{MeanIntegerOps, 1, 1, 0, 0, []byte{12, 0}},
		{MeanXNNPACK, 1, 1, 0, 0, []byte{12, 0}},
		// MeanFloat adds 0.5 before rounding: 11.75+0.5 -> 12, 0.25+0.5 -> 1.
		{MeanFloat, 1, 1, 0, 0, []byte{12, 1}},
		// Rescaled: real means 11.75·0.5 and 0.25·0.5 in units of 0.25, zero point 3.
		// XNNPACK rounds half to even (0.5 -> 0), gemmlowp away from zero.
		{MeanXNNPACK, 0.5, 0.25, 0, 3, []byte{27, 3}},
		{MeanMultiplier, 0.5, 0.25, 0, 3, []byte{27, 4}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("mode%d/%g/%g", tt.mode, tt.inScale, tt.outScale), func(t *testing.T) {
			p := &MeanParams{Mode: tt.mode, In: Uint8, Out: Uint8, InScale: tt.inScale, OutScale: tt.outScale,
				InZero: tt.inZero, OutZero: tt.outZero, Outer: 1, Reduce: 4, Inner: 2}
			got := make([]byte, 2)
			if err := Mean(got, in, p); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Mean = %v, want %v", got, tt.want)
			}
		})
	}
	if err := Mean(make([]byte, 1), in, &MeanParams{Outer: 1, Reduce: 4, Inner: 2}); err == nil {
		t.Error("short output accepted")
	}
}

func TestSoftmax(t *testing.T) {
	tests := []struct {
		name     string
		in, out  Type
		src      []byte
		inScale  float32
		outZero  int32
		want     []byte
		tolerate int
	}{
		{"u8 uniform", Uint8, Uint8, []byte{7, 7}, 0.1, 0, []byte{128, 128}, 0},
		{"i8 uniform", Int8, Int8, i8(-5, -5, -5, -5), 0.1, -128, i8(-64, -64, -64, -64), 0},
		{"u8 peaked", Uint8, Uint8, []byte{0, 200}, 0.1, 0, []byte{0, 255}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSoftmax(tt.in, tt.out, tt.inScale, 1, 1.0/256, tt.outZero)
			got := make([]byte, len(tt.src))
			if err := s.Run(got, tt.src, len(tt.src)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Softmax = %v, want %v", got, tt.want)
			}
		})
	}
	// Against float softmax on random rows.
	r := rand.New(rand.NewPCG(7, 8))
	src := randBytes(r, 1001)
	s := NewSoftmax(Uint8, Uint8, 0.09, 1, 1.0/256, 0)
	got := make([]byte, len(src))
	if err := s.Run(got, src, len(src)); err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, b := range src {
		sum += math.Exp(0.09 * float64(b))
	}
	for i, b := range src {
		want := math.Exp(0.09*float64(b)) / sum * 256
		if math.Abs(float64(got[i])-math.Min(want, 255)) > 1 {
			t.Fatalf("p[%d] = %d, want ≈%g", i, got[i], want)
		}
	}
	if err := s.Run(got, src, 6); err == nil {
		t.Error("ragged rows accepted")
	}
}

func TestQuantizeRoundTrip(t *testing.T) {
	src := []float32{-1, -0.5, 0, 0.25, 0.5, 127.0 / 128, 2}
	for _, typ := range []Type{Uint8, Int8} {
		t.Run(typ.String(), func(t *testing.T) {
			zero := int32(128) + typ.Min()
			q := make([]byte, len(src))
			Quantize(q, src, typ, 1.0/128, zero)
			back := make([]float32, len(src))
			Dequantize(back, q, typ, 1.0/128, zero)
			for i, x := range src {
				want := min(max(x, -1), 127.0/128)
				if back[i] != want {
					t.Errorf("%g -> %d -> %g, want %g", x, typ.Value(q[i]), back[i], want)
				}
			}
		})
	}
	// Ties round away from zero.
	q := make([]byte, 2)
	Quantize(q, []float32{0.5, -0.5}, Int8, 1, 0)
	if int8(q[0]) != 1 || int8(q[1]) != -1 {
		t.Errorf("ties: %d %d", int8(q[0]), int8(q[1]))
	}
}

func TestRequantize(t *testing.T) {
	// uint8 zero point 128 to int8 zero point 0 at the same scale is a flip
	// of the top bit (the TF2 PTQ model's input QUANTIZE).
	r := rand.New(rand.NewPCG(9, 10))
	src := randBytes(r, 256)
	p := NewRequantizeParams(Uint8, Int8, 0.5, 0.5, 128, 0)
	got := make([]byte, len(src))
	Requantize(got, src, &p)
	for i, b := range src {
		if got[i] != b^0x80 {
			t.Fatalf("%d -> %d, want %d", b, int8(got[i]), int8(b^0x80))
		}
	}
	// Halving the scale doubles the values (and clamps).
	p = NewRequantizeParams(Int8, Int8, 0.5, 0.25, 0, 0)
	got = make([]byte, 3)
	Requantize(got, i8(3, -70, 100), &p)
	if !bytes.Equal(got, i8(6, -128, 127)) {
		t.Errorf("Requantize = %v", got)
	}
}

func TestRelu(t *testing.T) {
	lo, hi, _ := ActivationRange(ActRelu6, Uint8, 0.05, 10)
	p := &ReluParams{T: Uint8, InZero: 10, OutZero: 10, Mult: QuantizeMultiplier(1), Lo: lo, Hi: hi}
	got := make([]byte, 4)
	Relu(got, []byte{0, 10, 100, 250}, p)
	if want := []byte{10, 10, 100, 130}; !bytes.Equal(got, want) {
		t.Errorf("Relu6 = %v, want %v", got, want)
	}
	Clamp(got, []byte{0, 10, 100, 250}, Uint8, 10, 130)
	if want := []byte{10, 10, 100, 130}; !bytes.Equal(got, want) {
		t.Errorf("Clamp = %v, want %v", got, want)
	}
}

// TestAddXNNPACKExact holds AddXNNPACK (its vector kernel, then the table
// loop for the tail) to XNNPACK's arithmetic written out element by
// element, over random scales, zero points, clamps and lengths.
func TestAddXNNPACKExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 200 {
		typ := Type(i % 2)
		s1, s2, so := 0.01+r.Float32(), 0.01+r.Float32(), 0.01+r.Float32()
		z1, z2, zo := randZero(r, typ), randZero(r, typ), randZero(r, typ)
		lo := typ.Min() + int32(r.IntN(40))
		hi := typ.Max() - int32(r.IntN(40))
		p, ok := NewXNNPACKAddParams(typ, typ, typ, s1, s2, so, z1, z2, zo, lo, hi)
		if !ok {
			continue
		}
		n := r.IntN(300)
		a, b := randBytes(r, n), randBytes(r, n)
		got := make([]byte, n)
		AddXNNPACK(got, a, b, &p)
		round := int32(1) << (p.Shift - 1)
		for j := range n {
			acc := p.M1*(typ.Value(a[j])-z1) + p.M2*(typ.Value(b[j])-z2)
			want := typ.Byte(clamp((acc+round)>>p.Shift+zo, lo, hi))
			if got[j] != want {
				t.Fatalf("case %d (%s, n %d): element %d: %d + %d = %d, want %d", i, typ, n, j, a[j], b[j], got[j], want)
			}
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	for _, n := range []int{1 << 12, 1 << 16, 1 << 18} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			x, y, dst := randBytes(r, n), randBytes(r, n), make([]byte, n)
			p, _ := NewXNNPACKAddParams(Int8, Int8, Int8, 0.2, 0.3, 0.4, 1, 2, 3, -128, 127)
			b.SetBytes(int64(n))
			for b.Loop() {
				AddXNNPACK(dst, x, y, &p)
			}
		})
	}
}

func TestConcat(t *testing.T) {
	// Two inputs along the last axis, two outer rows; the second input is
	// requantized from scale 0.5 zero 10 to the output's scale 0.25 zero 0.
	c, err := NewConcat(Uint8, 0.25, 0, 2, []ConcatInput{
		{Type: Uint8, Scale: 0.25, Zero: 0, Size: 2},
		{Type: Uint8, Scale: 0.5, Zero: 10, Size: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 6)
	c.Run(dst, [][]byte{{1, 2, 3, 4}, {12, 0}})
	if want := []byte{1, 2, 4, 3, 4, 0}; !bytes.Equal(dst, want) {
		t.Errorf("Concat = %v, want %v", dst, want)
	}
	if _, err := NewConcat(Uint8, 1, 0, 1, []ConcatInput{{Type: Int8, Scale: 2, Size: 1}}); err == nil {
		t.Error("mixed types with requantization accepted")
	}
}

func TestLUT(t *testing.T) {
	// int8 logistic with TFLite's usual output quantization 1/256, -128.
	l := NewLUT(Int8, Int8, 0.1, 0, 1.0/256, -128, Logistic)
	dst := make([]byte, 3)
	l.Run(dst, i8(0, 127, -128))
	// σ(0)=0.5 -> 128-128 = 0; σ(12.7)≈1 -> clamps at 127; σ(-12.8)≈3e-6 -> -128.
	if !bytes.Equal(dst, i8(0, 127, -128)) {
		t.Errorf("logistic = %v", dst)
	}
	h := NewLUT(Uint8, Uint8, 0.05, 100, 0.05, 100, HardSwish)
	h.Run(dst, []byte{100, 160, 0})
	// x=0 -> 0; x=3 -> 3 (60 steps); x=-5 -> 0.
	if !bytes.Equal(dst, []byte{100, 160, 100}) {
		t.Errorf("hard swish = %v", dst)
	}
}

func TestMul(t *testing.T) {
	p := &MulParams{In1: Int8, In2: Int8, Out: Int8, In1Zero: 1, In2Zero: -2, OutZero: 3, Scale: 0.5, Lo: -128, Hi: 127}
	dst := make([]byte, 3)
	Mul(dst, i8(3, -1, 100), i8(1, 3, 100), p)
	// (2·3)/2+3 = 6; (-2·5)/2+3 = -2; 99·102/2 saturates.
	if !bytes.Equal(dst, i8(6, -2, 127)) {
		t.Errorf("Mul = %v", dst)
	}
}

func TestSoftmaxFixed(t *testing.T) {
	// The fixed-point and float-table softmaxes agree within a unit or two.
	r := rand.New(rand.NewPCG(13, 14))
	for _, tt := range []struct {
		typ   Type
		scale float32
		zero  int32
	}{{Uint8, 0.0989, 0}, {Int8, 0.0634, -128}, {Uint8, 0.02, 0}} {
		src := randBytes(r, 1001)
		a, b := make([]byte, len(src)), make([]byte, len(src))
		if err := NewSoftmax(tt.typ, tt.typ, tt.scale, 1, 1.0/256, tt.zero).Run(a, src, len(src)); err != nil {
			t.Fatal(err)
		}
		if err := NewSoftmaxFixed(tt.typ, tt.typ, tt.scale, 1, tt.zero).Run(b, src, len(src)); err != nil {
			t.Fatal(err)
		}
		worst := 0
		for i := range a {
			d := int(tt.typ.Value(a[i])) - int(tt.typ.Value(b[i]))
			worst = max(worst, d, -d)
		}
		if worst > 2 {
			t.Errorf("%s scale %g: fixed-point and table softmax differ by %d", tt.typ, tt.scale, worst)
		}
	}
	// exp(0) = 1 and exp of the most negative input is ~0.
	if got := expOnNegative(0); got != math.MaxInt32 {
		t.Errorf("exp(0) = %d", got)
	}
	if got := float64(expOnNegative(-1<<26)) / (1 << 31); math.Abs(got-math.Exp(-1)) > 1e-6 {
		t.Errorf("exp(-1) = %g", got)
	}
	if got := float64(oneOverOnePlusX(1<<30)) / (1 << 31); math.Abs(got-1/1.5) > 1e-6 {
		t.Errorf("1/(1+0.5) = %g", got)
	}
}

func TestQuantizeXNNPACK(t *testing.T) {
	// Ties round to even, unlike Quantize.
	src := []float32{0.5, 1.5, -0.5, -2.5, 1000, float32(math.NaN())}
	got, ref := make([]byte, len(src)), make([]byte, len(src))
	QuantizeXNNPACK(got, src, Int8, 1, 0)
	Quantize(ref[:5], src[:5], Int8, 1, 0)
	if !bytes.Equal(got, i8(0, 2, 0, -2, 127, -128)) {
		t.Errorf("QuantizeXNNPACK = %v", got)
	}
	if !bytes.Equal(ref[:5], i8(1, 2, -1, -3, 127)) {
		t.Errorf("Quantize = %v", ref[:5])
	}
	f := make([]float32, 2)
	DequantizeXNNPACK(f, i8(5, -3), Int8, 0.5, 1)
	if f[0] != 2 || f[1] != -2 {
		t.Errorf("DequantizeXNNPACK = %v", f)
	}
}

func TestMeanModeFor(t *testing.T) {
	tests := []struct {
		hw, same bool
		want     MeanMode
	}{
		{true, true, MeanMultiplier}, {true, false, MeanMultiplier},
		{false, true, MeanTruncate}, {false, false, MeanFloat},
	}
	for _, tt := range tests {
		if got := MeanModeFor(tt.hw, tt.same); got != tt.want {
			t.Errorf("MeanModeFor(%v, %v) = %d, want %d", tt.hw, tt.same, got, tt.want)
		}
	}
}
