package stillimage

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
)

// Reduced decoding of baseline JPEG. A JPEG far larger than what its
// consumer needs (a 6000×4000 photo for a 224×224 model) is decoded at
// 1/2, 1/4 or 1/8 scale in the DCT domain, as libjpeg's scaled decoding
// does: each 8×8 block of coefficients becomes a k×k block of pixels
// through a k-point inverse DCT of its k×k lowest frequencies (k = 1: the
// DC coefficient alone). Only the reduced image is ever allocated, so a
// 24 Mpx photo decodes in a few MB instead of 36 MB (4:2:0) or 72 MB
// (4:4:4). Progressive, arithmetic-coded, 12-bit, CMYK and RGB-transform
// JPEGs are left to image/jpeg (errNotBaseline).

// errNotBaseline says the reduced decoder does not handle this JPEG.
var errNotBaseline = errors.New("not a baseline 8-bit YCbCr or grey JPEG")

// jpegComp is one component of a frame.
type jpegComp struct {
	id, h, v, tq int
	td, ta       int // Huffman table ids, from the scan header
	pred         int // DC predictor
	plane        []byte
	stride       int
}

// jpegHeader is what the marker segments before the first scan say.
type jpegHeader struct {
	width, height int
	comps         []jpegComp
	hmax, vmax    int
	quant         [4][64]int32 // zig-zag order
	dc, ac        [4]*huffTable
	restart       int
	adobeRGB      bool
	scanComps     int // components in the first scan
	ss, se, ahal  int // spectral selection and successive approximation of the first scan
}

// huffTable decodes one Huffman table (ITU T.81 F.2.2.3): lookup[b] for
// the next 8 bits gives the value and code length of codes up to 8 bits;
// longer codes go through maxcode/valptr.
type huffTable struct {
	lookup  [256]uint16 // length<<8 | value; 0 = longer than 8 bits
	maxcode [17]int32
	valptr  [17]int32
	mincode [17]int32
	vals    []byte
}

func newHuffTable(counts [16]int, vals []byte) (*huffTable, error) {
	t := &huffTable{vals: vals}
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		t.valptr[l], t.mincode[l] = k, code
		if code+n > 1<<l {
			return nil, errors.New("bad Huffman table") // more codes than the length allows
		}
		if n == 0 {
			t.maxcode[l] = -1
		} else {
			for i := range n {
				if l <= 8 {
					c := (code + i) << (8 - l)
					for j := range int32(1) << (8 - l) {
						t.lookup[c+j] = uint16(l)<<8 | uint16(vals[k+i])
					}
				}
			}
			t.maxcode[l] = code + n - 1
		}
		code, k = (code+n)<<1, k+n
	}
	return t, nil
}

// parseJPEGHeader reads the marker segments of b (which holds at least
// the JPEG up to its first SOS segment, included) and says whether the
// reduced decoder handles the image. sos is the offset just after the
// first SOS segment: where the entropy-coded data starts.
func parseJPEGHeader(b []byte) (h *jpegHeader, sos int, err error) {
	h = &jpegHeader{}
	if len(b) < 2 || b[0] != 0xff || b[1] != markerSOI {
		return nil, 0, errNotBaseline
	}
	i := 2
	for {
		for i < len(b) && b[i] != 0xff {
			return nil, 0, errNotBaseline
		}
		j := i + 1
		for j < len(b) && b[j] == 0xff {
			j++
		}
		if j >= len(b) {
			return nil, 0, errNotBaseline
		}
		m := b[j]
		if standalone(m) {
			i = j + 1
			continue
		}
		if j+2 >= len(b) {
			return nil, 0, errNotBaseline
		}
		n := int(b[j+1])<<8 | int(b[j+2])
		if n < 2 || j+1+n > len(b) {
			return nil, 0, errNotBaseline
		}
		seg := b[j+3 : j+1+n]
		next := j + 1 + n
		switch {
		case m == 0xc0 || m == 0xc1: // baseline, extended sequential Huffman
			if err := h.parseSOF(seg); err != nil {
				return nil, 0, err
			}
		case m >= 0xc2 && m <= 0xcf && m != markerDHT && m != 0xc8 && m != 0xcc:
			return nil, 0, errNotBaseline // progressive, lossless, arithmetic
		case m == markerDHT:
			if err := h.parseDHT(seg); err != nil {
				return nil, 0, err
			}
		case m == 0xdb: // DQT
			if err := h.parseDQT(seg); err != nil {
				return nil, 0, err
			}
		case m == 0xdd: // DRI
			if len(seg) < 2 {
				return nil, 0, errNotBaseline
			}
			h.restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xee: // APP14 Adobe: transform 0 with 3 components is RGB
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" && seg[11] == 0 {
				h.adobeRGB = true
			}
		case m == markerSOS:
			if err := h.parseSOS(seg); err != nil {
				return nil, 0, err
			}
			return h, next, nil
		}
		i = next
	}
}

func (h *jpegHeader) parseSOF(s []byte) error {
	if len(s) < 6 || s[0] != 8 || h.comps != nil {
		return errNotBaseline
	}
	h.height, h.width = int(s[1])<<8|int(s[2]), int(s[3])<<8|int(s[4])
	nc := int(s[5])
	if (nc != 1 && nc != 3) || len(s) < 6+3*nc || h.width == 0 || h.height == 0 {
		return errNotBaseline
	}
	h.hmax, h.vmax = 1, 1
	for c := range nc {
		p := s[6+3*c:]
		comp := jpegComp{id: int(p[0]), h: int(p[1] >> 4), v: int(p[1] & 15), tq: int(p[2])}
		if comp.h < 1 || comp.h > 4 || comp.v < 1 || comp.v > 4 || comp.tq > 3 {
			return errNotBaseline
		}
		if nc == 1 {
			comp.h, comp.v = 1, 1 // a single component's factors do not matter
		}
		h.hmax, h.vmax = max(h.hmax, comp.h), max(h.vmax, comp.v)
		h.comps = append(h.comps, comp)
	}
	return nil
}

func (h *jpegHeader) parseDHT(s []byte) error {
	for len(s) > 0 {
		if len(s) < 17 {
			return errNotBaseline
		}
		class, id := s[0]>>4, int(s[0]&15)
		if class > 1 || id > 3 {
			return errNotBaseline
		}
		var counts [16]int
		total := 0
		for l := range 16 {
			counts[l] = int(s[1+l])
			total += counts[l]
		}
		if total > 256 || len(s) < 17+total {
			return errNotBaseline
		}
		t, err := newHuffTable(counts, s[17:17+total])
		if err != nil {
			return errNotBaseline
		}
		if class == 0 {
			h.dc[id] = t
		} else {
			h.ac[id] = t
		}
		s = s[17+total:]
	}
	return nil
}

func (h *jpegHeader) parseDQT(s []byte) error {
	for len(s) > 0 {
		pq, id := s[0]>>4, int(s[0]&15)
		if id > 3 || pq > 1 {
			return errNotBaseline
		}
		n := 64 << pq
		if len(s) < 1+n {
			return errNotBaseline
		}
		for z := range 64 {
			if pq == 0 {
				h.quant[id][z] = int32(s[1+z])
			} else {
				h.quant[id][z] = int32(s[1+2*z])<<8 | int32(s[2+2*z])
			}
		}
		s = s[1+n:]
	}
	return nil
}

func (h *jpegHeader) parseSOS(s []byte) error {
	if h.comps == nil || len(s) < 1 {
		return errNotBaseline
	}
	ns := int(s[0])
	if len(s) < 1+2*ns+3 {
		return errNotBaseline
	}
	h.scanComps = ns
	for k := range ns {
		id, tables := int(s[1+2*k]), s[2+2*k]
		found := false
		for c := range h.comps {
			if h.comps[c].id == id {
				h.comps[c].td, h.comps[c].ta = int(tables>>4), int(tables&15)
				found = true
			}
		}
		if !found || tables>>4 > 3 || tables&15 > 3 {
			return errNotBaseline
		}
	}
	p := s[1+2*ns:]
	h.ss, h.se, h.ahal = int(p[0]), int(p[1]), int(p[2])
	return nil
}

// reducible says whether the reduced decoder handles the image: one scan
// holding every component, Huffman tables and quantisation present, and
// for colour a subsampling image.YCbCr can hold.
func (h *jpegHeader) reducible() bool {
	if h.scanComps != len(h.comps) || h.ss != 0 || h.se != 63 || h.ahal != 0 || h.adobeRGB {
		return false
	}
	for _, c := range h.comps {
		if h.dc[c.td] == nil || h.ac[c.ta] == nil {
			return false
		}
	}
	if len(h.comps) == 3 {
		y, cb, cr := h.comps[0], h.comps[1], h.comps[2]
		if y.h != h.hmax || y.v != h.vmax || cb.h != cr.h || cb.v != cr.v || y.h%cb.h != 0 || y.v%cb.v != 0 {
			return false
		}
		if _, ok := ratio(y.h/cb.h, y.v/cb.v); !ok {
			return false
		}
		if string([]byte{byte(y.id), byte(cb.id), byte(cr.id)}) == "RGB" {
			return false // image/jpeg decodes these as RGB
		}
	}
	return true
}

func ratio(h, v int) (image.YCbCrSubsampleRatio, bool) {
	switch [2]int{h, v} {
	case [2]int{1, 1}:
		return image.YCbCrSubsampleRatio444, true
	case [2]int{2, 1}:
		return image.YCbCrSubsampleRatio422, true
	case [2]int{2, 2}:
		return image.YCbCrSubsampleRatio420, true
	case [2]int{1, 2}:
		return image.YCbCrSubsampleRatio440, true
	case [2]int{4, 1}:
		return image.YCbCrSubsampleRatio411, true
	case [2]int{4, 2}:
		return image.YCbCrSubsampleRatio410, true
	}
	return 0, false
}

// reduceScale is the number of pixels k (1, 2 or 4) each 8×8 block
// becomes so that the image's shorter side stays at least fit pixels:
// 8 when no reduction is possible.
func reduceScale(w, h, fit int) int {
	if fit <= 0 {
		return 8
	}
	short := min(w, h)
	for _, k := range []int{1, 2, 4} {
		if short*k/8 >= fit {
			return k
		}
	}
	return 8
}

// idctTables[k] holds, for k = 2 and 4, the k-point inverse DCT basis
// C(u)/2·cos((2x+1)uπ/2k) at [x*k+u].
type idctTables [5][]float32

func newIDCTTables() *idctTables {
	var t idctTables
	for _, k := range []int{2, 4} {
		t[k] = make([]float32, k*k)
		for x := range k {
			for u := range k {
				c := 0.5
				if u == 0 {
					c = 0.5 / math.Sqrt2
				}
				t[k][x*k+u] = float32(c * math.Cos(float64((2*x+1)*u)*math.Pi/float64(2*k)))
			}
		}
	}
	return &t
}

// unzig maps zig-zag order to natural order.
var unzig = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// bitReader reads the entropy-coded segment: 0xFF 0x00 is a 0xFF byte; a
// marker ends the data (zeros are read past it, as decoders do).
type bitReader struct {
	r      *bufio.Reader
	acc    uint32
	n      uint
	marker byte // the marker met, 0 if none yet
	err    error
}

func (b *bitReader) fill() {
	for b.n <= 24 {
		var c byte
		if b.marker == 0 && b.err == nil {
			c, b.err = b.r.ReadByte()
			if b.err == nil && c == 0xff {
				var d byte
				d, b.err = b.r.ReadByte()
				for b.err == nil && d == 0xff {
					d, b.err = b.r.ReadByte()
				}
				if b.err == nil && d != 0 {
					b.marker, c = d, 0
				}
			}
			if b.err != nil {
				c = 0
			}
		}
		b.acc |= uint32(c) << (24 - b.n)
		b.n += 8
	}
}

func (b *bitReader) bits(n uint) int32 {
	if n == 0 {
		return 0
	}
	if b.n < n {
		b.fill()
	}
	v := int32(b.acc >> (32 - n))
	b.acc <<= n
	b.n -= n
	return v
}

// receiveExtend reads an n-bit magnitude and extends its sign (F.2.2.1).
func (b *bitReader) receiveExtend(n uint) int32 {
	if n == 0 {
		return 0
	}
	v := b.bits(n)
	if v < 1<<(n-1) {
		v += -1<<n + 1
	}
	return v
}

func (b *bitReader) decode(t *huffTable) (byte, error) {
	if b.n < 16 {
		b.fill()
	}
	if e := t.lookup[b.acc>>24]; e != 0 {
		l := uint(e >> 8)
		b.acc <<= l
		b.n -= l
		return byte(e), nil
	}
	for l := 9; l <= 16; l++ {
		code := int32(b.acc >> (32 - uint(l)))
		if t.maxcode[l] >= 0 && code <= t.maxcode[l] {
			b.acc <<= uint(l)
			b.n -= uint(l)
			k := t.valptr[l] + code - t.mincode[l]
			if k < 0 || int(k) >= len(t.vals) {
				break
			}
			return t.vals[k], nil
		}
	}
	return 0, errors.New("bad Huffman code")
}

// restart consumes the RSTn marker expected after a restart interval.
func (b *bitReader) restart() error {
	b.acc, b.n = 0, 0
	if b.marker == 0 {
		// The marker has not been met yet: skip to it.
		for {
			c, err := b.r.ReadByte()
			if err != nil {
				return err
			}
			if c != 0xff {
				continue
			}
			d, err := b.r.ReadByte()
			for err == nil && d == 0xff {
				d, err = b.r.ReadByte()
			}
			if err != nil {
				return err
			}
			if d != 0 {
				b.marker = d
				break
			}
		}
	}
	if b.marker < markerRST0 || b.marker > markerRST7 {
		return fmt.Errorf("missing restart marker (found %#x)", b.marker)
	}
	b.marker = 0
	return nil
}

// decodeReduced decodes the entropy-coded data read from r of the image
// h describes at k pixels per 8×8 block (k = 1, 2 or 4).
func decodeReduced(h *jpegHeader, r *bufio.Reader, k int) (image.Image, error) {
	mcuW, mcuH := 8*h.hmax, 8*h.vmax
	mx, my := (h.width+mcuW-1)/mcuW, (h.height+mcuH-1)/mcuH
	if len(h.comps) == 1 {
		mx, my = (h.width+7)/8, (h.height+7)/8
	}
	for c := range h.comps {
		cp := &h.comps[c]
		cp.stride = mx * cp.h * k
		cp.plane = make([]byte, cp.stride*my*cp.v*k)
	}
	tabs := newIDCTTables()
	br := &bitReader{r: r}
	var coef [64]int32
	var tmp [16]float32
	mcus := 0
	for y := range my {
		for x := range mx {
			if h.restart > 0 && mcus > 0 && mcus%h.restart == 0 {
				if err := br.restart(); err != nil {
					return nil, fmt.Errorf("restart at MCU %d: %w", mcus, err)
				}
				for c := range h.comps {
					h.comps[c].pred = 0
				}
			}
			mcus++
			for c := range h.comps {
				cp := &h.comps[c]
				q := &h.quant[cp.tq]
				for v := range cp.v {
					for u := range cp.h {
						// The block's coefficients, dequantised; only the
						// k×k lowest frequencies are kept.
						t, err := br.decode(h.dc[cp.td])
						if err != nil || t > 16 {
							return nil, fmt.Errorf("MCU %d: bad DC code", mcus)
						}
						cp.pred += int(br.receiveExtend(uint(t)))
						clear(coef[:])
						coef[0] = int32(cp.pred) * q[0]
						for z := 1; z < 64; z++ {
							rs, err := br.decode(h.ac[cp.ta])
							if err != nil {
								return nil, fmt.Errorf("MCU %d: %w", mcus, err)
							}
							run, size := int(rs>>4), uint(rs&15)
							if size == 0 {
								if run != 15 {
									break // EOB
								}
								z += 15
								continue
							}
							z += run
							if z > 63 {
								return nil, fmt.Errorf("MCU %d: coefficient index out of range", mcus)
							}
							val := br.receiveExtend(size)
							if n := unzig[z]; k > 1 && int(n%8) < k && int(n/8) < k {
								coef[n] = val * q[z]
							}
						}
						bx, by := (x*cp.h+u)*k, (y*cp.v+v)*k
						out := cp.plane[by*cp.stride+bx:]
						if k == 1 {
							out[0] = clampByte(float32(coef[0])/8 + 128)
							continue
						}
						// Rows, then columns, of the k-point IDCT.
						tk := tabs[k]
						for fv := range k {
							for px := range k {
								var s float32
								for fu := range k {
									s += tk[px*k+fu] * float32(coef[fv*8+fu])
								}
								tmp[fv*k+px] = s
							}
						}
						for py := range k {
							row := out[py*cp.stride:]
							for px := range k {
								var s float32
								for fv := range k {
									s += tk[py*k+fv] * tmp[fv*k+px]
								}
								row[px] = clampByte(s + 128)
							}
						}
					}
				}
			}
		}
		if br.err == io.EOF && br.marker == 0 {
			return nil, io.ErrUnexpectedEOF // the data ended before the EOI marker
		}
		if br.err != nil && br.err != io.EOF {
			return nil, br.err
		}
	}
	w, ht := (h.width*k+7)/8, (h.height*k+7)/8
	if len(h.comps) == 1 {
		p := h.comps[0]
		return &image.Gray{Pix: p.plane, Stride: p.stride, Rect: image.Rect(0, 0, w, ht)}, nil
	}
	y, cb := h.comps[0], h.comps[1]
	sr, _ := ratio(y.h/cb.h, y.v/cb.v)
	return &image.YCbCr{Y: y.plane, Cb: cb.plane, Cr: h.comps[2].plane, YStride: y.stride, CStride: cb.stride,
		SubsampleRatio: sr, Rect: image.Rect(0, 0, w, ht)}, nil
}

func clampByte(f float32) byte {
	switch {
	case f <= 0:
		return 0
	case f >= 255:
		return 255
	}
	return byte(f + 0.5)
}

// sosEnd is the offset just past the SOS segment starting at b[sos] (its
// 0xFF byte), or past where its length says it ends when b is shorter.
func sosEnd(b []byte, sos int) int {
	if sos+4 > len(b) {
		return sos + 4
	}
	return sos + 2 + (int(b[sos+2])<<8 | int(b[sos+3]))
}
