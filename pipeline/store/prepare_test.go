package store

import (
	"bytes"
	"image"
	"image/draw"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestCropRows checks that cropping straight from a decoded image, row by
// row, gives exactly what cropping its whole RGBA conversion gives.
func TestCropRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ycc := image.NewYCbCr(image.Rect(0, 0, 301, 199), image.YCbCrSubsampleRatio420)
	for _, p := range [][]byte{ycc.Y, ycc.Cb, ycc.Cr} {
		for i := range p {
			p[i] = byte(r.Uint32())
		}
	}
	nrgba := image.NewNRGBA(image.Rect(-5, 7, 180, 260))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = byte(r.Uint32())
	}
	gray := image.NewGray(image.Rect(0, 0, 224, 224))
	for i := range gray.Pix {
		gray.Pix[i] = byte(r.Uint32())
	}
	for _, tt := range []struct {
		name string
		img  image.Image
	}{{"ycbcr 4:2:0", ycc}, {"nrgba at an offset", nrgba}, {"gray at the output size", gray}} {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.img.Bounds()
			whole := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
			draw.Draw(whole, whole.Bounds(), tt.img, b.Min, draw.Src)
			if got, want := CenterCrop(tt.img, 224), CenterCrop(whole, 224); !bytes.Equal(got.Pix, want.Pix) {
				t.Fatal("CenterCrop differs from cropping the whole RGBA conversion")
			}
			if got, want := CropView(tt.img, 99), CropView(whole, 99); !bytes.Equal(got.Pix, want.Pix) {
				t.Fatal("CropView differs from cropping the whole RGBA conversion")
			}
		})
	}
}

// TestCropMemory: cropping a 12 Mpx photo allocates the output and two
// rows, not a 48 MB RGBA copy.
func TestCropMemory(t *testing.T) {
	ycc := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	CenterCrop(ycc, 224)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("CenterCrop of 4000x3000 allocated %d bytes", got)
	}
}

func BenchmarkCenterCrop(b *testing.B) {
	for _, s := range []struct{ w, h int }{{640, 480}, {4000, 3000}} {
		ycc := image.NewYCbCr(image.Rect(0, 0, s.w, s.h), image.YCbCrSubsampleRatio420)
		b.Run(image.Pt(s.w, s.h).String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				CenterCrop(ycc, 224)
			}
		})
	}
}
