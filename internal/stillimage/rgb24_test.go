package stillimage

import (
	"image"
	"image/color"
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
