// Package mjpeg handles Motion-JPEG as cameras produce it: it splits a
// byte stream of concatenated JPEG frames into frames (robust to garbage
// between frames and a truncated last frame) and decodes frames that lack
// Huffman tables by supplying the standard ones of JPEG Annex K, which USB
// webcams leave out and Go's image/jpeg otherwise rejects with
// "uninitialized Huffman table".
package mjpeg

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// JPEG marker bytes (the byte after 0xFF).
const (
	markerSOI  = 0xd8
	markerEOI  = 0xd9
	markerSOS  = 0xda
	markerDHT  = 0xc4
	markerTEM  = 0x01
	markerRST0 = 0xd0
	markerRST7 = 0xd7
)

// standalone reports whether marker m has no length field.
func standalone(m byte) bool {
	return m == markerSOI || m == markerEOI || m == markerTEM || (m >= markerRST0 && m <= markerRST7)
}

// huffmanInsertPos walks the marker segments of a JPEG image up to its
// first SOS. It returns the offset of that SOS marker and whether a DHT
// segment came before it. ok is false when b is not a well-formed JPEG
// header.
func huffmanInsertPos(b []byte) (sos int, hasDHT, ok bool) {
	if len(b) < 4 || b[0] != 0xff || b[1] != markerSOI {
		return 0, false, false
	}
	i := 2
	for {
		if i+1 >= len(b) || b[i] != 0xff {
			return 0, false, false
		}
		// Any number of 0xFF fill bytes may precede a marker.
		j := i + 1
		for j < len(b) && b[j] == 0xff {
			j++
		}
		if j >= len(b) {
			return 0, false, false
		}
		m := b[j]
		switch {
		case m == markerSOS:
			return i, hasDHT, true
		case m == markerDHT:
			hasDHT = true
		case m == markerEOI || m == markerSOI || m == 0:
			return 0, false, false
		}
		if standalone(m) {
			i = j + 1
			continue
		}
		if j+2 >= len(b) {
			return 0, false, false
		}
		n := int(b[j+1])<<8 | int(b[j+2])
		if n < 2 {
			return 0, false, false
		}
		i = j + 1 + n
	}
}

// Size returns the width and height a JPEG image declares in its frame
// header (SOFn), without decoding it or allocating; ok is false when b has
// no well-formed header before its first scan.
func Size(b []byte) (width, height int, ok bool) {
	if len(b) < 4 || b[0] != 0xff || b[1] != markerSOI {
		return 0, 0, false
	}
	i := 2
	for i+1 < len(b) && b[i] == 0xff {
		j := i + 1
		for j < len(b) && b[j] == 0xff {
			j++
		}
		if j >= len(b) {
			return 0, 0, false
		}
		m := b[j]
		if standalone(m) {
			if m == markerEOI || m == markerSOI {
				return 0, 0, false
			}
			i = j + 1
			continue
		}
		if m == markerSOS || m == 0 || j+2 >= len(b) {
			return 0, 0, false
		}
		n := int(b[j+1])<<8 | int(b[j+2])
		if n < 2 {
			return 0, 0, false
		}
		// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
		if m >= 0xc0 && m <= 0xcf && m != markerDHT && m != 0xc8 && m != 0xcc {
			if n < 7 || j+8 >= len(b) {
				return 0, 0, false
			}
			height = int(b[j+4])<<8 | int(b[j+5])
			width = int(b[j+6])<<8 | int(b[j+7])
			return width, height, width > 0 && height > 0
		}
		i = j + 1 + n
	}
	return 0, 0, false
}

// HasHuffmanTables reports whether the JPEG image b defines Huffman tables
// before its first scan. It is false for malformed input.
func HasHuffmanTables(b []byte) bool {
	_, has, ok := huffmanInsertPos(b)
	return ok && has
}

// AddHuffmanTables appends to dst the JPEG image src with the standard
// Annex K Huffman tables inserted before its first scan, when src defines
// none; otherwise (or when src is malformed) it appends src unchanged. It
// reports whether it inserted the tables.
func AddHuffmanTables(dst, src []byte) ([]byte, bool) {
	sos, has, ok := huffmanInsertPos(src)
	if !ok || has {
		return append(dst, src...), false
	}
	dst = append(dst, src[:sos]...)
	dst = append(dst, standardDHT[:]...)
	return append(dst, src[sos:]...), true
}

// MaxPixels bounds the frame size Decoder accepts (width × height), so a
// corrupt header cannot make it allocate gigabytes.
const MaxPixels = 8192 * 8192

// Decoder decodes MJPEG frames. It reuses a scratch buffer between frames
// and is not safe for concurrent use. The zero value is ready to use.
type Decoder struct {
	buf []byte
	r   bytes.Reader
}

// Decode decodes one JPEG frame, supplying the standard Huffman tables
// when the frame has none. Baseline frames decode to *image.YCbCr (or
// *image.Gray); the result does not alias frame.
func (d *Decoder) Decode(frame []byte) (image.Image, error) {
	data := frame
	if sos, has, ok := huffmanInsertPos(frame); ok && !has {
		d.buf = append(d.buf[:0], frame[:sos]...)
		d.buf = append(d.buf, standardDHT[:]...)
		d.buf = append(d.buf, frame[sos:]...)
		data = d.buf
	}
	d.r.Reset(data)
	cfg, err := jpeg.DecodeConfig(&d.r)
	if err != nil {
		return nil, fmt.Errorf("mjpeg: decode frame header (%d bytes): %w", len(frame), err)
	}
	if cfg.Width*cfg.Height > MaxPixels {
		return nil, fmt.Errorf("mjpeg: frame of %dx%d pixels is larger than %d pixels", cfg.Width, cfg.Height, MaxPixels)
	}
	d.r.Reset(data)
	img, err := jpeg.Decode(&d.r)
	if err != nil {
		return nil, fmt.Errorf("mjpeg: decode frame (%d bytes): %w", len(frame), err)
	}
	return img, nil
}
