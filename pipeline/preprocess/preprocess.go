// Package preprocess turns camera frames and images into the input tensor
// of an image classifier: optional rotation (quarter turns), optional
// mirror, crop (centre square, full frame or a region of the rotated and
// mirrored image), bilinear resize and conversion to the tensor's element
// type and value convention.
//
// Resizing is bilinear with half-pixel centres: output pixel o samples
// source coordinate (o+0.5)·in/out − 0.5, clamped at the edges, with no
// anti-aliasing. That is TF2's tf.image.resize(method="bilinear",
// antialias=False) and TFLite's RESIZE_BILINEAR(half_pixel_centers=true),
// a well-defined choice that is cheap enough to run straight from YUYV.
// (align_corners would stretch the image by one pixel and is not what
// current TF uses.) Teachable Machine crops the largest centred square of
// the webcam image and scales it to 224 in the browser; the centre-square
// crop is the default here. Downscaling by more than 2× aliases a little
// compared with an anti-aliased scaler: the golden 224×224 inputs in
// ../shared/golden (made from the BMPs by a full-frame, anti-aliased
// resize) differ from CropFull output by 1.5–3.8 levels on average.
//
// Values: a source pixel level x in [0,255] becomes the real value
// (x−Mean)/Std. Float inputs default to x/127.5−1 (MobileNetV2 and
// Teachable Machine's float export). Quantized (uint8/int8) inputs default
// to the raw pixel code (q = x for uint8, x−128 for int8): the models alphad
// meets quantize their input so that this is exactly what they expect
// (Teachable Machine: scale 1/255, zero point 0, i.e. real = x/255;
// Google's MobileNetV2: scale 1/127.5, zero point 128, i.e. x/127.5−1).
// With an explicit Normalization, quantized inputs get
// q = round(real/scale)+zeroPoint.
//
// The YUYV and RGB24 paths resample straight from the frame (YUYV is
// converted to RGB, BT.601 limited range, only at the sampled pixels) and
// allocate nothing per frame once the tables for a frame size exist.
package preprocess

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/pipeline/tflite"
)

// CropMode chooses the part of the source image that is resized.
type CropMode int

// Crop modes.
const (
	CropCenter CropMode = iota // the largest centred square (default, as Teachable Machine)
	CropFull                   // the whole image, stretched to the tensor's aspect ratio
	CropROI                    // Options.ROI
)

func (c CropMode) String() string {
	switch c {
	case CropCenter:
		return "center"
	case CropFull:
		return "full"
	case CropROI:
		return "roi"
	}
	return fmt.Sprintf("CropMode(%d)", int(c))
}

// Region is a rectangle of the source image: X, Y, W, H are fractions of
// the image width and height, or pixels when Pixels is set. It is clipped
// to the image.
type Region struct {
	X, Y, W, H float64
	Pixels     bool
}

// Normalization maps a pixel level x in [0,255] of channel c (R, G, B) to
// the model's real input value (x − Mean[c]) / Std[c].
type Normalization struct {
	Mean, Std [3]float32
}

// RangeNorm maps [0,255] linearly onto [lo,hi]; RangeNorm(-1, 1) is the
// MobileNetV2 convention, RangeNorm(0, 1) the "divide by 255" one.
func RangeNorm(lo, hi float32) Normalization {
	s := 255 / (hi - lo)
	m := -lo * s
	return Normalization{Mean: [3]float32{m, m, m}, Std: [3]float32{s, s, s}}
}

// Options configure a Preprocessor. The zero value is the default: centre
// square, no mirror, the tensor type's default value convention.
type Options struct {
	Crop   CropMode
	ROI    Region // used when Crop is CropROI
	Mirror bool   // flip left-right (as a selfie preview), after Rotate
	// Rotate turns the source clockwise by 0, 90, 180 or 270 degrees
	// before mirror and crop: ROI is a region of the turned and mirrored
	// image (what a preview of the frame shows).
	Rotate int
	// Norm overrides the value convention (see the package comment).
	Norm *Normalization
	// Images bounds the MJPEG frames decoded (zero: stillimage's
	// defaults). Frames far larger than the input tensor (a shorter side
	// over 8× its side) are decoded at reduced scale.
	Images stillimage.Limits
}

// Limits on sizes the Preprocessor accepts.
const (
	maxTensorSide = 4096
	maxFrameSide  = 16384
)

// Preprocessor writes one image into a model input tensor. It keeps
// scratch buffers and resize tables between calls and is not safe for
// concurrent use.
type Preprocessor struct {
	w, h       int
	typ        tflite.TensorType
	opts       Options
	a, b       [3]float32 // out = level*a[c] + b[c]
	qmin, qmax float32

	row  []float32 // one output row of levels, RGB interleaved
	tab  tables
	rgb  []byte             // scratch RGB24 image for generic image.Image sources
	mdec stillimage.Decoder // MJPEG frames, within opts.Images
	yuv  *yuvTables         // made on the first YUYV frame
}

// New builds a Preprocessor for the input tensor t, which must be
// [1,H,W,3] float32, uint8 or int8.
func New(t *tflite.Tensor, opts Options) (*Preprocessor, error) {
	if t == nil {
		return nil, errors.New("preprocess: nil input tensor")
	}
	name := fmt.Sprintf("input tensor %q", t.Name)
	if len(t.Shape) != 4 || t.Shape[0] != 1 || t.Shape[3] != 3 {
		return nil, fmt.Errorf("preprocess: %s: shape %v, want [1,H,W,3]", name, t.Shape)
	}
	h, w := t.Shape[1], t.Shape[2]
	if h < 1 || w < 1 || h > maxTensorSide || w > maxTensorSide {
		return nil, fmt.Errorf("preprocess: %s: size %dx%d outside 1..%d", name, w, h, maxTensorSide)
	}
	switch opts.Rotate {
	case 0, 90, 180, 270:
	default:
		return nil, fmt.Errorf("preprocess: rotate %d: want 0, 90, 180 or 270 degrees", opts.Rotate)
	}
	switch opts.Crop {
	case CropCenter, CropFull:
	case CropROI:
		r := opts.ROI
		if !(r.W > 0 && r.H > 0 && r.X >= 0 && r.Y >= 0) || math.IsInf(r.W+r.H+r.X+r.Y, 0) {
			return nil, fmt.Errorf("preprocess: roi %+v: want x,y >= 0 and w,h > 0", r)
		}
		if !r.Pixels && (r.X >= 1 || r.Y >= 1) {
			return nil, fmt.Errorf("preprocess: roi %+v: fractions must start inside the image (x,y < 1)", r)
		}
	default:
		return nil, fmt.Errorf("preprocess: unknown crop mode %d", int(opts.Crop))
	}
	p := &Preprocessor{w: w, h: h, typ: t.Type, opts: opts, row: make([]float32, w*3),
		mdec: stillimage.Decoder{Limits: opts.Images, Fit: 4 * max(w, h)}}
	norm := opts.Norm
	if norm != nil {
		for c := range 3 {
			if !(norm.Std[c] != 0) || math.IsInf(float64(norm.Std[c]), 0) || math.IsNaN(float64(norm.Mean[c])) || math.IsInf(float64(norm.Mean[c]), 0) {
				return nil, fmt.Errorf("preprocess: normalization %+v: std must be finite and non-zero, mean finite", *norm)
			}
		}
	}
	switch t.Type {
	case tflite.Float32:
		n := RangeNorm(-1, 1)
		if norm != nil {
			n = *norm
		}
		for c := range 3 {
			p.a[c] = 1 / n.Std[c]
			p.b[c] = -n.Mean[c] / n.Std[c]
		}
	case tflite.Uint8, tflite.Int8:
		p.qmin, p.qmax = 0, 255
		if t.Type == tflite.Int8 {
			p.qmin, p.qmax = -128, 127
		}
		if norm == nil {
			p.a = [3]float32{1, 1, 1}
			p.b = [3]float32{p.qmin, p.qmin, p.qmin}
			break
		}
		q := t.Quant
		if q == nil || len(q.Scale) != 1 || len(q.ZeroPoint) != 1 || !(q.Scale[0] > 0) {
			return nil, fmt.Errorf("preprocess: %s: %s input needs per-tensor quantization to apply a normalization", name, t.Type)
		}
		s, zp := q.Scale[0], float32(q.ZeroPoint[0])
		for c := range 3 {
			p.a[c] = 1 / (norm.Std[c] * s)
			p.b[c] = -norm.Mean[c]/(norm.Std[c]*s) + zp
		}
	default:
		return nil, fmt.Errorf("preprocess: %s: type %s not supported (want float32, uint8 or int8)", name, t.Type)
	}
	return p, nil
}

// Size is the tensor's size in bytes: what dst must hold.
func (p *Preprocessor) Size() int { return p.w * p.h * 3 * p.typ.Size() }

// Width and Height are the tensor's image size.
func (p *Preprocessor) Width() int  { return p.w }
func (p *Preprocessor) Height() int { return p.h }

func (p *Preprocessor) String() string {
	conv := "raw pixel codes"
	if p.typ == tflite.Float32 || p.opts.Norm != nil {
		conv = fmt.Sprintf("level*%.4g%+.4g", p.a[0], p.b[0])
	}
	s := fmt.Sprintf("%dx%d %s, crop %s, %s", p.w, p.h, p.typ, p.opts.Crop, conv)
	if p.opts.Rotate != 0 {
		s += fmt.Sprintf(", rotated %d°", p.opts.Rotate)
	}
	if p.opts.Mirror {
		s += ", mirrored"
	}
	return s
}

func (p *Preprocessor) checkDst(dst []byte) error {
	if len(dst) != p.Size() {
		return fmt.Errorf("preprocess: destination is %d bytes, tensor needs %d", len(dst), p.Size())
	}
	if p.typ == tflite.Float32 && uintptr(unsafe.Pointer(unsafe.SliceData(dst)))%4 != 0 {
		return errors.New("preprocess: float32 destination is not 4-byte aligned")
	}
	return nil
}

// Frame writes the tensor for a camera frame into dst (len Size()).
// YUYV and RGB24 frames are resampled in place; MJPEG frames are decoded
// first (with the standard Huffman tables when the frame has none).
func (p *Preprocessor) Frame(dst []byte, f device.Frame) error {
	if err := p.checkDst(dst); err != nil {
		return err
	}
	if f.Format == device.MJPEG {
		img, err := p.mdec.Decode(f.Data)
		if err != nil {
			return fmt.Errorf("preprocess: mjpeg frame %d: %w", f.Seq, err)
		}
		return p.image(dst, img)
	}
	bpp := 0
	switch f.Format {
	case device.YUYV:
		bpp = 2
	case device.RGB24:
		bpp = 3
	default:
		return fmt.Errorf("preprocess: frame %d: pixel format %q not supported", f.Seq, f.Format)
	}
	if f.Width < 1 || f.Height < 1 || f.Width > maxFrameSide || f.Height > maxFrameSide {
		return fmt.Errorf("preprocess: frame %d: size %dx%d outside 1..%d", f.Seq, f.Width, f.Height, maxFrameSide)
	}
	rowBytes := f.Width * bpp
	if f.Format == device.YUYV {
		rowBytes = (f.Width + 1) / 2 * 4
	}
	stride := f.Stride
	if stride == 0 {
		stride = rowBytes
	}
	if stride < rowBytes {
		return fmt.Errorf("preprocess: frame %d: stride %d < %d bytes per row for %s width %d", f.Seq, stride, rowBytes, f.Format, f.Width)
	}
	if need := stride*(f.Height-1) + rowBytes; len(f.Data) < need {
		return fmt.Errorf("preprocess: frame %d: %d bytes of data, %s %dx%d stride %d needs %d", f.Seq, len(f.Data), f.Format, f.Width, f.Height, stride, need)
	}
	if err := p.prepare(f.Width, f.Height); err != nil {
		return fmt.Errorf("preprocess: frame %d: %w", f.Seq, err)
	}
	switch {
	case f.Format == device.YUYV && p.tab.turned:
		p.resizeTurnedYUYV(dst, f.Data, stride)
	case f.Format == device.YUYV:
		p.resizeYUYV(dst, f.Data, stride)
	case p.tab.turned:
		p.resizeTurnedPacked(dst, f.Data, stride, 3)
	default:
		p.resizePacked(dst, f.Data, stride, 3)
	}
	return nil
}

// store converts one output row of levels and writes it as row oy of dst.
func (p *Preprocessor) store(dst []byte, oy int) {
	n := p.w * 3
	a0, a1, a2 := p.a[0], p.a[1], p.a[2]
	b0, b1, b2 := p.b[0], p.b[1], p.b[2]
	row := p.row[:n]
	switch p.typ {
	case tflite.Float32:
		out := unsafe.Slice((*float32)(unsafe.Pointer(&dst[0])), len(dst)/4)[oy*n : oy*n+n]
		for i := 0; i+2 < n; i += 3 {
			out[i] = row[i]*a0 + b0
			out[i+1] = row[i+1]*a1 + b1
			out[i+2] = row[i+2]*a2 + b2
		}
	default:
		out := dst[oy*n : oy*n+n]
		lo, hi := p.qmin, p.qmax
		for i := 0; i+2 < n; i += 3 {
			out[i] = quantize(row[i]*a0+b0, lo, hi)
			out[i+1] = quantize(row[i+1]*a1+b1, lo, hi)
			out[i+2] = quantize(row[i+2]*a2+b2, lo, hi)
		}
	}
}

// quantize rounds v half up, clamps it to [lo,hi] and returns
// its two's-complement byte (int8 codes as their uint8 bit pattern).
func quantize(v, lo, hi float32) byte {
	if !(v >= lo) { // also NaN
		v = lo
	}
	if v > hi {
		v = hi
	}
	// Truncating a positive number is floor; the bias keeps it positive.
	q := int32(float64(v)+0.5+1<<20) - 1<<20
	return byte(q)
}
