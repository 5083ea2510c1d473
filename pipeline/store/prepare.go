package store

import (
	"fmt"
	"image"
	"image/draw"
	"math"
	"math/rand/v2"

	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/preprocess"
	"github.com/alphad/alphad/pipeline/tflite"
)

// Prepare turns a stored sample image into a filler of the backbone's
// input tensor. ImageFill is the default; the daemon may pass the camera
// pipeline's own so that training and live classification match.
type Prepare func(img image.Image) head.Fill

// CenterCrop returns the largest centred square of img resized to
// size×size with bilinear interpolation (half-pixel centres), as RGBA:
// what Teachable Machine does to a frame before the model.
func CenterCrop(img image.Image, size int) *image.RGBA {
	src := toRGBA(img)
	b := src.Bounds()
	side := min(b.Dx(), b.Dy())
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	return resize(src, image.Rect(x0, y0, x0+side, y0+side), size, size)
}

// Mirror returns img flipped left-right.
func Mirror(img image.Image) *image.RGBA {
	src := toRGBA(img)
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		s := src.Pix[(y)*src.Stride:]
		d := dst.Pix[y*dst.Stride:]
		w := b.Dx()
		for x := range w {
			copy(d[4*x:4*x+4], s[4*(w-1-x):4*(w-1-x)+4])
		}
	}
	return dst
}

// CropView is a seeded random square crop of 75–90 % of img's shorter
// side, resized back to img's width: an augmented training view.
func CropView(img image.Image, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
	src := toRGBA(img)
	b := src.Bounds()
	side := min(b.Dx(), b.Dy())
	s := max(side*(75+r.IntN(16))/100, 1)
	x0 := r.IntN(b.Dx() - s + 1)
	y0 := r.IntN(b.Dy() - s + 1)
	return resize(src, image.Rect(x0, y0, x0+s, y0+s), b.Dx(), b.Dx())
}

func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Bounds().Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	r := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(r, r.Bounds(), img, b.Min, draw.Src)
	return r
}

// resize scales the rect part of src to w×h bilinearly.
func resize(src *image.RGBA, rect image.Rectangle, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sw, sh := rect.Dx(), rect.Dy()
	if sw == w && sh == h {
		for y := range h {
			copy(dst.Pix[y*dst.Stride:y*dst.Stride+4*w], src.Pix[(rect.Min.Y+y)*src.Stride+4*rect.Min.X:])
		}
		return dst
	}
	sx, sy := float64(sw)/float64(w), float64(sh)/float64(h)
	for y := range h {
		fy := math.Max((float64(y)+0.5)*sy-0.5, 0)
		y0 := min(int(fy), sh-1)
		y1 := min(y0+1, sh-1)
		wy := float32(fy - float64(y0))
		r0 := src.Pix[(rect.Min.Y+y0)*src.Stride:]
		r1 := src.Pix[(rect.Min.Y+y1)*src.Stride:]
		for x := range w {
			fx := math.Max((float64(x)+0.5)*sx-0.5, 0)
			x0 := min(int(fx), sw-1)
			x1 := min(x0+1, sw-1)
			wx := float32(fx - float64(x0))
			a, b := 4*(rect.Min.X+x0), 4*(rect.Min.X+x1)
			d := dst.Pix[y*dst.Stride+4*x:]
			for c := range 4 {
				top := float32(r0[a+c]) + wx*(float32(r0[b+c])-float32(r0[a+c]))
				bot := float32(r1[a+c]) + wx*(float32(r1[b+c])-float32(r1[a+c]))
				d[c] = uint8(top + wy*(bot-top) + 0.5)
			}
		}
	}
	return dst
}

// ImageFill writes img into the input tensor exactly as live frames are
// (package preprocess: centre square, bilinear resize, x/127.5−1 for float
// inputs, raw pixel codes for Teachable Machine's and Google's quantized
// models), so training and classification see the same tensors.
func ImageFill(img image.Image) head.Fill {
	return func(dst []byte, t *tflite.Tensor) error {
		p, err := preprocess.New(t, preprocess.Options{})
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return p.Image(dst, img)
	}
}
