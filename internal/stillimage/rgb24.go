package stillimage

import (
	"image"
	"image/color"
)

// RGB24 converts img to packed RGB24 (alpha ignored) in buf, reallocating
// only when buf is too small, and returns it.
func RGB24(buf []byte, img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h * 3
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	switch m := img.(type) {
	case *image.RGBA:
		packRGBX(buf, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h)
	case *image.NRGBA:
		packRGBX(buf, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h)
	case *image.RGBA64: // 16-bit PNG: the high byte of each big-endian sample
		packRGBX64(buf, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h)
	case *image.NRGBA64:
		packRGBX64(buf, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h)
	case *image.Gray16:
		for y := range h {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			out := buf[y*w*3 : (y+1)*w*3]
			for x := range w {
				v := src[2*x]
				out[x*3], out[x*3+1], out[x*3+2] = v, v, v
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
	case *image.YCbCr:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				buf[i], buf[i+1], buf[i+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i += 3
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

// packRGBX copies w×h four-byte pixels (R, G, B, alpha/padding), rows
// stride bytes apart, into packed RGB24, dropping the fourth byte.
func packRGBX(dst, pix []byte, stride, w, h int) {
	for y := range h {
		src := pix[y*stride:]
		out := dst[y*w*3 : (y+1)*w*3]
		for x := range w {
			out[x*3], out[x*3+1], out[x*3+2] = src[x*4], src[x*4+1], src[x*4+2]
		}
	}
}

// packRGBX64 is packRGBX for eight-byte pixels of big-endian 16-bit
// samples, keeping the high byte of R, G and B.
func packRGBX64(dst, pix []byte, stride, w, h int) {
	for y := range h {
		src := pix[y*stride:]
		out := dst[y*w*3 : (y+1)*w*3]
		for x := range w {
			out[x*3], out[x*3+1], out[x*3+2] = src[x*8], src[x*8+2], src[x*8+4]
		}
	}
}
