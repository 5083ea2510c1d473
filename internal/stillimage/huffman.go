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
