package stillimage

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
)

// benchImage is a seeded noisy gradient, so that encoders cannot shrink
// it to nothing.
func benchImage(w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = uint8(x+r.IntN(16)), uint8(y+r.IntN(16)), uint8(x+y), 255
		}
	}
	return img
}

var benchSizes = []struct{ w, h int }{{320, 240}, {640, 480}, {1280, 720}, {4000, 3000}}

// BenchmarkDecoder decodes camera frames (JPEG without Huffman tables)
// held in memory, the MJPEG camera path.
func BenchmarkDecoder(b *testing.B) {
	for _, s := range benchSizes[:3] {
		b.Run(fmt.Sprintf("mjpeg/%dx%d", s.w, s.h), func(b *testing.B) {
			frame := mjpegtest.StripDHT(b, encode(b, benchImage(s.w, s.h)))
			var d Decoder
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decode(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode streams JPEG and PNG files of growing size, the path of
// classify, dataset add and the dir: camera.
func BenchmarkDecode(b *testing.B) {
	for _, s := range benchSizes {
		img := benchImage(s.w, s.h)
		files := []struct {
			name string
			data []byte
		}{{"jpeg", encode(b, img)}}
		if s.w <= 1280 { // encoding a 12 Mpx PNG would take most of the run
			files = append(files, struct {
				name string
				data []byte
			}{"png", encodePNG(b, img)})
		}
		for _, f := range files {
			b.Run(fmt.Sprintf("%s/%dx%d", f.name, s.w, s.h), func(b *testing.B) {
				b.SetBytes(int64(len(f.data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Decode(bytes.NewReader(f.data), Limits{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRefuse is the cost of refusing a 33-byte PNG that claims
// 30000×30000 pixels: a header read, no pixel memory.
func BenchmarkRefuse(b *testing.B) {
	bomb := pngHeader(30000, 30000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(bomb), Limits{}); err == nil {
			b.Fatal("decoded")
		}
	}
}

// BenchmarkRGB24 packs decoded images into RGB24 frames.
func BenchmarkRGB24(b *testing.B) {
	rgba := benchImage(640, 480)
	var d Decoder
	ycc, err := d.Decode(encode(b, rgba))
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []struct {
		name string
		img  image.Image
	}{{"rgba", rgba}, {"ycbcr", ycc}} {
		b.Run(m.name+"/640x480", func(b *testing.B) {
			buf := RGB24(nil, m.img)
			b.ReportAllocs()
			for b.Loop() {
				buf = RGB24(buf, m.img)
			}
		})
	}
}
