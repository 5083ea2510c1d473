package stillimage

import (
	"bytes"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeFit: the reduced JPEG decoder and the row-streaming PNG
// decoder never panic, Decoder and DecodeFit agree, and a result is never
// larger than the image's header said.
func FuzzDecodeFit(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.jpg")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(10))
		f.Add(b, uint8(30))
	}
	f.Add(encodePNG(f, solid(60, 40, color.RGBA{1, 2, 3, 4})), uint8(5))
	g16 := image.NewGray16(image.Rect(0, 0, 30, 20))
	g16.Pix[7] = 200
	f.Add(encodePNG(f, g16), uint8(4))
	lim := Limits{MaxWidth: 1000, MaxHeight: 1000, MaxPixels: 300_000, MaxBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, b []byte, fit uint8) {
		n := 1 + int(fit%64)
		d := Decoder{Limits: lim, Fit: n}
		m1, err1 := d.Decode(b)
		m2, err2 := DecodeFit(bytes.NewReader(b), lim, n)
		if (err1 == nil) != (m1 != nil) || (err2 == nil) != (m2 != nil) {
			t.Fatalf("image %v with error %v / image %v with error %v", m1, err1, m2, err2)
		}
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Decoder: %v, DecodeFit: %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		if m1.Bounds() != m2.Bounds() {
			t.Fatalf("bounds %v and %v", m1.Bounds(), m2.Bounds())
		}
		if r := m1.Bounds(); lim.Check(r.Dx(), r.Dy()) != nil {
			t.Fatalf("decoded %v, over %+v", r, lim)
		}
	})
}
