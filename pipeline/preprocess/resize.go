package preprocess

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// tables are the bilinear taps for one source size: for output column ox
// the source columns x0[ox], x1[ox] (rotation, crop and mirror applied)
// and the weight wx[ox] of x1; likewise for rows. When turned (a quarter
// turn, 90 or 270 degrees) the roles swap: x0/x1[ox] are source rows and
// y0/y1[oy] source columns.
type tables struct {
	srcW, srcH int
	turned     bool
	x0, x1     []int32
	wx         []float32
	y0, y1     []int32
	wy         []float32
}

// cropRect is the source rectangle to resize for a w×h source.
func (p *Preprocessor) cropRect(w, h int) (image.Rectangle, error) {
	switch p.opts.Crop {
	case CropFull:
		return image.Rect(0, 0, w, h), nil
	case CropROI:
		r := p.opts.ROI
		x, y, rw, rh := r.X, r.Y, r.W, r.H
		if !r.Pixels {
			x, y, rw, rh = x*float64(w), y*float64(h), rw*float64(w), rh*float64(h)
		}
		x0, y0 := int(math.Round(x)), int(math.Round(y))
		x1, y1 := int(math.Round(x+rw)), int(math.Round(y+rh))
		cr := image.Rect(x0, y0, max(x1, x0+1), max(y1, y0+1)).Intersect(image.Rect(0, 0, w, h))
		if cr.Empty() {
			return cr, fmt.Errorf("roi %+v lies outside the %dx%d image", r, w, h)
		}
		return cr, nil
	}
	s := min(w, h)
	x, y := (w-s)/2, (h-s)/2
	return image.Rect(x, y, x+s, y+s), nil
}

// prepare makes the resize tables for a w×h source, reusing the previous
// ones (and their storage) when the size has not changed.
func (p *Preprocessor) prepare(w, h int) error {
	t := &p.tab
	if t.srcW == w && t.srcH == h && t.x0 != nil {
		return nil
	}
	// Taps are made in the turned image's coordinates (ow×oh), where the
	// crop region lies, then mapped back to the source.
	ow, oh := w, h
	turned := p.opts.Rotate == 90 || p.opts.Rotate == 270
	if turned {
		ow, oh = h, w
	}
	cr, err := p.cropRect(ow, oh)
	if err != nil {
		return err
	}
	if p.opts.Mirror {
		// The region is of the mirrored image (what a preview shows).
		cr = image.Rect(ow-cr.Max.X, cr.Min.Y, ow-cr.Min.X, cr.Max.Y)
	}
	t.x0, t.x1, t.wx = axis(t.x0, t.x1, t.wx, p.w, cr.Min.X, cr.Dx())
	t.y0, t.y1, t.wy = axis(t.y0, t.y1, t.wy, p.h, cr.Min.Y, cr.Dy())
	if p.opts.Mirror {
		for i, j := 0, p.w-1; i < j; i, j = i+1, j-1 {
			t.x0[i], t.x0[j] = t.x0[j], t.x0[i]
			t.x1[i], t.x1[j] = t.x1[j], t.x1[i]
			t.wx[i], t.wx[j] = t.wx[j], t.wx[i]
		}
	}
	// Turned pixel (x', y') is source pixel: 90° (y', h-1-x'); 180°
	// (w-1-x', h-1-y'); 270° (w-1-y', x').
	flip := func(s []int32, n int) {
		for i := range s {
			s[i] = int32(n-1) - s[i]
		}
	}
	switch p.opts.Rotate {
	case 90:
		flip(t.x0, h)
		flip(t.x1, h)
	case 180:
		flip(t.x0, w)
		flip(t.x1, w)
		flip(t.y0, h)
		flip(t.y1, h)
	case 270:
		flip(t.y0, w)
		flip(t.y1, w)
	}
	t.turned = turned
	t.srcW, t.srcH = w, h
	return nil
}

// resizeTurned resamples a source turned by a quarter: output column ox
// reads source rows x0/x1[ox], output row oy source columns y0/y1[oy].
// at is the RGB of source pixel (x, y). Slower than the straight paths
// (one call per tap), it serves cameras mounted on their side.
func (p *Preprocessor) resizeTurned(dst []byte, at func(x, y int) (r, g, b float32)) {
	t := &p.tab
	row := p.row[:p.w*3]
	for oy := range p.h {
		xa, xb, wx := int(t.y0[oy]), int(t.y1[oy]), t.wy[oy]
		for ox := range p.w {
			ya, yb, wy := int(t.x0[ox]), int(t.x1[ox]), t.wx[ox]
			ar, ag, ab := at(xa, ya)
			br, bg, bb := at(xb, ya)
			cr, cg, cb := at(xa, yb)
			dr, dg, db := at(xb, yb)
			tr, tg, tb := ar+(br-ar)*wx, ag+(bg-ag)*wx, ab+(bb-ab)*wx
			ur, ug, ub := cr+(dr-cr)*wx, cg+(dg-cg)*wx, cb+(db-cb)*wx
			o := row[ox*3 : ox*3+3 : ox*3+3]
			o[0] = tr + (ur-tr)*wy
			o[1] = tg + (ug-tg)*wy
			o[2] = tb + (ub-tb)*wy
		}
		p.store(dst, oy)
	}
}

func (p *Preprocessor) resizeTurnedPacked(dst, data []byte, stride, bpp int) {
	p.resizeTurned(dst, func(x, y int) (r, g, b float32) {
		i := y*stride + x*bpp
		q := data[i : i+3 : i+3]
		return float32(q[0]), float32(q[1]), float32(q[2])
	})
}

func (p *Preprocessor) resizeTurnedYUYV(dst, data []byte, stride int) {
	if p.yuv == nil {
		p.yuv = newYUVTables()
	}
	yt := p.yuv
	p.resizeTurned(dst, func(x, y int) (r, g, b float32) { return yt.yuyvAt(data[y*stride:], x) })
}

// axis fills the taps for n outputs sampling the source span
// [start, start+length) with half-pixel centres.
func axis(lo, hi []int32, w []float32, n, start, length int) ([]int32, []int32, []float32) {
	lo, hi, w = resize32(lo, n), resize32(hi, n), resizeF(w, n)
	scale := float64(length) / float64(n)
	for o := range n {
		in := (float64(o)+0.5)*scale - 0.5
		f := math.Floor(in)
		a := max(int(f), 0)
		b := min(int(f)+1, length-1)
		a = min(a, length-1)
		b = max(b, 0)
		lo[o] = int32(start + a)
		hi[o] = int32(start + b)
		w[o] = float32(in - f)
		if a == b {
			w[o] = 0
		}
	}
	return lo, hi, w
}

func resize32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func resizeF(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// yuvTables convert BT.601 limited-range YCbCr (as V4L2 YUYV cameras
// send) to RGB in 8.8 fixed point without branches: level(R) =
// clamp(((y + rv[V]) + 128) >> 8), and so on, with the clamp a table too.
type yuvTables struct {
	y, rv, gu, gv, bu [256]int32
	clamp             [1024]float32 // level+clampBias → clamped level
}

const clampBias = 384

func newYUVTables() *yuvTables {
	t := new(yuvTables)
	for i := range 256 {
		f := float64(i)
		t.y[i] = int32(math.Round(1.164383 * (f - 16) * 256))
		t.rv[i] = int32(math.Round(1.596027 * (f - 128) * 256))
		t.gu[i] = int32(math.Round(-0.391762 * (f - 128) * 256))
		t.gv[i] = int32(math.Round(-0.812968 * (f - 128) * 256))
		t.bu[i] = int32(math.Round(2.017232 * (f - 128) * 256))
	}
	for i := range t.clamp {
		t.clamp[i] = float32(min(max(i-clampBias, 0), 255))
	}
	return t
}

// rgb converts one pixel to RGB levels in [0,255] (rounded to whole
// levels: within 0.5 of the exact conversion).
func (t *yuvTables) rgb(y, u, v byte) (r, g, b float32) {
	c := t.y[y] + 128 + clampBias<<8
	return t.clamp[uint32(c+t.rv[v])>>8&1023], t.clamp[uint32(c+t.gu[u]+t.gv[v])>>8&1023], t.clamp[uint32(c+t.bu[u])>>8&1023]
}

// yuyvAt is the RGB of pixel x in a YUYV row (Y0 U Y1 V per pixel pair).
func (t *yuvTables) yuyvAt(row []byte, x int) (r, g, b float32) {
	c := x >> 1 * 4
	q := row[c : c+4 : c+4]
	return t.rgb(q[(x&1)*2], q[1], q[3])
}

func (p *Preprocessor) resizeYUYV(dst, data []byte, stride int) {
	t := &p.tab
	row := p.row[:p.w*3]
	x0, x1, wx := t.x0[:p.w], t.x1[:p.w], t.wx[:p.w]
	if p.yuv == nil {
		p.yuv = newYUVTables()
	}
	yt := p.yuv
	for oy := range p.h {
		r0 := data[int(t.y0[oy])*stride:]
		r1 := data[int(t.y1[oy])*stride:]
		wy := t.wy[oy]
		for ox := range x0 {
			xa, xb, w := int(x0[ox]), int(x1[ox]), wx[ox]
			// yuyvAt, inlined by hand.
			ia, ib := xa>>1*4, xb>>1*4
			ya, yb := xa&1*2, xb&1*2
			qa, qb := r0[ia:ia+4:ia+4], r0[ib:ib+4:ib+4]
			qc, qd := r1[ia:ia+4:ia+4], r1[ib:ib+4:ib+4]
			ar, ag, ab := yt.rgb(qa[ya], qa[1], qa[3])
			br, bg, bb := yt.rgb(qb[yb], qb[1], qb[3])
			cr, cg, cb := yt.rgb(qc[ya], qc[1], qc[3])
			dr, dg, db := yt.rgb(qd[yb], qd[1], qd[3])
			tr, tg, tb := ar+(br-ar)*w, ag+(bg-ag)*w, ab+(bb-ab)*w
			ur, ug, ub := cr+(dr-cr)*w, cg+(dg-cg)*w, cb+(db-cb)*w
			o := row[ox*3 : ox*3+3 : ox*3+3]
			o[0] = tr + (ur-tr)*wy
			o[1] = tg + (ug-tg)*wy
			o[2] = tb + (ub-tb)*wy
		}
		p.store(dst, oy)
	}
}

// resizePacked resamples packed pixels of bpp bytes (3: RGB24; 4: RGBA
// or NRGBA, whose fourth byte is ignored) whose first three are R, G, B.
func (p *Preprocessor) resizePacked(dst, data []byte, stride, bpp int) {
	t := &p.tab
	row := p.row[:p.w*3]
	x0, x1, wx := t.x0[:p.w], t.x1[:p.w], t.wx[:p.w]
	for oy := range p.h {
		r0 := data[int(t.y0[oy])*stride:]
		r1 := data[int(t.y1[oy])*stride:]
		wy := t.wy[oy]
		for ox := range x0 {
			xa, xb, w := int(x0[ox])*bpp, int(x1[ox])*bpp, wx[ox]
			a := r0[xa : xa+3 : xa+3]
			b := r0[xb : xb+3 : xb+3]
			c := r1[xa : xa+3 : xa+3]
			d := r1[xb : xb+3 : xb+3]
			o := row[ox*3 : ox*3+3 : ox*3+3]
			for k := range 3 {
				top := float32(a[k]) + (float32(b[k])-float32(a[k]))*w
				bot := float32(c[k]) + (float32(d[k])-float32(c[k]))*w
				o[k] = top + (bot-top)*wy
			}
		}
		p.store(dst, oy)
	}
}

// ycbcrAt is the RGB of pixel (x,y), relative to the image origin, of a
// JPEG (full-range) YCbCr image, converted exactly as image/color does.
func ycbcrAt(m *image.YCbCr, x, y int) (r, g, b float32) {
	x += m.Rect.Min.X
	y += m.Rect.Min.Y
	yi, ci := m.YOffset(x, y), m.COffset(x, y)
	rr, gg, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
	return float32(rr), float32(gg), float32(bb)
}

func (p *Preprocessor) resizeYCbCr(dst []byte, m *image.YCbCr) {
	t := &p.tab
	row := p.row[:p.w*3]
	for oy := range p.h {
		ya, yb, wy := int(t.y0[oy]), int(t.y1[oy]), t.wy[oy]
		for ox := range p.w {
			xa, xb, w := int(t.x0[ox]), int(t.x1[ox]), t.wx[ox]
			ar, ag, ab := ycbcrAt(m, xa, ya)
			br, bg, bb := ycbcrAt(m, xb, ya)
			cr, cg, cb := ycbcrAt(m, xa, yb)
			dr, dg, db := ycbcrAt(m, xb, yb)
			tr, tg, tb := ar+(br-ar)*w, ag+(bg-ag)*w, ab+(bb-ab)*w
			ur, ug, ub := cr+(dr-cr)*w, cg+(dg-cg)*w, cb+(db-cb)*w
			o := row[ox*3 : ox*3+3 : ox*3+3]
			o[0] = tr + (ur-tr)*wy
			o[1] = tg + (ug-tg)*wy
			o[2] = tb + (ub-tb)*wy
		}
		p.store(dst, oy)
	}
}
