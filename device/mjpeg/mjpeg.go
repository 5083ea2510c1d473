// Package mjpeg handles Motion-JPEG as cameras produce it: it splits a
// byte stream of concatenated JPEG frames into frames (robust to garbage
// between frames and a truncated last frame) and reads a frame's size
// from its header. Frames are decoded by internal/stillimage (which
// supplies the standard Huffman tables USB webcams leave out), with the
// same limits as every other image.
package mjpeg

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
