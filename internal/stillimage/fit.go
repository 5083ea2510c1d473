package stillimage

import "image"

// Fit shrinks img by a whole factor, averaging each factor×factor square
// of pixels, when its shorter side is at least 2×side: the result's
// shorter side is then between side and 2×side−1 pixels. Smaller images,
// and any image when side ≤ 0, are returned as they are. The result is an
// *image.RGBA (alpha dropped, as RGB24 does).
func Fit(img image.Image, side int) image.Image {
	b := img.Bounds()
	short := min(b.Dx(), b.Dy())
	if side <= 0 || short < 2*side {
		return img
	}
	f := short / side
	w, h := b.Dx()/f, b.Dy()/f
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	sums := make([]uint32, 3*w)
	var row []byte
	for y := range h {
		clear(sums)
		for dy := range f {
			sy := b.Min.Y + y*f + dy
			r := image.Rect(b.Min.X, sy, b.Min.X+w*f, sy+1)
			if ok {
				row = RGB24(row, sub.SubImage(r))
			} else {
				row = RGB24(row, rowOf{img, r})
			}
			for x := range w {
				p := row[3*x*f : 3*(x+1)*f]
				var r, g, bl uint32
				for i := 0; i < len(p); i += 3 {
					r, g, bl = r+uint32(p[i]), g+uint32(p[i+1]), bl+uint32(p[i+2])
				}
				sums[3*x], sums[3*x+1], sums[3*x+2] = sums[3*x]+r, sums[3*x+1]+g, sums[3*x+2]+bl
			}
		}
		n, half := uint32(f*f), uint32(f*f/2)
		pix := out.Pix[y*out.Stride:]
		for x := range w {
			pix[4*x] = byte((sums[3*x] + half) / n)
			pix[4*x+1] = byte((sums[3*x+1] + half) / n)
			pix[4*x+2] = byte((sums[3*x+2] + half) / n)
			pix[4*x+3] = 0xff
		}
	}
	return out
}

// rowOf restricts an image without SubImage to the rectangle r.
type rowOf struct {
	image.Image
	r image.Rectangle
}

func (r rowOf) Bounds() image.Rectangle { return r.r }
