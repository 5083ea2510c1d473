// Package mjpegtest helps tests build MJPEG frames the way USB cameras
// send them.
package mjpegtest

import "testing"

// JPEG markers (ITU T.81 B.1.1.3).
const (
	markerSOS = 0xda // start of scan: entropy-coded data follows
	markerDHT = 0xc4 // Huffman tables
)

// StripDHT returns a copy of the JPEG b without the DHT (Huffman table)
// segments before its first start of scan, as many webcams send MJPEG
// frames. It fails t when b is not a run of marker segments up to a start
// of scan.
func StripDHT(t testing.TB, b []byte) []byte {
	t.Helper()
	if len(b) < 2 {
		t.Fatalf("mjpegtest: %d bytes is no JPEG", len(b))
	}
	out := append([]byte(nil), b[:2]...)
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			t.Fatalf("mjpegtest: no marker at %d", i)
		}
		m, n := b[i+1], int(b[i+2])<<8|int(b[i+3])
		if m == markerSOS {
			return append(out, b[i:]...)
		}
		if m != markerDHT {
			out = append(out, b[i:i+2+n]...)
		}
		i += 2 + n
	}
	t.Fatal("mjpegtest: no start of scan")
	return nil
}
