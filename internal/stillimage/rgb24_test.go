package stillimage

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	return img
}

func TestRGB24(t *testing.T) {
	c := color.RGBA{10, 20, 30, 255}
	ycc := image.NewYCbCr(image.Rect(0, 0, 2, 2), image.YCbCrSubsampleRatio420)
	y, cb, cr := color.RGBToYCbCr(10, 20, 30)
	for i := range ycc.Y {
		ycc.Y[i] = y
	}
	ycc.Cb[0], ycc.Cr[0] = cb, cr
	gray := image.NewGray(image.Rect(0, 0, 2, 2))
	for i := range gray.Pix {
		gray.Pix[i] = 77
	}
	nrgba := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	for i := 0; i < len(nrgba.Pix); i += 4 {
		copy(nrgba.Pix[i:], []byte{10, 20, 30, 0})
	}
	pal := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{c})
	tests := []struct {
		name string
		img  image.Image
		want [3]byte
	}{
		{"rgba", solid(2, 2, c), [3]byte{10, 20, 30}},
		{"nrgba ignores alpha", nrgba, [3]byte{10, 20, 30}},
		{"gray", gray, [3]byte{77, 77, 77}},
		{"ycbcr", ycc, [3]byte{10, 20, 30}},
		{"paletted", pal, [3]byte{10, 20, 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := RGB24(nil, tt.img)
			if len(out) != 12 {
				t.Fatalf("len %d", len(out))
			}
			for i := 0; i < 12; i += 3 {
				for k := range 3 {
					if d := int(out[i+k]) - int(tt.want[k]); d > 1 || d < -1 {
						t.Fatalf("pixel %d = %v, want %v", i/3, out[i:i+3], tt.want)
					}
				}
			}
		})
	}
}

// rgb24Ref is the plain reference loop the fast paths must match.
func rgb24Ref(img image.Image) []byte {
	b := img.Bounds()
	var out []byte
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bb>>8))
		}
	}
	return out
}

// TestRGB24FastPaths compares every fast path with the reference loop on
// opaque seeded pixels, in images at an offset inside larger ones.
func TestRGB24FastPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rect := image.Rect(-3, 2, 14, 11)
	fill := func(pix []byte, step, alpha int) {
		for i := range pix {
			pix[i] = byte(r.Uint32())
		}
		if step > 0 { // opaque alpha bytes
			for i := alpha; i < len(pix); i += step {
				pix[i] = 255
				if step == 8 {
					pix[i+1] = 255
				}
			}
		}
	}
	rgba, nrgba := image.NewRGBA(rect), image.NewNRGBA(rect)
	rgba64, nrgba64 := image.NewRGBA64(rect), image.NewNRGBA64(rect)
	gray, gray16 := image.NewGray(rect), image.NewGray16(rect)
	fill(rgba.Pix, 4, 3)
	fill(nrgba.Pix, 4, 3)
	fill(rgba64.Pix, 8, 6)
	fill(nrgba64.Pix, 8, 6)
	fill(gray.Pix, 0, 0)
	fill(gray16.Pix, 0, 0)
	// RGBA is premultiplied: keep colour ≤ alpha (255) trivially true.
	sub := image.Rect(-1, 4, 12, 10)
	for _, tt := range []struct {
		name string
		img  interface {
			image.Image
			SubImage(image.Rectangle) image.Image
		}
	}{{"rgba", rgba}, {"nrgba", nrgba}, {"rgba64", rgba64}, {"nrgba64", nrgba64}, {"gray", gray}, {"gray16", gray16}} {
		t.Run(tt.name, func(t *testing.T) {
			for _, img := range []image.Image{tt.img, tt.img.SubImage(sub)} {
				if got, want := RGB24(nil, img), rgb24Ref(img); !bytes.Equal(got, want) {
					t.Fatalf("%v: RGB24 differs from the reference loop", img.Bounds())
				}
			}
		})
	}
}
