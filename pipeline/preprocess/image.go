package preprocess

import (
	"fmt"
	"image"

	"github.com/alphad/alphad/internal/stillimage"
)

// Image writes the tensor for img into dst (len Size()). *image.YCbCr
// (what JPEG decodes to), *image.RGBA and *image.NRGBA (alpha ignored, as
// stillimage.RGB24 does) are resampled directly; other images are
// converted to RGB first.
func (p *Preprocessor) Image(dst []byte, img image.Image) error {
	if err := p.checkDst(dst); err != nil {
		return err
	}
	return p.image(dst, img)
}

func (p *Preprocessor) image(dst []byte, img image.Image) error {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 1 || h < 1 || w > maxFrameSide || h > maxFrameSide {
		return fmt.Errorf("preprocess: image size %dx%d outside 1..%d", w, h, maxFrameSide)
	}
	if err := p.prepare(w, h); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	if p.tab.turned {
		switch m := img.(type) {
		case *image.YCbCr:
			p.resizeTurned(dst, func(x, y int) (r, g, b float32) { return ycbcrAt(m, x, y) })
		case *image.RGBA:
			p.resizeTurnedPacked(dst, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, 4)
		case *image.NRGBA:
			p.resizeTurnedPacked(dst, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, 4)
		default:
			p.rgb = stillimage.RGB24(p.rgb, img)
			p.resizeTurnedPacked(dst, p.rgb, w*3, 3)
		}
		return nil
	}
	switch m := img.(type) {
	case *image.YCbCr:
		p.resizeYCbCr(dst, m)
	case *image.RGBA: // PNG and BMP decode to these: resampled in place
		p.resizePacked(dst, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, 4)
	case *image.NRGBA:
		p.resizePacked(dst, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, 4)
	default:
		p.rgb = stillimage.RGB24(p.rgb, img)
		p.resizePacked(dst, p.rgb, w*3, 3)
	}
	return nil
}
