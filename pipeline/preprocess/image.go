package preprocess

import (
	"fmt"
	"image"

	"github.com/alphad/alphad/internal/stillimage"
)

// Image writes the tensor for img into dst (len Size()). *image.YCbCr
// (what JPEG decodes to) is resampled directly; other images are converted
// to RGB first.
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
	if m, ok := img.(*image.YCbCr); ok {
		p.resizeYCbCr(dst, m)
		return nil
	}
	p.rgb = stillimage.RGB24(p.rgb, img)
	p.resizeRGB24(dst, p.rgb, w*3)
	return nil
}
