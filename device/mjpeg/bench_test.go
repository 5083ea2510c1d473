package mjpeg

import (
	"bytes"
	"image"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
)

func benchJPEG(b *testing.B, w, h int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	for i := range img.Y {
		img.Y[i] = uint8(i/7 + r.IntN(16))
	}
	return mjpegtest.StripDHT(b, encode(b, img))
}

// BenchmarkReader splits a stream of 16 640×480 frames (per stream).
func BenchmarkReader(b *testing.B) {
	frame := benchJPEG(b, 640, 480)
	stream := bytes.Repeat(append(frame, "junk"...), 16)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(stream), 0)
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}
