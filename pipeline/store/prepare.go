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
// what Teachable Machine does to a frame before the model. Only the source
// rows the resize reads are converted to RGBA, two at a time, so a large
// photo is never converted whole.
func CenterCrop(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	return resize(newRGBARows(img, image.Rect(x0, y0, x0+side, y0+side)), size, size)
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
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	s := max(side*(75+r.IntN(16))/100, 1)
	x0 := b.Min.X + r.IntN(b.Dx()-s+1)
	y0 := b.Min.Y + r.IntN(b.Dy()-s+1)
	return resize(newRGBARows(img, image.Rect(x0, y0, x0+s, y0+s)), b.Dx(), b.Dx())
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

// rgbaRows serves the rows of the rect part of an image as RGBA bytes.
// An *image.RGBA is read in place; other images are converted one row at
// a time into two scratch rows (rows y and y+1, the pair a bilinear resize
// reads, never share one).
type rgbaRows struct {
	img     image.Image
	rect    image.Rectangle
	rgba    *image.RGBA // img, when it is already RGBA
	scratch [2]*image.RGBA
	have    [2]int // the source row held by scratch[i], -1 if none
}

func newRGBARows(img image.Image, rect image.Rectangle) *rgbaRows {
	r := &rgbaRows{img: img, rect: rect, have: [2]int{-1, -1}}
	r.rgba, _ = img.(*image.RGBA)
	return r
}

// row returns row y (0 = rect.Min.Y) of the rect: 4·rect.Dx() bytes,
// valid until row is asked for y+2 or y−2.
func (r *rgbaRows) row(y int) []byte {
	y += r.rect.Min.Y
	n := 4 * r.rect.Dx()
	if r.rgba != nil {
		o := r.rgba.PixOffset(r.rect.Min.X, y)
		return r.rgba.Pix[o : o+n]
	}
	i := y & 1
	if r.scratch[i] == nil {
		r.scratch[i] = image.NewRGBA(image.Rect(0, 0, r.rect.Dx(), 1))
	}
	if r.have[i] != y {
		draw.Draw(r.scratch[i], r.scratch[i].Bounds(), r.img, image.Pt(r.rect.Min.X, y), draw.Src)
		r.have[i] = y
	}
	return r.scratch[i].Pix[:n]
}

// resize scales the rect of src to w×h bilinearly.
func resize(src *rgbaRows, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sw, sh := src.rect.Dx(), src.rect.Dy()
	if sw == w && sh == h {
		for y := range h {
			copy(dst.Pix[y*dst.Stride:y*dst.Stride+4*w], src.row(y))
		}
		return dst
	}
	sx, sy := float64(sw)/float64(w), float64(sh)/float64(h)
	for y := range h {
		fy := math.Max((float64(y)+0.5)*sy-0.5, 0)
		y0 := min(int(fy), sh-1)
		y1 := min(y0+1, sh-1)
		wy := float32(fy - float64(y0))
		r0 := src.row(y0)
		r1 := src.row(y1)
		for x := range w {
			fx := math.Max((float64(x)+0.5)*sx-0.5, 0)
			x0 := min(int(fx), sw-1)
			x1 := min(x0+1, sw-1)
			wx := float32(fx - float64(x0))
			a, b := 4*x0, 4*x1
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
