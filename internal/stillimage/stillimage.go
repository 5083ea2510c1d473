// Package stillimage is alphad's one way to decode still images: image
// files given to classify and dataset add/import, the dir: and image:
// cameras, the store's samples and the JPEG frames of MJPEG cameras. It
// reads JPEG (with or without Huffman tables, as webcams send MJPEG
// frames), PNG and BMP, chosen by their first bytes, and refuses anything
// else (GIF included) with a clear error.
//
// Every decode first reads only the header (image.DecodeConfig) and checks
// the declared size against Limits, so a tiny file that declares 30000×30000
// pixels is refused before any pixel memory is allocated. The default
// limits fit a Raspberry Pi with 1 GB: 24 Mpx (a 6000×4000 photo; phone
// cameras default to 12 Mpx), at most 16384 pixels per side, 64 MiB of
// encoded bytes. MaxPixels is also a memory budget: the decoder may
// allocate what MaxPixels RGBA pixels take (4 bytes each, 96 MB by
// default), so encodings that cost more per pixel, estimated from the
// header, are refused at fewer pixels: progressive JPEG (7.5 bytes per
// pixel at 4:2:0, its coefficients are kept), CMYK JPEG, 16-bit and
// interlaced PNG. Files are streamed: only the header is buffered twice.
//
// RGB24 packs a decoded image into the RGB24 layout of device frames.
package stillimage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"strconv"

	"golang.org/x/image/bmp"
)

// Default limits (see Limits).
const (
	DefaultMaxSide   = 16384
	DefaultMaxPixels = 24_000_000
	DefaultMaxBytes  = 64 << 20
)

// Limits bound what a decode accepts. A zero field takes its default.
type Limits struct {
	MaxWidth, MaxHeight int   // pixels per side
	MaxPixels           int   // width × height
	MaxBytes            int64 // encoded size
}

// DefaultLimits returns the limits a zero Limits stands for.
func DefaultLimits() Limits {
	return Limits{MaxWidth: DefaultMaxSide, MaxHeight: DefaultMaxSide, MaxPixels: DefaultMaxPixels, MaxBytes: DefaultMaxBytes}
}

// WithDefaults fills the zero (or negative) fields of l with the defaults.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxWidth <= 0 {
		l.MaxWidth = d.MaxWidth
	}
	if l.MaxHeight <= 0 {
		l.MaxHeight = d.MaxHeight
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	return l
}

// Check returns a *LimitError when a width×height image is over l (zero
// fields of l take their defaults), or when a side is not positive. The
// pixel count is checked first, then each side.
func (l Limits) Check(width, height int) error {
	l = l.WithDefaults()
	switch {
	case width < 1 || height < 1:
		return &LimitError{Kind: LimitEmpty, Width: width, Height: height}
	case int64(width)*int64(height) > int64(l.MaxPixels):
		return &LimitError{Kind: LimitPixels, Width: width, Height: height, Max: int64(l.MaxPixels)}
	case width > l.MaxWidth:
		return &LimitError{Kind: LimitWidth, Width: width, Height: height, Max: int64(l.MaxWidth)}
	case height > l.MaxHeight:
		return &LimitError{Kind: LimitHeight, Width: width, Height: height, Max: int64(l.MaxHeight)}
	}
	return nil
}

// LimitKind says which limit an image exceeds.
type LimitKind int

// Limit kinds.
const (
	LimitPixels LimitKind = iota // width × height > MaxPixels
	LimitWidth                   // width > MaxWidth
	LimitHeight                  // height > MaxHeight
	LimitBytes                   // encoded size > MaxBytes
	LimitEmpty                   // a side of zero pixels
	LimitMemory                  // decoding needs more memory than MaxPixels of RGBA
)

// LimitError reports an image over a limit, found from its header or its
// size before it was decoded.
type LimitError struct {
	Kind          LimitKind
	Width, Height int    // the declared size (not set for LimitBytes)
	Bytes         int64  // the encoded size for LimitBytes (0 when only known to be over); the decode memory for LimitMemory
	Max           int64  // the limit
	What          string // for LimitMemory: the encoding that costs more ("progressive JPEG")
}

func (e *LimitError) Error() string {
	switch e.Kind {
	case LimitPixels:
		return fmt.Sprintf("%dx%d pixels exceeds the %s limit", e.Width, e.Height, mpx(e.Max))
	case LimitWidth:
		return fmt.Sprintf("%dx%d pixels: width exceeds the %d-pixel limit", e.Width, e.Height, e.Max)
	case LimitHeight:
		return fmt.Sprintf("%dx%d pixels: height exceeds the %d-pixel limit", e.Width, e.Height, e.Max)
	case LimitBytes:
		if e.Bytes > 0 {
			return fmt.Sprintf("%d bytes exceeds the %s file size limit", e.Bytes, mib(e.Max))
		}
		return fmt.Sprintf("more than %s exceeds the file size limit", mib(e.Max))
	case LimitMemory:
		return fmt.Sprintf("%dx%d pixels: decoding this %s needs %d MB, over the %d MB the %s limit allows",
			e.Width, e.Height, e.What, e.Bytes/1e6, e.Max/1e6, mpx(e.Max/rgbaBytes))
	}
	return fmt.Sprintf("%dx%d pixels: empty image", e.Width, e.Height)
}

// rgbaBytes is what MaxPixels budgets per pixel: an RGBA image's 4 bytes.
const rgbaBytes = 4

// checkCost refuses an image whose decoder would allocate more than
// MaxPixels RGBA pixels' worth of memory: bpp bytes per pixel, estimated
// by decodeCost. Most images (baseline JPEG, 8-bit PNG, BMP) cost at most
// 4 bytes per pixel and pass.
func (l Limits) checkCost(width, height int, c cost) error {
	if c.bpp <= rgbaBytes {
		return nil
	}
	need := int64(float64(width) * float64(height) * c.bpp)
	if budget := int64(l.MaxPixels) * rgbaBytes; need > budget {
		return &LimitError{Kind: LimitMemory, Width: width, Height: height, Bytes: need, Max: budget, What: c.what}
	}
	return nil
}

// cost is a decoder's memory per pixel and the encoding that needs it.
type cost struct {
	bpp  float64
	what string
}

// decodeCost estimates how many bytes per pixel the decoder of format f
// allocates for an image with header cfg, whose leading bytes head hold at
// least the JPEG frame header or the PNG IHDR, and names the encoding when
// it costs more than RGBA: progressive JPEG keeps an int32 coefficient per
// sample besides the samples, CMYK JPEG converts into a second image,
// 16-bit PNG takes 8 bytes per pixel, interlaced PNG decodes its passes
// apart before merging them.
func decodeCost(f format, cfg image.Config, head []byte) cost {
	var bpp float64
	var what string
	switch f {
	case formatJPEG:
		prog, comps, planes, ok := jpegFrame(head)
		if !ok {
			return cost{} // the decoder will say what is wrong
		}
		bpp, what = planes, "JPEG"
		if comps == 4 {
			bpp, what = bpp+4, "CMYK JPEG"
		}
		if prog {
			bpp, what = bpp+4*planes, "progressive "+what
		}
	case formatPNG:
		switch cfg.ColorModel {
		case color.RGBA64Model, color.NRGBA64Model:
			bpp, what = 8, "16-bit PNG"
		case color.Gray16Model:
			bpp, what = 2, "16-bit PNG"
		case color.GrayModel:
			bpp, what = 1, "PNG"
		default:
			bpp, what = 4, "PNG"
		}
		if len(head) > 28 && head[28] == 1 { // IHDR interlace method: Adam7
			bpp, what = 2*bpp, "interlaced "+what
		}
	}
	return cost{bpp, what}
}

// mpx formats a pixel count as megapixels: "24 Mpx", "16.78 Mpx".
func mpx(n int64) string {
	return strconv.FormatFloat(float64(n)/1e6, 'g', 4, 64) + " Mpx"
}

// mib formats a byte count in MiB when it is a whole number of them.
func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// FormatError reports data that is not a JPEG, PNG or BMP image.
type FormatError struct {
	Head []byte // up to the first 8 bytes
	Name string // the format recognised, if any ("GIF", "WebP", …)
}

func (e *FormatError) Error() string {
	if e.Name != "" {
		return e.Name + " images are not supported: want JPEG, PNG or BMP"
	}
	if len(e.Head) == 0 {
		return "empty file: want JPEG, PNG or BMP"
	}
	return fmt.Sprintf("unknown image format (first bytes % x): want JPEG, PNG or BMP", e.Head)
}

// format is a supported encoding.
type format int

const (
	formatJPEG format = iota
	formatPNG
	formatBMP
)

func (f format) String() string { return [...]string{"jpeg", "png", "bmp"}[f] }

func (f format) config(r io.Reader) (image.Config, error) {
	switch f {
	case formatJPEG:
		return jpeg.DecodeConfig(r)
	case formatPNG:
		return png.DecodeConfig(r)
	}
	return bmp.DecodeConfig(r)
}

func (f format) decode(r io.Reader) (image.Image, error) {
	switch f {
	case formatJPEG:
		return jpeg.Decode(r)
	case formatPNG:
		return png.Decode(r)
	}
	return bmp.Decode(r)
}

// headLen is how many leading bytes sniff looks at.
const headLen = 12

// sniff chooses the format from the first bytes of the data.
func sniff(head []byte) (format, error) {
	head = head[:min(len(head), headLen)]
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xd8}):
		return formatJPEG, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG, nil
	case bytes.HasPrefix(head, []byte("BM")):
		return formatBMP, nil
	}
	fe := &FormatError{Head: bytes.Clone(head[:min(len(head), 8)])}
	switch {
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		fe.Name = "GIF"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		fe.Name = "WebP"
	case len(head) >= 12 && string(head[4:8]) == "ftyp" && (string(head[8:12]) == "heic" || string(head[8:12]) == "heix" || string(head[8:12]) == "mif1"):
		fe.Name = "HEIC"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		fe.Name = "TIFF"
	}
	return 0, fe
}

// ReadFile decodes the JPEG, PNG or BMP file at path within lim. Errors
// name the file: "photo.png: 30000x30000 pixels exceeds the 24 Mpx limit".
// The file is streamed: only its header is buffered besides the image.
func ReadFile(path string, lim Limits) (image.Image, error) {
	return ReadFileFit(path, lim, 0)
}

// ReadFileFit is ReadFile for a consumer that needs only fit pixels on
// the image's shorter side (a 224×224 model, a camera frame): a larger
// image comes back smaller, its shorter side between fit and 2×fit (see
// Fit). A large baseline JPEG is decoded at 1/2, 1/4 or 1/8 scale, so
// its full size is never in memory. fit ≤ 0 keeps the full size.
func ReadFileFit(path string, lim Limits, fit int) (image.Image, error) {
	lim = lim.WithDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > lim.MaxBytes {
		return nil, fmt.Errorf("%s: %w", path, &LimitError{Kind: LimitBytes, Bytes: fi.Size(), Max: lim.MaxBytes})
	}
	img, err := decodeStream(bufio.NewReaderSize(f, 64<<10), lim, fit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Decode decodes a JPEG, PNG or BMP image read from r within lim (an
// upload, a file already open). Only the header is buffered.
func Decode(r io.Reader, lim Limits) (image.Image, error) {
	return decodeStream(r, lim.WithDefaults(), 0)
}

// DecodeFit is Decode for a consumer that needs only fit pixels on the
// image's shorter side, as ReadFileFit.
func DecodeFit(r io.Reader, lim Limits, fit int) (image.Image, error) {
	return decodeStream(r, lim.WithDefaults(), fit)
}

// decodeStream checks the header of the image read from r against lim,
// then decodes it from the buffered header followed by the rest of r.
func decodeStream(r io.Reader, lim Limits, fit int) (image.Image, error) {
	rr := &replay{r: &capReader{r: r, left: lim.MaxBytes, max: lim.MaxBytes}, record: true}
	head := make([]byte, headLen)
	n, err := io.ReadFull(rr, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, readError(err)
	}
	f, err := sniff(head[:n])
	if err != nil {
		return nil, err
	}
	rr.rewind(true)
	cfg, err := f.config(rr)
	if err != nil {
		return nil, decodeError(f, "header", err)
	}
	if err := lim.Check(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	if f == formatJPEG {
		if err := rr.addHuffmanTables(); err != nil {
			return nil, readError(err)
		}
		if k := reduceScale(cfg.Width, cfg.Height, fit); k < 8 {
			if h, start, err := parseJPEGHeader(rr.buf); err == nil && h.reducible() {
				rr.pos, rr.record = start, false
				img, err := decodeReduced(h, bufio.NewReaderSize(rr, 32<<10), k)
				if err != nil {
					return nil, decodeError(f, "", err)
				}
				return Fit(img, fit), nil
			}
		}
	}
	if f == formatPNG && fit > 0 && min(cfg.Width, cfg.Height) >= 2*fit {
		if h, err := parsePNGHeader(rr.buf); err == nil {
			rr.pos, rr.record = pngIHDREnd, false
			img, err := decodePNGRows(h, bufio.NewReaderSize(rr, 32<<10), min(cfg.Width, cfg.Height)/fit)
			if err != nil {
				return nil, decodeError(f, "", err)
			}
			return img, nil
		}
	}
	if err := lim.checkCost(cfg.Width, cfg.Height, decodeCost(f, cfg, rr.buf)); err != nil {
		return nil, err
	}
	rr.rewind(false)
	img, err := f.decode(rr)
	if err != nil {
		return nil, decodeError(f, "", err)
	}
	return Fit(img, fit), nil
}

// readError passes a *LimitError on as it is and wraps other read errors.
func readError(err error) error {
	if le, ok := errors.AsType[*LimitError](err); ok {
		return le
	}
	return fmt.Errorf("read image: %w", err)
}

// decodeError wraps an error of format f's decoder; a *LimitError met
// while reading is returned as it is.
func decodeError(f format, what string, err error) error {
	if le, ok := errors.AsType[*LimitError](err); ok {
		return le
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("decode %s: truncated file: %w", f, err)
	}
	if what != "" {
		return fmt.Errorf("decode %s %s: %w", f, what, err)
	}
	return fmt.Errorf("decode %s: %w", f, err)
}

// capReader reads from r and fails with a *LimitError once more than max
// bytes were read.
type capReader struct {
	r         io.Reader
	left, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Probe for one more byte: exactly max bytes is fine.
		var b [1]byte
		n, err := c.r.Read(b[:])
		if n > 0 {
			return 0, &LimitError{Kind: LimitBytes, Max: c.max}
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// replay reads from r, recording what it reads while record is set, and
// after rewind serves the recording again before reading on from r. It
// lets the header be read twice (config, then decode) without reading the
// whole image into memory.
type replay struct {
	r      io.Reader
	buf    []byte
	pos    int
	record bool
}

func (p *replay) Read(b []byte) (int, error) {
	if p.pos < len(p.buf) {
		n := copy(b, p.buf[p.pos:])
		p.pos += n
		return n, nil
	}
	if !p.record && p.buf != nil {
		p.buf, p.pos = nil, 0 // replayed: let the header go
	}
	n, err := p.r.Read(b)
	if p.record && n > 0 {
		p.buf = append(p.buf, b[:n]...)
		p.pos += n
	}
	return n, err
}

// rewind serves the recording again from its start; record says whether
// reads past it are recorded too.
func (p *replay) rewind(record bool) {
	p.pos = 0
	p.record = record
}

// maxJPEGHeader bounds how much of a JPEG is read to find its first scan.
const maxJPEGHeader = 1 << 20

// addHuffmanTables reads the JPEG header up to its first scan (at most
// maxJPEGHeader bytes) and, when it defines no Huffman tables, inserts
// the standard ones into the recording. Malformed headers are left for
// the decoder to report.
func (p *replay) addHuffmanTables() error {
	p.record = true
	p.pos = len(p.buf)
	chunk := make([]byte, 4096)
	for {
		sos, has, st := huffmanInsertPos(p.buf)
		switch st {
		case headerOK:
			if end := sosEnd(p.buf, sos); end > len(p.buf) && len(p.buf) < maxJPEGHeader {
				break // read on: the scan header too
			}
			if !has {
				out := make([]byte, 0, len(p.buf)+len(standardDHT))
				out = append(out, p.buf[:sos]...)
				out = append(out, standardDHT[:]...)
				p.buf = append(out, p.buf[sos:]...)
			}
			return nil
		case headerBad:
			return nil
		}
		if len(p.buf) >= maxJPEGHeader {
			return nil
		}
		n, err := p.Read(chunk)
		if n == 0 && err != nil {
			if err == io.EOF {
				return nil // truncated: the decoder says so
			}
			return err
		}
	}
}

// Decoder decodes images held in memory, such as MJPEG camera frames, with
// the same formats and limits as Decode. It keeps a scratch buffer between
// calls and is not safe for concurrent use. The zero value uses the
// default limits.
type Decoder struct {
	Limits Limits
	// Fit, when positive, is the shorter side the consumer needs: larger
	// images come back smaller, as with ReadFileFit.
	Fit int

	buf []byte
	r   bytes.Reader
}

// Decode decodes one JPEG, PNG or BMP image; JPEG frames without Huffman
// tables get the standard ones. The result does not alias data.
// Baseline JPEG decodes to *image.YCbCr (or *image.Gray).
func (d *Decoder) Decode(data []byte) (image.Image, error) {
	lim := d.Limits.WithDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, &LimitError{Kind: LimitBytes, Bytes: int64(len(data)), Max: lim.MaxBytes}
	}
	f, err := sniff(data)
	if err != nil {
		return nil, err
	}
	d.r.Reset(data)
	cfg, err := f.config(&d.r)
	if err != nil {
		return nil, decodeError(f, fmt.Sprintf("header (%d bytes)", len(data)), err)
	}
	if err := lim.Check(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	if f == formatJPEG {
		if sos, has, st := huffmanInsertPos(data); st == headerOK && !has {
			d.buf = append(d.buf[:0], data[:sos]...)
			d.buf = append(d.buf, standardDHT[:]...)
			d.buf = append(d.buf, data[sos:]...)
			data = d.buf
		}
		if k := reduceScale(cfg.Width, cfg.Height, d.Fit); k < 8 {
			if h, start, err := parseJPEGHeader(data); err == nil && h.reducible() {
				d.r.Reset(data[start:])
				img, err := decodeReduced(h, bufio.NewReader(&d.r), k)
				if err != nil {
					return nil, decodeError(f, "", err)
				}
				return Fit(img, d.Fit), nil
			}
		}
	}
	if f == formatPNG && d.Fit > 0 && min(cfg.Width, cfg.Height) >= 2*d.Fit {
		if h, err := parsePNGHeader(data); err == nil {
			d.r.Reset(data[pngIHDREnd:])
			img, err := decodePNGRows(h, bufio.NewReader(&d.r), min(cfg.Width, cfg.Height)/d.Fit)
			if err != nil {
				return nil, decodeError(f, "", err)
			}
			return img, nil
		}
	}
	if err := lim.checkCost(cfg.Width, cfg.Height, decodeCost(f, cfg, data)); err != nil {
		return nil, err
	}
	d.r.Reset(data)
	img, err := f.decode(&d.r)
	if err != nil {
		return nil, decodeError(f, "", err)
	}
	return Fit(img, d.Fit), nil
}
