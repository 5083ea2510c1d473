package mjpeg

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// DefaultMaxFrame bounds the size of one frame when NewReader is given 0.
const DefaultMaxFrame = 8 << 20

// scan results of scanFrame.
type scanResult int

const (
	needMore scanResult = iota // b ends inside the frame
	complete                   // b[:n] is the frame, SOI through EOI
	corrupt                    // not a frame: resume searching at b[n:]
)

// scanFrame finds the end of the JPEG image that starts with the SOI at
// b[0]. It follows the marker segments by their lengths (so an EOI inside
// an embedded thumbnail does not end the frame) and, after each SOS, the
// entropy-coded data up to the next marker that is not a stuffed 0xFF00 or
// a restart marker.
func scanFrame(b []byte) (n int, res scanResult) {
	i := 2
	for {
		if i >= len(b) {
			return 0, needMore
		}
		if b[i] != 0xff {
			return 2, corrupt
		}
		j := i + 1
		for j < len(b) && b[j] == 0xff {
			j++
		}
		if j >= len(b) {
			return 0, needMore
		}
		m := b[j]
		switch {
		case m == markerEOI:
			return j + 1, complete
		case m == markerSOI:
			// A new frame starts: this one was cut short.
			return j - 1, corrupt
		case m == 0:
			return 2, corrupt
		case standalone(m):
			i = j + 1
			continue
		}
		if j+2 >= len(b) {
			return 0, needMore
		}
		length := int(b[j+1])<<8 | int(b[j+2])
		if length < 2 {
			return 2, corrupt
		}
		i = j + 1 + length
		if m != markerSOS {
			continue
		}
		// Entropy-coded data: 0xFF is followed by 0x00 (stuffing), a
		// restart marker, more 0xFF fill, or a real marker.
		for {
			if i >= len(b) {
				return 0, needMore
			}
			k := bytes.IndexByte(b[i:], 0xff)
			if k < 0 {
				return 0, needMore
			}
			k += i
			if k+1 >= len(b) {
				return 0, needMore
			}
			next := b[k+1]
			if next == 0 || (next >= markerRST0 && next <= markerRST7) {
				i = k + 2
				continue
			}
			if next == 0xff {
				i = k + 1
				continue
			}
			i = k
			break
		}
	}
}

var soi = []byte{0xff, markerSOI}

// SplitFrames returns a bufio.SplitFunc that yields whole JPEG frames
// (SOI through EOI) from a stream of concatenated frames, skipping bytes
// between frames, frames cut short by a following SOI, frames longer than
// maxFrame bytes, and a truncated frame at the end of the stream.
func SplitFrames(maxFrame int) bufio.SplitFunc {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	// bufio.Scanner stops at EOF after any call that yields no token, so
	// one call skips all the garbage it can before it returns.
	return func(data []byte, atEOF bool) (int, []byte, error) {
		off := 0
		for {
			rest := data[off:]
			start := bytes.Index(rest, soi)
			if start < 0 {
				if !atEOF && len(rest) > 0 && rest[len(rest)-1] == 0xff {
					return len(data) - 1, nil, nil // may be the first half of an SOI
				}
				return len(data), nil, nil
			}
			n, res := scanFrame(rest[start:])
			switch {
			case res == complete && n <= maxFrame:
				return off + start + n, rest[start : start+n], nil
			case res == corrupt:
				off += start + n
			case res == complete || atEOF || len(rest)-start > maxFrame:
				// Oversized, or truncated by the end of the stream: look
				// for a frame further on. An oversized frame is skipped
				// the same way whether it arrived whole or in pieces.
				off += start + 2
			default:
				return off + start, nil, nil // need more data
			}
		}
	}
}

// Reader reads JPEG frames from a byte stream of concatenated frames, such
// as `rpicam-vid --codec mjpeg -o -` writes or a .mjpeg file.
type Reader struct {
	sc *bufio.Scanner
}

// NewReader returns a Reader of r. Frames longer than maxFrame bytes are
// skipped (0 means DefaultMaxFrame).
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	sc := bufio.NewScanner(r)
	// The scanner's limit is above maxFrame so that SplitFrames, not the
	// scanner, decides what is too long.
	sc.Buffer(make([]byte, 0, 256<<10), maxFrame+64<<10)
	sc.Split(SplitFrames(maxFrame))
	return &Reader{sc: sc}
}

// Next returns the next frame, valid until the following call, or io.EOF
// at the end of the stream.
func (r *Reader) Next() ([]byte, error) {
	if r.sc.Scan() {
		return r.sc.Bytes(), nil
	}
	if err := r.sc.Err(); err != nil {
		return nil, fmt.Errorf("mjpeg: read stream: %w", err)
	}
	return nil, io.EOF
}
