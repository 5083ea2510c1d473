package preprocess

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/bmp"

	"github.com/alphad/alphad/device/mjpeg"
)

// maxImagePixels bounds decoded still images (width × height).
const maxImagePixels = 8192 * 8192

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
	p.rgb = toRGB24(p.rgb, img)
	p.resizeRGB24(dst, p.rgb, w*3)
	return nil
}

// toRGB24 converts img to packed RGB24 (alpha ignored), reusing buf.
func toRGB24(buf []byte, img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h * 3
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	switch m := img.(type) {
	case *image.RGBA:
		for y := range h {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := buf[y*w*3 : (y+1)*w*3]
			for x := range w {
				out[x*3], out[x*3+1], out[x*3+2] = src[x*4], src[x*4+1], src[x*4+2]
			}
		}
	case *image.NRGBA:
		for y := range h {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := buf[y*w*3 : (y+1)*w*3]
			for x := range w {
				out[x*3], out[x*3+1], out[x*3+2] = src[x*4], src[x*4+1], src[x*4+2]
			}
		}
	case *image.Gray:
		for y := range h {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := buf[y*w*3 : (y+1)*w*3]
			for x := range w {
				v := src[x]
				out[x*3], out[x*3+1], out[x*3+2] = v, v, v
			}
		}
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bb, _ := img.At(x, y).RGBA()
				buf[i], buf[i+1], buf[i+2] = byte(r>>8), byte(g>>8), byte(bb>>8)
				i += 3
			}
		}
	}
	return buf
}

// DecodeImage decodes a JPEG (with or without Huffman tables), PNG or BMP
// image, chosen by its first bytes.
func DecodeImage(r io.Reader) (image.Image, error) {
	img, err := decodeImage(r)
	if err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	return img, nil
}

func decodeImage(r io.Reader) (image.Image, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(8)
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xd8}):
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("read jpeg: %w", err)
		}
		var d mjpeg.Decoder
		return d.Decode(data)
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return decodeChecked(br, "png", png.DecodeConfig, png.Decode)
	case bytes.HasPrefix(head, []byte("BM")):
		return decodeChecked(br, "bmp", bmp.DecodeConfig, bmp.Decode)
	}
	return nil, fmt.Errorf("unknown image format (first bytes % x): want JPEG, PNG or BMP", head)
}

// decodeChecked reads the whole image, checks its declared size, then
// decodes it.
func decodeChecked(r io.Reader, kind string, config func(io.Reader) (image.Config, error), decode func(io.Reader) (image.Image, error)) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", kind, err)
	}
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	if cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("decode %s: %dx%d image is too large", kind, cfg.Width, cfg.Height)
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return img, nil
}

// ReadImage decodes the JPEG, PNG or BMP file at path.
func ReadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	defer f.Close()
	img, err := decodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("preprocess: %s: %w", path, err)
	}
	return img, nil
}
