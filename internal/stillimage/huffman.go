package stillimage

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

// headerState is what huffmanInsertPos found.
type headerState int

const (
	headerOK   headerState = iota // the first SOS was found
	headerMore                    // b ends before the first SOS
	headerBad                     // b is not a well-formed JPEG header
)

// huffmanInsertPos walks the marker segments of a JPEG image up to its
// first SOS. It returns the offset of that SOS marker and whether a DHT
// segment came before it.
func huffmanInsertPos(b []byte) (sos int, hasDHT bool, st headerState) {
	if len(b) < 2 {
		return 0, false, headerMore
	}
	if b[0] != 0xff || b[1] != markerSOI {
		return 0, false, headerBad
	}
	i := 2
	for {
		if i >= len(b) {
			return 0, false, headerMore
		}
		if b[i] != 0xff {
			return 0, false, headerBad
		}
		// Any number of 0xFF fill bytes may precede a marker.
		j := i + 1
		for j < len(b) && b[j] == 0xff {
			j++
		}
		if j >= len(b) {
			return 0, false, headerMore
		}
		m := b[j]
		switch {
		case m == markerSOS:
			return i, hasDHT, headerOK
		case m == markerDHT:
			hasDHT = true
		case m == markerEOI || m == markerSOI || m == 0:
			return 0, false, headerBad
		}
		if standalone(m) {
			i = j + 1
			continue
		}
		if j+2 >= len(b) {
			return 0, false, headerMore
		}
		n := int(b[j+1])<<8 | int(b[j+2])
		if n < 2 {
			return 0, false, headerBad
		}
		i = j + 1 + n
	}
}

// HasHuffmanTables reports whether the JPEG image b defines Huffman tables
// before its first scan (USB webcams leave them out of MJPEG frames). It
// is false for malformed input.
func HasHuffmanTables(b []byte) bool {
	_, has, st := huffmanInsertPos(b)
	return st == headerOK && has
}

// jpegFrame reads the frame header (SOFn) of a JPEG: whether it is
// progressive, its number of components and its samples per pixel (1 for
// grey, 1.5 for 4:2:0 YCbCr, 3 for 4:4:4). ok is false when b holds no
// well-formed SOF before the first scan.
func jpegFrame(b []byte) (progressive bool, comps int, planes float64, ok bool) {
	if len(b) < 4 || b[0] != 0xff || b[1] != markerSOI {
		return false, 0, 0, false
	}
	i := 2
	for i+1 < len(b) && b[i] == 0xff {
		j := i + 1
		for j < len(b) && b[j] == 0xff {
			j++
		}
		if j >= len(b) {
			return false, 0, 0, false
		}
		m := b[j]
		if standalone(m) {
			i = j + 1
			continue
		}
		if m == markerSOS || m == 0 || j+2 >= len(b) {
			return false, 0, 0, false
		}
		n := int(b[j+1])<<8 | int(b[j+2])
		if n < 2 {
			return false, 0, 0, false
		}
		// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
		if m >= 0xc0 && m <= 0xcf && m != markerDHT && m != 0xc8 && m != 0xcc {
			seg := b[j+3 : min(len(b), j+1+n)]
			if len(seg) < 6 {
				return false, 0, 0, false
			}
			comps = int(seg[5])
			if comps < 1 || len(seg) < 6+3*comps {
				return false, 0, 0, false
			}
			hmax, vmax, sum := 1, 1, 0
			for c := range comps {
				h, v := int(seg[7+3*c]>>4), int(seg[7+3*c]&15)
				hmax, vmax, sum = max(hmax, h), max(vmax, v), sum+h*v
			}
			progressive = m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce
			return progressive, comps, float64(sum) / float64(hmax*vmax), true
		}
		i = j + 1 + n
	}
	return false, 0, 0, false
}
