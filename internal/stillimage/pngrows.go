package stillimage

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"image"
	"io"
)

// Row-streaming PNG decoding. A PNG whose shorter side is at least twice
// what its consumer needs is decoded one row at a time into the averaging
// of Fit, so only two rows and the result are in memory: a 6000×4000 RGB
// PNG costs 24 KB of rows instead of a 96 MB image. The result equals
// Fit(png.Decode(…), fit) pixel for pixel. It handles non-interlaced
// PNGs of 8 or 16 bits per sample (grey, grey+alpha, RGB, RGBA); palette
// and low-depth grey (1 byte per pixel or less when decoded whole) and
// interlaced PNGs go through image/png (errNotStreamable).

var errNotStreamable = errors.New("PNG not streamable")

// pngIHDREnd is the offset just past a PNG's IHDR chunk (signature 8,
// length and type 8, data 13, CRC 4).
const pngIHDREnd = 33

// pngInfo is what the IHDR chunk says.
type pngInfo struct {
	width, height int
	depth, ctype  byte
	interlace     byte
}

// channels per colour type: grey, -, RGB, palette, grey+alpha, -, RGBA.
var pngChannels = [7]int{1, 0, 3, 1, 2, 0, 4}

// parsePNGHeader reads the IHDR from the first bytes of a PNG (at least
// 33) and says whether decodePNGRows handles it.
func parsePNGHeader(b []byte) (pngInfo, error) {
	if len(b) < 33 || string(b[12:16]) != "IHDR" {
		return pngInfo{}, errNotStreamable
	}
	d := b[16:29]
	h := pngInfo{width: int(binary.BigEndian.Uint32(d[0:])), height: int(binary.BigEndian.Uint32(d[4:])),
		depth: d[8], ctype: d[9], interlace: d[12]}
	switch {
	case h.interlace != 0, h.depth != 8 && h.depth != 16, h.ctype > 6, h.ctype == 3, pngChannels[h.ctype] == 0:
		return h, errNotStreamable
	case h.ctype == 0 && h.depth == 8:
		return h, errNotStreamable // decodes to 1 byte per pixel: cheap enough whole
	}
	return h, nil
}

// chunkReader serves the data of the consecutive IDAT chunks of a PNG,
// read from r after the IHDR chunk, checking every chunk's CRC.
type chunkReader struct {
	r    *bufio.Reader
	left uint32 // bytes left in the current IDAT chunk
	crc  hash.Hash32
	done bool // the IDAT chunks ended
	seen bool // an IDAT was met
}

// next finds the next IDAT chunk; io.EOF once they end.
func (c *chunkReader) next() error {
	var hdr [8]byte
	for {
		if c.crc != nil {
			if err := c.checkCRC(); err != nil {
				return err
			}
		}
		if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
			return unexpected(err)
		}
		n, typ := binary.BigEndian.Uint32(hdr[:4]), string(hdr[4:8])
		if n > 1<<31-1 {
			return errors.New("chunk length overflow")
		}
		c.crc = crc32.NewIEEE()
		c.crc.Write(hdr[4:8])
		if typ == "IDAT" {
			c.left, c.seen = n, true
			return nil
		}
		if c.seen || typ == "IEND" {
			c.done = true
			return io.EOF
		}
		if typ[0]&0x20 == 0 && typ != "PLTE" {
			return fmt.Errorf("unsupported critical chunk %q", typ)
		}
		if _, err := io.CopyN(c.crc, c.r, int64(n)); err != nil {
			return unexpected(err)
		}
	}
}

func (c *chunkReader) checkCRC() error {
	var b [4]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		return unexpected(err)
	}
	if binary.BigEndian.Uint32(b[:]) != c.crc.Sum32() {
		return errors.New("invalid checksum")
	}
	c.crc = nil
	return nil
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	if uint32(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.crc.Write(p[:n])
	c.left -= uint32(n)
	return n, unexpected(err)
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// decodePNGRows decodes the PNG h describes, read from r just after its
// IHDR chunk, averaging f×f squares of pixels into an RGBA image of
// (width/f)×(height/f) pixels, as Fit does.
func decodePNGRows(h pngInfo, r *bufio.Reader, f int) (image.Image, error) {
	cr := &chunkReader{r: r}
	// The IHDR's CRC has been read with the header; skip to IDAT.
	zr, err := zlib.NewReader(cr)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	ch := pngChannels[h.ctype]
	bpp := ch * int(h.depth) / 8 // bytes per pixel
	rowLen := bpp * h.width
	cur, prev := make([]byte, 1+rowLen), make([]byte, 1+rowLen)
	w, hh := h.width/f, h.height/f
	out := image.NewRGBA(image.Rect(0, 0, w, hh))
	sums := make([]uint32, 3*w)
	n, half := uint32(f*f), uint32(f*f/2)
	step := int(h.depth) / 8 // the high byte of a 16-bit sample comes first
	for y := range hh * f {
		if _, err := io.ReadFull(zr, cur); err != nil {
			return nil, unexpected(err)
		}
		if err := unfilter(cur[0], cur[1:], prev[1:], bpp); err != nil {
			return nil, err
		}
		px := cur[1:]
		for x := range w {
			var r, g, b uint32
			for i := x * f * bpp; i < (x+1)*f*bpp; i += bpp {
				if ch < 3 { // grey, grey+alpha
					v := uint32(px[i])
					r, g, b = r+v, g+v, b+v
				} else {
					r, g, b = r+uint32(px[i]), g+uint32(px[i+step]), b+uint32(px[i+2*step])
				}
			}
			sums[3*x], sums[3*x+1], sums[3*x+2] = sums[3*x]+r, sums[3*x+1]+g, sums[3*x+2]+b
		}
		if y%f == f-1 {
			o := out.Pix[(y/f)*out.Stride:]
			for x := range w {
				o[4*x] = byte((sums[3*x] + half) / n)
				o[4*x+1] = byte((sums[3*x+1] + half) / n)
				o[4*x+2] = byte((sums[3*x+2] + half) / n)
				o[4*x+3] = 0xff
			}
			clear(sums)
		}
		cur, prev = prev, cur
	}
	// The rows past the last whole square, the zlib checksum and the
	// chunks' CRCs are checked as image/png checks them.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, unexpected(err)
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, err
	}
	return out, nil
}

// unfilter reverses PNG filter ft on row cur, given the previous
// (unfiltered) row prev, with bpp bytes per pixel.
func unfilter(ft byte, cur, prev []byte, bpp int) error {
	switch ft {
	case 0:
	case 1: // sub
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // up
		for i := range cur {
			cur[i] += prev[i]
		}
	case 3: // average
		for i := range bpp {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += byte((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4: // Paeth
		for i := range cur {
			var a, c int
			if i >= bpp {
				a, c = int(cur[i-bpp]), int(prev[i-bpp])
			}
			b := int(prev[i])
			p := a + b - c
			pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
			switch {
			case pa <= pb && pa <= pc:
				cur[i] += byte(a)
			case pb <= pc:
				cur[i] += byte(b)
			default:
				cur[i] += byte(c)
			}
		}
	default:
		return fmt.Errorf("bad filter type %d", ft)
	}
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
