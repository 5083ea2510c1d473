package qmath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ConvShape is the geometry of a 2-D convolution over an NHWC input with an
// OHWI filter ([OutC, KH, KW, InC]). A fully connected layer is the 1×1
// case with InH = InW = OutH = OutW = 1.
type ConvShape struct {
	Batch, InH, InW, InC int
	OutH, OutW, OutC     int
	KH, KW               int
	StrideH, StrideW     int
	DilationH, DilationW int
	PadTop, PadLeft      int // the TFLite padding offsets (SAME: computed, VALID: 0)
}

func (s ConvShape) check() error {
	if s.Batch < 1 || s.InH < 1 || s.InW < 1 || s.InC < 1 || s.OutH < 1 || s.OutW < 1 || s.OutC < 1 ||
		s.KH < 1 || s.KW < 1 || s.StrideH < 1 || s.StrideW < 1 || s.DilationH < 1 || s.DilationW < 1 ||
		s.PadTop < 0 || s.PadLeft < 0 {
		return fmt.Errorf("qmath: bad conv shape %+v", s)
	}
	return nil
}

// inLen, outLen and filterLen are the element counts of the operands.
func (s ConvShape) inLen() int     { return s.Batch * s.InH * s.InW * s.InC }
func (s ConvShape) outLen() int    { return s.Batch * s.OutH * s.OutW * s.OutC }
func (s ConvShape) filterLen() int { return s.OutC * s.KH * s.KW * s.InC }

// ConvParams are the quantization parameters of CONV_2D and
// FULLY_CONNECTED, as TFLite's Prepare computes them.
type ConvParams struct {
	Shape ConvShape
	// In, Filter and Out are the operand types.
	In, Filter, Out Type
	InZero, OutZero int32
	// FilterZero has one zero point (per-tensor) or OutC (per-channel).
	FilterZero []int32
	// Mult has one multiplier (per-tensor) or OutC (per-channel):
	// inScale·filterScale[c]/outScale, as QuantizeMultiplier encodes it.
	Mult []Multiplier
	// Bias is nil or OutC int32 values.
	Bias []int32
	// Lo and Hi are the clamp range in Out's units (ActivationRange).
	Lo, Hi int32
	// Scale, when set (one per Mult), switches requantization to XNNPACK's
	// fp32 form: round-half-even(float32(acc)·Scale[c]) + OutZero, with
	// Scale = inScale·filterScale/outScale in float32 (XNNPACKScale).
	Scale []float32
	// Dot picks the dot-product kernel (DotAuto: the fastest this CPU
	// runs); every kernel gives the same bytes.
	Dot Dot
}

func (p *ConvParams) check(filter []byte) error {
	s := p.Shape
	if err := s.check(); err != nil {
		return err
	}
	if len(filter) != s.filterLen() {
		return fmt.Errorf("qmath: conv filter has %d bytes, want %d", len(filter), s.filterLen())
	}
	if n := len(p.FilterZero); n != 1 && n != s.OutC {
		return fmt.Errorf("qmath: conv has %d filter zero points for %d channels", n, s.OutC)
	}
	if n := len(p.Mult); n != 1 && n != s.OutC {
		return fmt.Errorf("qmath: conv has %d multipliers for %d channels", n, s.OutC)
	}
	if p.Bias != nil && len(p.Bias) != s.OutC {
		return fmt.Errorf("qmath: conv has %d biases for %d channels", len(p.Bias), s.OutC)
	}
	if p.Lo > p.Hi || p.Lo < p.Out.Min() || p.Hi > p.Out.Max() {
		return fmt.Errorf("qmath: conv clamp range [%d, %d] outside %s", p.Lo, p.Hi, p.Out)
	}
	if p.Scale != nil && len(p.Scale) != len(p.Mult) {
		return fmt.Errorf("qmath: conv has %d fp32 scales for %d multipliers", len(p.Scale), len(p.Mult))
	}
	if p.Dot != DotAuto && !slices.Contains(Dots(), p.Dot) {
		return fmt.Errorf("qmath: dot-product kernel %s not available on this CPU (have %v)", p.Dot, Dots())
	}
	return nil
}

// dot is the kernel p.Dot selects on this CPU.
func (p *ConvParams) dot() Dot {
	if p.Dot == DotAuto {
		return Dots()[0]
	}
	return p.Dot
}

// requant maps accumulator acc of channel c to the clamped output.
func (p *ConvParams) requant(acc int32, c int) int32 {
	if p.Scale != nil {
		s := p.Scale[0]
		if len(p.Scale) > 1 {
			s = p.Scale[c]
		}
		return fp32Quant(acc, s, p.OutZero, p.Lo, p.Hi)
	}
	return clamp(p.mult(c).Mul(acc)+p.OutZero, p.Lo, p.Hi)
}

// fp32Quant is XNNPACK's fp32 requantization: the accumulator converted to
// float32 and multiplied by the scale in float32, clamped to [lo-zero,
// hi-zero], rounded half to even by adding the magic number 1.5·2^23, then
// offset by the zero point.
func fp32Quant(acc int32, scale float32, zero, lo, hi int32) int32 {
	const magic = 12582912.0 // 1.5·2^23
	f := float32(float32(acc) * scale)
	if f > -(1<<22) && f < 1<<22 {
		// Rounding commutes with clamping to integer bounds, so round
		// first and clamp branch-free in the integer domain.
		q := int32(math.Float32bits(f+magic)) - 0x4B400000
		return min(max(q, lo-zero), hi-zero) + zero
	}
	return fp32QuantF(f, zero, lo, hi)
}

// fp32QuantF rounds a scaled value as fp32Quant does. NaN maps to lo.
func fp32QuantF(f float32, zero, lo, hi int32) int32 {
	const magic = 12582912.0 // 1.5·2^23
	if f != f {
		f = float32(lo - zero)
	}
	f = min(max(f, float32(lo-zero)), float32(hi-zero))
	return int32(math.Float32bits(f+magic)) - 0x4B400000 + zero
}

// XNNPACKScale is the requantization scale XNNPACK computes in float32.
func XNNPACKScale(inScale, filterScale, outScale float32) float32 {
	return float32(inScale*filterScale) / outScale
}

func (p *ConvParams) filterZero(c int) int32 {
	if len(p.FilterZero) == 1 {
		return p.FilterZero[0]
	}
	return p.FilterZero[c]
}

func (p *ConvParams) mult(c int) Multiplier {
	if len(p.Mult) == 1 {
		return p.Mult[0]
	}
	return p.Mult[c]
}

// ConvRef is the plain reference loop of TFLite's quantized CONV_2D
// (reference_ops::Conv for uint8, reference_integer_ops::ConvPerChannel
// for int8): taps outside the input are skipped.
func ConvRef(dst, src, filter []byte, p *ConvParams) {
	s := p.Shape
	for b := 0; b < s.Batch; b++ {
		for oy := 0; oy < s.OutH; oy++ {
			for ox := 0; ox < s.OutW; ox++ {
				for oc := 0; oc < s.OutC; oc++ {
					var acc int32
					for ky := 0; ky < s.KH; ky++ {
						iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
						if iy < 0 || iy >= s.InH {
							continue
						}
						for kx := 0; kx < s.KW; kx++ {
							ix := ox*s.StrideW - s.PadLeft + kx*s.DilationW
							if ix < 0 || ix >= s.InW {
								continue
							}
							for ic := 0; ic < s.InC; ic++ {
								x := p.In.Value(src[((b*s.InH+iy)*s.InW+ix)*s.InC+ic]) - p.InZero
								w := p.Filter.Value(filter[((oc*s.KH+ky)*s.KW+kx)*s.InC+ic]) - p.filterZero(oc)
								acc += x * w
							}
						}
					}
					if p.Bias != nil {
						acc += p.Bias[oc]
					}
					dst[((b*s.OutH+oy)*s.OutW+ox)*s.OutC+oc] = p.Out.Byte(p.requant(acc, oc))
				}
			}
		}
	}
}

// Conv is a prepared quantized convolution (or fully connected layer):
// weights packed for the integer GEMM, zero-point terms folded into the
// bias, multipliers expanded per channel.
type Conv struct {
	s        ConvShape
	k        int         // InC·KH·KW, the dot-product length
	groups   int         // output channels in groups of 4
	packed   [][2]uint64 // SWAR panels, when dot is nil
	dot      []int16     // 16-bit pair panels for the vector tile (packDot), or nil
	quad     []int8      // 8-bit quad panels for the VNNI tile (packQuads), or nil
	udot     []byte      // byte quad panels for the arm64 UDOT tile (packUDOT), or nil
	mlal     []uint16    // 16-bit panels for the arm64 UMLAL tile (packMLAL), or nil
	kPad     int         // k rounded up to the UDOT or UMLAL step
	zwQ      []int32     // zwU-128 per channel, padded to whole tiles (quad only)
	bfQ      []int32     // biasFold padded likewise
	scaleQ   []float32   // fscale padded likewise
	zwU      []int32     // filter zero point per channel, unsigned domain
	biasFold []int32     // bias - zxU·Σw + k·zxU·zwU per channel
	mult     []Multiplier
	fscale   []float32 // per channel when requantizing in fp32, else nil
	zxU      byte
	flipIn   byte
	flipOut  byte
	zoU      int32 // output zero point, unsigned domain
	loU, hiU int32
	oneByOne bool // 1×1, stride 1, no padding: rows are input pixels
}

// maxGEMMK bounds the dot-product length so that two 32-bit lanes of one
// uint64 accumulate 255·255·k without carrying into each other.
const maxGEMMK = (1<<32 - 1) / (255 * 255)

// ErrTooDeep reports a dot product longer than the integer GEMM can
// accumulate exactly.
var ErrTooDeep = errors.New("qmath: dot product too long for the integer GEMM")

// NewConv prepares a convolution from its constant filter (OHWI bytes).
func NewConv(p *ConvParams, filter []byte) (*Conv, error) {
	if err := p.check(filter); err != nil {
		return nil, err
	}
	s := p.Shape
	k := s.KH * s.KW * s.InC
	if k > maxGEMMK {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooDeep, k, maxGEMMK)
	}
	c := &Conv{
		s:        s,
		k:        k,
		groups:   (s.OutC + 3) / 4,
		zwU:      make([]int32, s.OutC),
		biasFold: make([]int32, s.OutC),
		mult:     make([]Multiplier, s.OutC),
		zxU:      byte(p.InZero + p.In.offset()),
		flipIn:   p.In.flip(),
		flipOut:  p.Out.flip(),
		zoU:      p.OutZero + p.Out.offset(),
		loU:      p.Lo + p.Out.offset(),
		hiU:      p.Hi + p.Out.offset(),
		oneByOne: s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadTop == 0 && s.PadLeft == 0 && s.InH == s.OutH && s.InW == s.OutW,
	}
	zxU := int64(c.zxU)
	fflip := p.Filter.flip()
	dot := p.dot()
	switch {
	case dot == DotQuads && p.Scale != nil && k <= kChunk && k <= maxDotK:
		c.quad = packQuads(filter, s.OutC, k, fflip)
	case dot == DotUDOT && k <= kChunk && k <= maxDotK:
		c.udot = packUDOT(filter, s.OutC, k, fflip)
		c.kPad = (k + udotStep - 1) / udotStep * udotStep
	case dot == DotMLAL && k <= kChunk && k <= maxDotK:
		c.mlal = packMLAL(filter, s.OutC, k, fflip)
		c.kPad = (k + mlalStep - 1) / mlalStep * mlalStep
	case dot != DotSWAR && k <= kChunk && k <= maxDotK:
		c.dot = packDot(filter, s.OutC, k, fflip)
	default:
		c.packed = make([][2]uint64, c.groups*k)
	}
	for oc := 0; oc < s.OutC; oc++ {
		zw := int64(p.filterZero(oc) + p.Filter.offset())
		row := filter[oc*k : (oc+1)*k]
		var sum int64
		g, lane := oc/4, oc%4
		for kk, b := range row {
			w := uint64(b ^ fflip)
			sum += int64(w)
			if c.packed != nil {
				c.packed[g*k+kk][lane/2] |= w << (32 * (lane % 2))
			}
		}
		var bias int64
		if p.Bias != nil {
			bias = int64(p.Bias[oc])
		}
		c.zwU[oc] = int32(zw)
		c.biasFold[oc] = int32(bias - zxU*sum + int64(k)*zxU*zw)
		c.mult[oc] = p.mult(oc)
		if p.Scale != nil {
			if c.fscale == nil {
				c.fscale = make([]float32, s.OutC)
			}
			c.fscale[oc] = p.Scale[min(oc, len(p.Scale)-1)]
		}
	}
	if c.quad != nil {
		n := (s.OutC + quadCols - 1) / quadCols * quadCols
		c.zwQ, c.bfQ, c.scaleQ = make([]int32, n), make([]int32, n), make([]float32, n)
		for oc := 0; oc < s.OutC; oc++ {
			c.zwQ[oc] = c.zwU[oc] - 128
		}
		copy(c.bfQ, c.biasFold)
		copy(c.scaleQ, c.fscale)
	}
	return c, nil
}

// Units is the number of output pixels (Batch·OutH·OutW), the unit of work
// Run splits on.
func (c *Conv) Units() int { return c.s.Batch * c.s.OutH * c.s.OutW }

// Work is the number of multiply-adds of one Run over every unit.
func (c *Conv) Work() int { return c.Units() * c.s.OutC * c.k }

// kChunk is the slice of the dot product gathered at a time (on the stack).
const kChunk = 2048

// Groups is the number of output-channel groups of the kernel this
// convolution runs (16 channels, or 4 in the portable GEMM): the second
// axis RunGroups splits on.
func (c *Conv) Groups() int {
	if c.packed != nil {
		return c.groups
	}
	return (c.s.OutC + dotCols - 1) / dotCols
}

// Run computes output pixels [lo, hi) of dst from src. Disjoint ranges may
// run concurrently. It allocates nothing.
func (c *Conv) Run(dst, src []byte, lo, hi int) { c.RunGroups(dst, src, lo, hi, 0, c.Groups()) }

// RunGroups computes the output channels of groups [g0, g1) (see Groups)
// of output pixels [lo, hi). Disjoint ranges may run concurrently. It
// allocates nothing.
func (c *Conv) RunGroups(dst, src []byte, lo, hi, g0, g1 int) {
	s := &c.s
	// Slicing checks the sizes without touching memory: an index
	// expression here would be a read, under the race detector, of the
	// last output byte while another worker writes it.
	src, dst = src[:s.inLen()], dst[:s.outLen()]
	if lo >= hi || g0 >= g1 {
		return
	}
	if c.quad != nil {
		c.runQuad(dst, src, lo, hi, g0, g1)
		return
	}
	if c.dot != nil {
		c.runDot(dst, src, lo, hi, g0, g1)
		return
	}
	if c.udot != nil || c.mlal != nil {
		c.runNEON(dst, src, lo, hi, g0, g1)
		return
	}
	var rows [4][kChunk]byte
	var acc [8]uint64
	var rowSum [4]int64
	k := c.k
	for p0 := lo; p0 < hi; p0 += 4 {
		var pix [4]int
		for r := range pix {
			pix[r] = min(p0+r, hi-1)
		}
		if k <= kChunk {
			for r := range 4 {
				rowSum[r] = c.gather(rows[r][:k], src, pix[r], 0, k)
			}
			for g := g0; g < g1; g++ {
				acc = [8]uint64{}
				kernel4x4(&acc, rows[0][:k], rows[1][:k], rows[2][:k], rows[3][:k], c.packed[g*k:(g+1)*k])
				c.store(dst, &acc, &rowSum, &pix, p0, hi, g)
			}
			continue
		}
		// Long dot products: gather chunk by chunk for every group.
		for g := g0; g < g1; g++ {
			acc = [8]uint64{}
			rowSum = [4]int64{}
			for k0 := 0; k0 < k; k0 += kChunk {
				k1 := min(k0+kChunk, k)
				n := k1 - k0
				for r := range 4 {
					rowSum[r] += c.gather(rows[r][:n], src, pix[r], k0, k1)
				}
				kernel4x4(&acc, rows[0][:n], rows[1][:n], rows[2][:n], rows[3][:n], c.packed[g*k+k0:g*k+k1])
			}
			c.store(dst, &acc, &rowSum, &pix, p0, hi, g)
		}
	}
}

// runQuad is Run on the VNNI tile (4 pixels × 16 channels), which
// requantizes and stores the bytes itself.
func (c *Conv) runQuad(dst, src []byte, lo, hi, g0, g1 int) {
	var rows [4][kChunk]byte
	k := c.k
	kq := (k + 3) / 4
	oc := c.s.OutC
	t := quadTile{zero: c.zoU, lo: float32(c.loU - c.zoU), hi: float32(c.hiU - c.zoU), flip: int32(c.flipOut)}
	// A 1×1 convolution of unsigned bytes whose rows are whole quads
	// reads its rows in place.
	direct := c.oneByOne && c.flipIn == 0 && k%4 == 0
	// The coordinates of pixel lo, then stepped along (no division per
	// pixel).
	s := &c.s
	ox, oy, b := lo%s.OutW, (lo/s.OutW)%s.OutH, lo/(s.OutW*s.OutH)
	var pix [4]int
	for p0 := lo; p0 < hi; p0 += 4 {
		for r := range pix {
			// Rows past hi repeat the last one: the same bytes stored twice.
			pix[r] = min(p0+r, hi-1)
			if direct {
				row := src[pix[r]*k : pix[r]*k+k]
				t.rowSum[r] = int32(sumBytes(row))
				t.a[r] = &row[0]
				continue
			}
			if p0+r < hi {
				t.rowSum[r] = int32(c.gatherAt(rows[r][:k], src, pix[r], b, oy, ox))
				clear(rows[r][k : 4*kq])
				if ox++; ox == s.OutW {
					ox = 0
					if oy++; oy == s.OutH {
						oy = 0
						b++
					}
				}
			} else {
				t.rowSum[r] = t.rowSum[r-1]
				copy(rows[r][:4*kq], rows[r-1][:4*kq])
			}
			t.a[r] = &rows[r][0]
		}
		// Groups [g0, g1) in one call: outputs, zw, bf and scale start
		// at channel c0 and step 16 per group; the mask is the last's.
		c0 := g0 * quadCols
		for r, px := range pix {
			t.out[r] = &dst[px*oc+c0 : px*oc+oc][0]
		}
		t.zw, t.bf, t.scale = &c.zwQ[c0], &c.bfQ[c0], &c.scaleQ[c0]
		_, _, _ = c.zwQ[g1*quadCols-1], c.bfQ[g1*quadCols-1], c.scaleQ[g1*quadCols-1]
		t.mask = 1<<min(quadCols, oc-(g1-1)*quadCols) - 1
		quad4x16n(&t, c.quad[g0*kq*quadCols*4:g1*kq*quadCols*4], kq, g1-g0)
	}
}

// runDot is Run on the 16-bit vector tile (4 pixels × 16 channels).
func (c *Conv) runDot(dst, src []byte, lo, hi, g0, g1 int) {
	var rows [4][kChunk]byte
	var pairs [4][kChunk / 2]uint32
	var acc [64]int32
	var rowSum [4]int64
	k := c.k
	kp := (k + 1) / 2
	for p0 := lo; p0 < hi; p0 += 4 {
		var pix [4]int
		for r := range pix {
			pix[r] = min(p0+r, hi-1)
			rowSum[r] = c.gather(rows[r][:k], src, pix[r], 0, k)
			pairRow(pairs[r][:kp], rows[r][:k])
		}
		for g := g0; g < g1; g++ {
			dot4x16(&acc, pairs[0][:kp], pairs[1][:kp], pairs[2][:kp], pairs[3][:kp], c.dot[g*kp*dotCols*2:(g+1)*kp*dotCols*2])
			c.storeDot(dst, &acc, &rowSum, &pix, p0, hi, g)
		}
	}
}

// runNEON is Run on the arm64 NEON tiles (4 pixels × 16 channels, UDOT
// or UMLAL), whose accumulators storeDot requantizes.
func (c *Conv) runNEON(dst, src []byte, lo, hi, g0, g1 int) {
	var rows [4][kChunk]byte
	var acc [64]int32
	var rowSum [4]int64
	k, kp := c.k, c.kPad
	for p0 := lo; p0 < hi; p0 += 4 {
		var pix [4]int
		for r := range pix {
			pix[r] = min(p0+r, hi-1)
			rowSum[r] = c.gather(rows[r][:k], src, pix[r], 0, k)
			clear(rows[r][k:kp])
		}
		for g := g0; g < g1; g++ {
			if c.udot != nil {
				udot4x16(&acc, &rows, c.udot[g*kp*dotCols:(g+1)*kp*dotCols])
			} else {
				mlal4x16(&acc, &rows, c.mlal[g*kp*dotCols:(g+1)*kp*dotCols])
			}
			c.storeDot(dst, &acc, &rowSum, &pix, p0, hi, g)
		}
	}
}

// storeDot requantizes the 4×16 tile of channel group g (see store).
func (c *Conv) storeDot(dst []byte, acc *[64]int32, rowSum *[4]int64, pix *[4]int, p0, hi, g int) {
	oc := c.s.OutC
	c0 := g * dotCols
	n := min(dotCols, oc-c0)
	zw := c.zwU[c0 : c0+n]
	bf := c.biasFold[c0 : c0+n]
	for r := range 4 {
		if p0+r >= hi {
			break
		}
		out := dst[pix[r]*oc+c0 : pix[r]*oc+c0+n]
		rs := int32(rowSum[r])
		a := acc[r*dotCols : r*dotCols+n]
		if c.fscale != nil && n == dotCols {
			rp := newRequantParams(rs, c.zoU, c.loU, c.hiU)
			var q [16]int32
			requant16(&q, a, zw, bf, c.fscale[c0:c0+n], &rp)
			for j := range out {
				out[j] = byte(q[j]) ^ c.flipOut
			}
			continue
		}
		if c.fscale != nil {
			fs := c.fscale[c0 : c0+n]
			for j := range out {
				v := a[j] - zw[j]*rs + bf[j]
				out[j] = byte(fp32Quant(v, fs[j], c.zoU, c.loU, c.hiU)) ^ c.flipOut
			}
			continue
		}
		for j := range out {
			v := a[j] - zw[j]*rs + bf[j]
			out[j] = byte(clamp(c.mult[c0+j].Mul(v)+c.zoU, c.loU, c.hiU)) ^ c.flipOut
		}
	}
}

// store requantizes the 4×4 tile of group g and writes the rows < hi.
// The zero-point correction runs in wrapping int32 arithmetic: the exact
// result fits in int32, so the wrap-around cancels.
func (c *Conv) store(dst []byte, acc *[8]uint64, rowSum *[4]int64, pix *[4]int, p0, hi, g int) {
	oc := c.s.OutC
	c0 := g * 4
	n := min(4, oc-c0)
	zw := c.zwU[c0 : c0+n]
	bf := c.biasFold[c0 : c0+n]
	for r := range 4 {
		if p0+r >= hi {
			break
		}
		out := dst[pix[r]*oc+c0 : pix[r]*oc+c0+n]
		rs := int32(rowSum[r])
		a0, a1 := acc[2*r], acc[2*r+1]
		lanes := [4]int32{int32(uint32(a0)), int32(uint32(a0 >> 32)), int32(uint32(a1)), int32(uint32(a1 >> 32))}
		if c.fscale != nil {
			fs := c.fscale[c0 : c0+n]
			for j := range out {
				v := lanes[j] - zw[j]*rs + bf[j]
				out[j] = byte(fp32Quant(v, fs[j], c.zoU, c.loU, c.hiU)) ^ c.flipOut
			}
			continue
		}
		for j := range out {
			v := lanes[j] - zw[j]*rs + bf[j]
			out[j] = byte(clamp(c.mult[c0+j].Mul(v)+c.zoU, c.loU, c.hiU)) ^ c.flipOut
		}
	}
}

// gatherAt is gather of the whole row of output pixel pix, whose batch,
// row and column the caller knows.
func (c *Conv) gatherAt(dst, src []byte, pix, b, oy, ox int) int64 {
	s := &c.s
	if c.oneByOne {
		return copyFlip(dst, src[pix*s.InC:pix*s.InC+c.k], c.flipIn)
	}
	if s.DilationW == 1 {
		return c.gatherRows(dst, src, b, oy, ox)
	}
	return c.gather(dst, src, pix, 0, c.k)
}

// gather writes elements [k0, k1) of the im2col row of output pixel pix
// into dst in the unsigned domain (taps outside the input read as the input
// zero point) and returns their sum.
func (c *Conv) gather(dst, src []byte, pix, k0, k1 int) int64 {
	s := &c.s
	if c.oneByOne {
		row := src[pix*s.InC+k0 : pix*s.InC+k1]
		return copyFlip(dst, row, c.flipIn)
	}
	ox := pix % s.OutW
	oy := (pix / s.OutW) % s.OutH
	b := pix / (s.OutW * s.OutH)
	if k0 == 0 && k1 == c.k && s.DilationW == 1 {
		return c.gatherRows(dst, src, b, oy, ox)
	}
	var sum int64
	for k := k0; k < k1; {
		tap, ci := k/s.InC, k%s.InC
		m := min(s.InC-ci, k1-k)
		ky, kx := tap/s.KW, tap%s.KW
		iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
		ix := ox*s.StrideW - s.PadLeft + kx*s.DilationW
		d := dst[k-k0 : k-k0+m]
		if iy < 0 || iy >= s.InH || ix < 0 || ix >= s.InW {
			for i := range d {
				d[i] = c.zxU
			}
			sum += int64(c.zxU) * int64(m)
		} else {
			off := ((b*s.InH+iy)*s.InW+ix)*s.InC + ci
			sum += copyFlip(d, src[off:off+m], c.flipIn)
		}
		k += m
	}
	return sum
}

// gatherRows is gather of a whole im2col row when the filter's columns
// are adjacent input pixels (no horizontal dilation): each filter row is
// one contiguous run of KW·InC input bytes, clipped at the left and right
// edges, where the zero point fills in.
func (c *Conv) gatherRows(dst, src []byte, b, oy, ox int) int64 {
	s := &c.s
	run := s.KW * s.InC
	ix := ox*s.StrideW - s.PadLeft
	left := min(max(-ix, 0), s.KW)                 // columns left of the input
	right := min(max(ix+s.KW-s.InW, 0), s.KW-left) // columns right of it
	var sum int64
	if run <= 16 && s.KH <= 64 && left == 0 && right == 0 && len(dst)+16 <= cap(dst) {
		// Short filter rows (the first layer's 3×3×3): two words each,
		// the bytes past the row written over by the next row (or by
		// the caller's padding), masked out of the sum.
		last := ((b*s.InH+oy*s.StrideH-s.PadTop+(s.KH-1)*s.DilationH)*s.InW+ix)*s.InC + 16
		iy0 := oy*s.StrideH - s.PadTop
		if iy0 >= 0 && iy0+(s.KH-1)*s.DilationH < s.InH && last <= len(src) {
			return c.gatherShort(dst[:cap(dst)], src, ((b*s.InH+iy0)*s.InW+ix)*s.InC, run)
		}
	}
	zeros := int64(c.zxU)
	for ky := 0; ky < s.KH; ky++ {
		d := dst[ky*run : (ky+1)*run]
		iy := oy*s.StrideH - s.PadTop + ky*s.DilationH
		if iy < 0 || iy >= s.InH {
			fillByte(d, c.zxU)
			sum += zeros * int64(run)
			continue
		}
		l, r := left*s.InC, run-right*s.InC
		fillByte(d[:l], c.zxU)
		fillByte(d[r:], c.zxU)
		sum += zeros * int64(l+run-r)
		if l < r {
			off := ((b*s.InH+iy)*s.InW+ix)*s.InC + l
			sum += copyFlip(d[l:r], src[off:off+r-l], c.flipIn)
		}
	}
	return sum
}

// gatherShort is gatherRows for an interior pixel whose filter rows are
// at most 16 bytes: each row is two 8-byte words from src at off, off +
// row stride, ...; dst must have 16 bytes of room past the last row.
func (c *Conv) gatherShort(dst, src []byte, off, run int) int64 {
	s := &c.s
	const lanes = 0x00ff00ff00ff00ff
	f := uint64(c.flipIn) * 0x0101010101010101
	stride := s.DilationH * s.InW * s.InC
	m0, m1 := ^uint64(0), uint64(0)
	if run < 8 {
		m0 = 1<<(8*run) - 1
	} else if run > 8 {
		m1 = 1<<(8*(run-8)) - 1
		if run == 16 {
			m1 = ^uint64(0)
		}
	}
	var acc uint64
	for ky := 0; ky < s.KH; ky++ {
		w0 := binary.LittleEndian.Uint64(src[off:]) ^ f
		w1 := binary.LittleEndian.Uint64(src[off+8:]) ^ f
		o := ky * run
		binary.LittleEndian.PutUint64(dst[o:], w0)
		binary.LittleEndian.PutUint64(dst[o+8:], w1)
		w0 &= m0
		w1 &= m1
		// A lane takes 4·255 per row: KH ≤ 64 rows stay below 2^16.
		acc += w0&lanes + w0>>8&lanes + w1&lanes + w1>>8&lanes
		off += stride
	}
	return int64(acc&0xffff + acc>>16&0xffff + acc>>32&0xffff + acc>>48)
}

// fillByte sets every byte of d to v.
func fillByte(d []byte, v byte) {
	for i := range d {
		d[i] = v
	}
}

// copyFlip copies src to dst XORing every byte with flip and returns the
// sum of the copied bytes. It works on eight bytes at a time: the sum adds
// the even and the odd bytes of each word in 16-bit lanes, emptied before
// they can overflow.
func copyFlip(dst, src []byte, flip byte) int64 {
	dst = dst[:len(src)]
	const lanes = 0x00ff00ff00ff00ff
	f := uint64(flip) * 0x0101010101010101
	var sum uint64
	n := len(src) &^ 7
	for i := 0; i < n; {
		var acc uint64
		// 128 words add at most 2·255·128 < 2^16 to a lane.
		for e := min(n, i+8*128); i < e; i += 8 {
			w := binary.LittleEndian.Uint64(src[i:]) ^ f
			binary.LittleEndian.PutUint64(dst[i:], w)
			acc += w&lanes + w>>8&lanes
		}
		sum += acc&0xffff + acc>>16&0xffff + acc>>32&0xffff + acc>>48
	}
	for i := n; i < len(src); i++ {
		b := src[i] ^ flip
		dst[i] = b
		sum += uint64(b)
	}
	return int64(sum)
}

// sumBytes is the sum of the bytes of b (copyFlip's sum without the copy).
func sumBytes(b []byte) int64 {
	const lanes = 0x00ff00ff00ff00ff
	var sum uint64
	n := len(b) &^ 7
	for i := 0; i < n; {
		var acc uint64
		for e := min(n, i+8*128); i < e; i += 8 {
			w := binary.LittleEndian.Uint64(b[i:])
			acc += w&lanes + w>>8&lanes
		}
		sum += acc&0xffff + acc>>16&0xffff + acc>>32&0xffff + acc>>48
	}
	for _, v := range b[n:] {
		sum += uint64(v)
	}
	return int64(sum)
}

// kernel4x4 accumulates the 4×4 tile Σ_k a_r[k]·w[k][c] into acc: two
// output channels share one uint64 (low and high 32-bit lanes), so each
// 64-bit multiply does two multiply-adds. acc[r*2+h] holds row r, channels
// 2h and 2h+1.
func kernel4x4(acc *[8]uint64, a0, a1, a2, a3 []byte, w [][2]uint64) {
	n := len(w)
	a0, a1, a2, a3 = a0[:n], a1[:n], a2[:n], a3[:n]
	s00, s01, s10, s11 := acc[0], acc[1], acc[2], acc[3]
	s20, s21, s30, s31 := acc[4], acc[5], acc[6], acc[7]
	for k := range w {
		w0, w1 := w[k][0], w[k][1]
		x0 := uint64(a0[k])
		s00 += x0 * w0
		s01 += x0 * w1
		x1 := uint64(a1[k])
		s10 += x1 * w0
		s11 += x1 * w1
		x2 := uint64(a2[k])
		s20 += x2 * w0
		s21 += x2 * w1
		x3 := uint64(a3[k])
		s30 += x3 * w0
		s31 += x3 * w1
	}
	acc[0], acc[1], acc[2], acc[3] = s00, s01, s10, s11
	acc[4], acc[5], acc[6], acc[7] = s20, s21, s30, s31
}

// ConvScale is the real multiplier inScale·filterScale/outScale as TFLite
// computes it: per-channel (and int8) kernels multiply in double
// precision; the legacy per-tensor path (uint8 CONV_2D and
// DEPTHWISE_CONV_2D, FULLY_CONNECTED) multiplies the two float32 scales in
// float32 first.
func ConvScale(inScale, filterScale, outScale float32, perChannel bool) float64 {
	if perChannel {
		return float64(inScale) * float64(filterScale) / float64(outScale)
	}
	return float64(inScale*filterScale) / float64(outScale)
}
