package stillimage

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// boxPlane averages each f×f square of the w×h plane pix (rows stride
// apart; squares cut by the border average what they hold): the reference
// a reduced decode at 8/f pixels per block approximates.
func boxPlane(pix []byte, stride, w, h, f int) []float64 {
	ow, oh := (w+f-1)/f, (h+f-1)/f
	out := make([]float64, ow*oh)
	cnt := make([]float64, ow*oh)
	for y := range h {
		for x := range w {
			o := (y/f)*ow + x/f
			out[o] += float64(pix[y*stride+x])
			cnt[o]++
		}
	}
	for i := range out {
		out[i] /= cnt[i]
	}
	return out
}

// planes are an image's sample planes (Y, Cb, Cr or grey) with their
// visible sizes.
type plane struct {
	pix          []byte
	stride, w, h int
}

func planesOf(t *testing.T, img image.Image) []plane {
	switch m := img.(type) {
	case *image.Gray:
		b := m.Bounds()
		return []plane{{m.Pix, m.Stride, b.Dx(), b.Dy()}}
	case *image.YCbCr:
		b := m.Bounds()
		cw, ch := m.COffset(b.Max.X-1, 0)+1, m.COffset(0, b.Max.Y-1)/m.CStride+1
		return []plane{{m.Y, m.YStride, b.Dx(), b.Dy()}, {m.Cb, m.CStride, cw, ch}, {m.Cr, m.CStride, cw, ch}}
	}
	t.Fatalf("image type %T", img)
	return nil
}

// TestReducedJPEGMatchesFullDecode: decoding at 1/2, 1/4 and 1/8 scale in
// the DCT domain gives the box average of image/jpeg's full decode, within
// the error of a scaled inverse DCT (libjpeg's method), for every
// subsampling, restart intervals, grey and optimised Huffman tables.
// Progressive JPEGs go through image/jpeg and are then averaged (Fit).
func TestReducedJPEGMatchesFullDecode(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.jpg")
	if len(files) < 7 {
		t.Fatalf("testdata: %d JPEGs, want 7", len(files))
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{1, 2, 4} {
			h, start, err := parseJPEGHeader(withDHT(data))
			if base := filepath.Base(path) != "progressive.jpg"; base != (err == nil && h.reducible()) {
				t.Fatalf("%s: reducible %v (%v), want %v", path, err == nil, err, base)
			}
			if err != nil {
				continue
			}
			got, err := decodeReduced(h, bufioReader(withDHT(data)[start:]), k)
			if err != nil {
				t.Fatalf("%s k=%d: %v", path, k, err)
			}
			if gb, rb := got.Bounds(), ref.Bounds(); gb.Dx() != (rb.Dx()*k+7)/8 || gb.Dy() != (rb.Dy()*k+7)/8 {
				t.Fatalf("%s k=%d: %v, want 1/%d of %v", path, k, gb, 8/k, rb)
			}
			gp, rp := planesOf(t, got), planesOf(t, ref)
			for i := range gp {
				want := boxPlane(rp[i].pix, rp[i].stride, rp[i].w, rp[i].h, 8/k)
				ow := (rp[i].w + 8/k - 1) / (8 / k)
				var sum, worst float64
				n := 0
				for y := range gp[i].h {
					for x := range gp[i].w {
						d := math.Abs(float64(gp[i].pix[y*gp[i].stride+x]) - want[y*ow+x])
						sum, worst, n = sum+d, max(worst, d), n+1
					}
				}
				mean := sum / float64(n)
				t.Logf("%s k=%d plane %d: mean |diff| %.2f, max %.0f", filepath.Base(path), k, i, mean, worst)
				if mean > 3 {
					t.Errorf("%s k=%d plane %d: mean |diff| %.2f levels from the box-averaged full decode, want ≤ 3", path, k, i, mean)
				}
			}
		}
	}
}

func withDHT(b []byte) []byte {
	if sos, has, st := huffmanInsertPos(b); st == headerOK && !has {
		return append(append(append([]byte(nil), b[:sos]...), standardDHT[:]...), b[sos:]...)
	}
	return b
}

// TestFitDecodesReduced: ReadFileFit and Decoder.Fit return images whose
// shorter side is between fit and 2×fit−1, for JPEG (reduced decode) and
// PNG (decoded, then averaged), and the full image without fit.
func TestFitDecodesReduced(t *testing.T) {
	for _, c := range []struct {
		file         string
		fit          int
		wantW, wantH int
	}{
		{"testdata/s420_opt.jpg", 17, 26, 18},    // 1/8: 203x141 -> 26x18
		{"testdata/s444.jpg", 30, 51, 36},        // 1/4
		{"testdata/s422.jpg", 60, 102, 71},       // 1/2
		{"testdata/s422.jpg", 100, 203, 141},     // full
		{"testdata/progressive.jpg", 40, 67, 47}, // full, then 1/3 averaged
		{"testdata/s444.jpg", 0, 203, 141},
	} {
		img, err := ReadFileFit(c.file, Limits{}, c.fit)
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != c.wantW || b.Dy() != c.wantH {
			t.Errorf("ReadFileFit(%s, %d): %dx%d, want %dx%d", c.file, c.fit, b.Dx(), b.Dy(), c.wantW, c.wantH)
		}
		data, _ := os.ReadFile(c.file)
		d := Decoder{Fit: c.fit}
		img2, err := d.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if img2.Bounds() != img.Bounds() {
			t.Errorf("Decoder{Fit: %d}.Decode(%s): %v, ReadFileFit: %v", c.fit, c.file, img2.Bounds(), img.Bounds())
		}
	}
}

// TestReducedJPEGTruncated: a JPEG cut short fails the reduced decode
// with a truncation error, as it fails image/jpeg.
func TestReducedJPEGTruncated(t *testing.T) {
	data, err := os.ReadFile("testdata/s444.jpg")
	if err != nil {
		t.Fatal(err)
	}
	d := Decoder{Fit: 10}
	if _, err := d.Decode(data[:len(data)/2]); err == nil || !bytes.Contains([]byte(err.Error()), []byte("truncated")) {
		t.Errorf("half a JPEG: %v, want a truncation error", err)
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// TestPNGRowsEqualFit: the row-streaming PNG decode gives exactly
// Fit(png.Decode(…)) for every colour type and depth it handles, filters
// of every kind (png.Encode picks per row), and fails on a cut file.
func TestPNGRowsEqualFit(t *testing.T) {
	const w, h = 157, 103
	rgba := image.NewNRGBA(image.Rect(0, 0, w, h))
	rgba64 := image.NewNRGBA64(rgba.Bounds())
	gray16 := image.NewGray16(rgba.Bounds())
	for y := range h {
		for x := range w {
			c := color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x * y) % 251), uint8(128 + x%128)}
			if (x/9+y/5)%3 == 0 {
				c.R, c.B = c.B, 255-c.R
			}
			rgba.SetNRGBA(x, y, c)
			rgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R)<<8 | uint16(x), uint16(c.G) << 8, uint16(c.B)<<8 | 0x7f, 0xffff})
			gray16.SetGray16(x, y, color.Gray16{uint16(c.G)<<8 | uint16(y)})
		}
	}
	opaque := image.NewRGBA(rgba.Bounds())
	for i := range opaque.Pix {
		opaque.Pix[i] = rgba.Pix[i] | byte(0xff*(i%4/3))
	}
	for name, img := range map[string]image.Image{"rgba8": rgba, "rgb8": opaque, "rgba16": rgba64, "gray16": gray16} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		ref, err := png.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		for _, fit := range []int{10, 25, 51} {
			want := Fit(ref, fit)
			got, err := DecodeFit(bytes.NewReader(buf.Bytes()), Limits{}, fit)
			if err != nil {
				t.Fatalf("%s fit %d: %v", name, fit, err)
			}
			if _, ok := got.(*image.RGBA); !ok || got.Bounds() != want.Bounds() || !bytes.Equal(got.(*image.RGBA).Pix, want.(*image.RGBA).Pix) {
				t.Errorf("%s fit %d: streamed decode %v differs from Fit(png.Decode) %v", name, fit, got.Bounds(), want.Bounds())
			}
			d := Decoder{Fit: fit}
			got2, err := d.Decode(buf.Bytes())
			if err != nil || !bytes.Equal(got2.(*image.RGBA).Pix, want.(*image.RGBA).Pix) {
				t.Errorf("%s fit %d: Decoder: %v, or pixels differ", name, fit, err)
			}
		}
		if _, err := DecodeFit(bytes.NewReader(buf.Bytes()[:buf.Len()*2/3]), Limits{}, 10); err == nil || !strings.Contains(err.Error(), "decode png") {
			t.Errorf("%s: two thirds of the file: %v, want a decode png error", name, err)
		}
		bad := bytes.Clone(buf.Bytes())
		bad[len(bad)-20] ^= 0x55 // in the last IDAT or its CRC
		if _, err := DecodeFit(bytes.NewReader(bad), Limits{}, 10); err == nil {
			t.Errorf("%s: a corrupted byte decoded without error", name)
		}
	}
}
