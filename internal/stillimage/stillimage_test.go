package stillimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/image/bmp"

	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
	"github.com/alphad/alphad/internal/testshared"
)

// pngHeader is a PNG signature and an IHDR chunk (8-bit RGBA) declaring
// w×h, with a valid CRC and nothing after it: 33 bytes that claim any size.
func pngHeader(w, h uint32) []byte { return pngIHDR(w, h, 8, false) }

// pngIHDR is pngHeader with a bit depth and interlacing.
func pngIHDR(w, h uint32, depth byte, interlaced bool) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, 6 // colour type RGBA
	if interlaced {
		ihdr[12] = 1
	}
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(ihdr)))
	chunk = append(chunk, "IHDR"...)
	chunk = append(chunk, ihdr...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), chunk...)
}

// bmpHeader is a BITMAPINFOHEADER 24-bit BMP declaring w×h and no pixels.
func bmpHeader(w, h int32) []byte {
	b := []byte("BM")
	b = binary.LittleEndian.AppendUint32(b, 54) // file size (not checked)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 54) // pixel offset
	b = binary.LittleEndian.AppendUint32(b, 40) // header size
	b = binary.LittleEndian.AppendUint32(b, uint32(w))
	b = binary.LittleEndian.AppendUint32(b, uint32(h))
	b = binary.LittleEndian.AppendUint16(b, 1)  // planes
	b = binary.LittleEndian.AppendUint16(b, 24) // bits per pixel
	return append(b, make([]byte, 24)...)       // no compression, sizes, palette
}

// jpegSized is a small JPEG whose SOF0 is patched to declare w×h.
func jpegSized(t testing.TB, w, h int) []byte {
	return jpegPatched(t, image.NewGray(image.Rect(0, 0, 8, 8)), w, h, false)
}

// jpegPatched encodes img and patches its frame header to declare w×h
// and, with progressive, to be a progressive frame (SOF2).
func jpegPatched(t testing.TB, img image.Image, w, h int, progressive bool) []byte {
	b := encode(t, img)
	sof := bytes.Index(b, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(b[sof+5:], uint16(h))
	binary.BigEndian.PutUint16(b[sof+7:], uint16(w))
	if progressive {
		b[sof+1] = 0xc2
	}
	return b
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeBMP(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := bmp.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// decodeAll decodes data by the three entry points, checks that they
// agree, and returns ReadFile's result (its error names the file).
func decodeAll(t *testing.T, name string, data []byte, lim Limits) (image.Image, error) {
	t.Helper()
	path := writeFile(t, name, data)
	fromFile, errFile := ReadFile(path, lim)
	fromStream, errStream := Decode(iotest.HalfReader(bytes.NewReader(data)), lim)
	d := Decoder{Limits: lim}
	fromMem, errMem := d.Decode(data)
	if (errFile == nil) != (errStream == nil) || (errFile == nil) != (errMem == nil) {
		t.Fatalf("entry points disagree: ReadFile %v, Decode %v, Decoder %v", errFile, errStream, errMem)
	}
	if errFile == nil {
		if fromFile.Bounds() != fromStream.Bounds() || fromFile.Bounds() != fromMem.Bounds() {
			t.Fatalf("bounds disagree: %v %v %v", fromFile.Bounds(), fromStream.Bounds(), fromMem.Bounds())
		}
	} else if !strings.HasPrefix(errFile.Error(), path+": ") {
		t.Fatalf("ReadFile error %q does not start with the path", errFile)
	}
	return fromFile, errFile
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		lim  Limits
		kind LimitKind
		msg  string
	}{
		{"png 30000x30000", pngHeader(30000, 30000), Limits{}, LimitPixels, "30000x30000 pixels exceeds the 24 Mpx limit"},
		{"png 8192x8192", pngHeader(8192, 8192), Limits{}, LimitPixels, "8192x8192 pixels exceeds the 24 Mpx limit"},
		{"png 1048576x64", pngHeader(1048576, 64), Limits{}, LimitPixels, "1048576x64 pixels exceeds the 24 Mpx limit"},
		{"png 1048576x16", pngHeader(1048576, 16), Limits{}, LimitWidth, "1048576x16 pixels: width exceeds the 16384-pixel limit"},
		{"png 64x1048576", pngHeader(16, 1048576), Limits{}, LimitHeight, "16x1048576 pixels: height exceeds the 16384-pixel limit"},
		{"png 2^31-1 wide", pngHeader(1<<31-1, 1), Limits{}, LimitPixels, "2147483647x1 pixels exceeds the 24 Mpx limit"},
		{"jpeg 65535x65535", jpegSized(t, 65535, 65535), Limits{}, LimitPixels, "65535x65535 pixels exceeds the 24 Mpx limit"},
		{"jpeg 20000x8", jpegSized(t, 20000, 8), Limits{}, LimitWidth, "20000x8 pixels: width exceeds the 16384-pixel limit"},
		{"jpeg 6001x4000", jpegSized(t, 6001, 4000), Limits{}, LimitPixels, "6001x4000 pixels exceeds the 24 Mpx limit"},
		{"bmp 100000x100000", bmpHeader(100000, 100000), Limits{}, LimitPixels, "100000x100000 pixels exceeds the 24 Mpx limit"},
		{"bmp 100000x10", bmpHeader(100000, 10), Limits{}, LimitWidth, "100000x10 pixels: width exceeds the 16384-pixel limit"},
		{"bmp top-down 10000x10000", bmpHeader(10000, -10000), Limits{}, LimitPixels, "10000x10000 pixels exceeds the 24 Mpx limit"},
		{"custom pixels", encodePNG(t, image.NewGray(image.Rect(0, 0, 10, 11))), Limits{MaxPixels: 100}, LimitPixels, "10x11 pixels exceeds the 0.0001 Mpx limit"},
		{"custom width", encodePNG(t, image.NewGray(image.Rect(0, 0, 10, 1))), Limits{MaxWidth: 9}, LimitWidth, "width exceeds the 9-pixel limit"},
		{"custom bytes", encodePNG(t, image.NewGray(image.Rect(0, 0, 10, 10))), Limits{MaxBytes: 20}, LimitBytes, "exceeds the 20 bytes file size limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := decodeAll(t, "photo.img", tt.data, tt.lim)
			if err == nil {
				t.Fatalf("decoded %v", img.Bounds())
			}
			le, ok := errors.AsType[*LimitError](err)
			if !ok || le.Kind != tt.kind {
				t.Fatalf("err = %v (%T), want a LimitError of kind %d", err, err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

// TestLimitBeforeDecode shows the size is refused from the header: a
// 33-byte PNG claiming 30000×30000 (3.6 GB as RGBA) allocates next to
// nothing.
// TestDecodeMemory: encodings whose decoder needs more than 4 bytes per
// pixel get a smaller share of the MaxPixels budget (24 Mpx × 4 bytes).
func TestDecodeMemory(t *testing.T) {
	color420 := solid(16, 16, color.RGBA{R: 9, A: 255}) // image/jpeg encodes colour as 4:2:0
	gray := image.NewGray(image.Rect(0, 0, 8, 8))
	tests := []struct {
		name string
		data []byte
		msg  string // "" when within the budget (the patched file then fails to decode)
	}{
		{"progressive 4:2:0 24 Mpx", jpegPatched(t, color420, 6000, 4000, true), "6000x4000 pixels: decoding this progressive JPEG needs 180 MB, over the 96 MB the 24 Mpx limit allows"},
		{"progressive 4:2:0 12 Mpx", jpegPatched(t, color420, 4000, 3000, true), ""},
		{"progressive grey 24 Mpx", jpegPatched(t, gray, 6000, 4000, true), "decoding this progressive JPEG needs 120 MB"},
		{"baseline 4:2:0 24 Mpx", jpegPatched(t, color420, 6000, 4000, false), ""},
		{"16-bit PNG 24 Mpx", pngIHDR(6000, 4000, 16, false), "6000x4000 pixels: decoding this 16-bit PNG needs 192 MB"},
		{"16-bit PNG 12 Mpx", pngIHDR(4000, 3000, 16, false), ""},
		{"interlaced PNG 24 Mpx", pngIHDR(6000, 4000, 8, true), "decoding this interlaced PNG needs 192 MB"},
		{"interlaced 16-bit PNG 12 Mpx", pngIHDR(4000, 3000, 16, true), "decoding this interlaced 16-bit PNG needs 192 MB"},
		{"8-bit PNG 24 Mpx", pngIHDR(6000, 4000, 8, false), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(t, "x", tt.data, Limits{})
			if err == nil {
				t.Fatal("a patched header decoded")
			}
			le, isLimit := errors.AsType[*LimitError](err)
			if tt.msg == "" {
				if isLimit {
					t.Fatalf("refused within the budget: %v", err)
				}
				return
			}
			if !isLimit || le.Kind != LimitMemory || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want a LimitMemory error containing %q", err, tt.msg)
			}
		})
	}
}

func TestJPEGFrame(t *testing.T) {
	for _, tt := range []struct {
		name   string
		data   []byte
		prog   bool
		comps  int
		planes float64
		ok     bool
	}{
		{"4:2:0", encode(t, solid(16, 16, color.RGBA{A: 255})), false, 3, 1.5, true},
		{"grey", encode(t, image.NewGray(image.Rect(0, 0, 8, 8))), false, 1, 1, true},
		{"progressive", jpegPatched(t, image.NewGray(image.Rect(0, 0, 8, 8)), 8, 8, true), true, 1, 1, true},
		{"cut in the SOF", encode(t, image.NewGray(image.Rect(0, 0, 8, 8)))[:30], false, 0, 0, false},
		{"not a jpeg", []byte("hello"), false, 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prog, comps, planes, ok := jpegFrame(tt.data)
			if prog != tt.prog || comps != tt.comps || planes != tt.planes || ok != tt.ok {
				t.Fatalf("jpegFrame = %v, %d, %v, %v", prog, comps, planes, ok)
			}
		})
	}
}

func TestLimitBeforeDecode(t *testing.T) {
	path := writeFile(t, "bomb.png", pngHeader(30000, 30000))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFile(path, Limits{})
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("no error")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("refusing the header allocated %d bytes", got)
	}
}

func TestAtLimits(t *testing.T) {
	tests := []struct {
		name string
		img  image.Image
		lim  Limits
	}{
		{"16384x1 default side", image.NewGray(image.Rect(0, 0, 16384, 1)), Limits{}},
		{"1x16384 default side", image.NewGray(image.Rect(0, 0, 1, 16384)), Limits{}},
		{"exactly MaxPixels", image.NewGray(image.Rect(0, 0, 10, 10)), Limits{MaxPixels: 100}},
		{"exactly MaxWidth", image.NewGray(image.Rect(0, 0, 9, 3)), Limits{MaxWidth: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encodePNG(t, tt.img)
			img, err := decodeAll(t, "ok.png", data, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != tt.img.Bounds() {
				t.Fatalf("bounds %v", img.Bounds())
			}
		})
	}
	t.Run("exactly MaxBytes", func(t *testing.T) {
		data := encodePNG(t, image.NewGray(image.Rect(0, 0, 5, 5)))
		if _, err := decodeAll(t, "ok.png", data, Limits{MaxBytes: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("12 Mpx phone photo", func(t *testing.T) {
		if err := (Limits{}).Check(4000, 3000); err != nil {
			t.Fatal(err)
		}
		if err := (Limits{}).Check(6000, 4000); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFormats(t *testing.T) {
	rgba := solid(6, 4, color.RGBA{R: 200, G: 100, B: 50, A: 255})
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, rgba, nil); err != nil {
		t.Fatal(err)
	}
	good := []struct {
		name string
		data []byte
	}{
		{"jpeg", encode(t, rgba)},
		{"jpeg without Huffman tables", mjpegtest.StripDHT(t, encode(t, rgba))},
		{"png", encodePNG(t, rgba)},
		{"bmp", encodeBMP(t, rgba)},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			img, err := decodeAll(t, "x", tt.data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			px := RGB24(nil, img)
			if img.Bounds().Dx() != 6 || img.Bounds().Dy() != 4 || absDiff(px[0], 200) > 3 || absDiff(px[1], 100) > 3 || absDiff(px[2], 50) > 3 {
				t.Fatalf("%v, first pixel %v", img.Bounds(), px[:3])
			}
		})
	}
	bad := []struct {
		name, want string
		data       []byte
	}{
		{"gif", "GIF images are not supported: want JPEG, PNG or BMP", gifBuf.Bytes()},
		{"webp", "WebP images are not supported", []byte("RIFF\x10\x00\x00\x00WEBPVP8 ")},
		{"heic", "HEIC images are not supported", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00")},
		{"tiff", "TIFF images are not supported", []byte("II*\x00\x08\x00\x00\x00")},
		{"text", "unknown image format (first bytes 6e 6f 74 20 61 6e 20 69): want JPEG, PNG or BMP", []byte("not an image at all")},
		{"empty", "empty file: want JPEG, PNG or BMP", nil},
		{"one byte", "unknown image format (first bytes ff)", []byte{0xff}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(t, "x", tt.data, Limits{})
			if _, ok := errors.AsType[*FormatError](err); !ok || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a FormatError containing %q", err, tt.want)
			}
		})
	}
}

func absDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestTruncated(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 31)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"jpeg", encode(t, img)},
		{"jpeg without Huffman tables", mjpegtest.StripDHT(t, encode(t, img))},
		{"png", encodePNG(t, img)},
		{"bmp", encodeBMP(t, img)},
	} {
		for _, frac := range []int{10, 50, 90} {
			n := len(f.data) * frac / 100
			t.Run(f.name+"/"+string(rune('0'+frac/10))+"0%", func(t *testing.T) {
				_, err := decodeAll(t, "cut", f.data[:n], Limits{})
				if err == nil {
					t.Fatalf("%d of %d bytes decoded", n, len(f.data))
				}
			})
		}
	}
	// Files cut inside the pixel data say so (image/png reports "not
	// enough pixel data" instead).
	_, err := decodeAll(t, "cut.bmp", encodeBMP(t, img)[:500], Limits{})
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("bmp cut in its data: %v", err)
	}
}

// TestLongJPEGHeader streams a JPEG without Huffman tables whose first
// scan comes after 200 KB of metadata (more than the config read sees).
func TestLongJPEGHeader(t *testing.T) {
	img := solid(16, 16, color.RGBA{G: 180, A: 255})
	stripped := mjpegtest.StripDHT(t, encode(t, img))
	var b []byte
	b = append(b, stripped[:2]...)
	for range 4 { // four 50 KB APP1 segments
		seg := make([]byte, 50_000)
		b = append(b, 0xff, 0xe1)
		b = binary.BigEndian.AppendUint16(b, uint16(len(seg)+2))
		b = append(b, seg...)
	}
	b = append(b, stripped[2:]...)
	got, err := decodeAll(t, "long.jpg", b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if px := RGB24(nil, got); absDiff(px[1], 180) > 3 {
		t.Fatalf("pixel %v", px[:3])
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "nope.jpg"), Limits{}); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.jpg") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := ReadFile(dir, Limits{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: %v", err)
	}
	big := writeFile(t, "big.png", make([]byte, 2000))
	_, err := ReadFile(big, Limits{MaxBytes: 1000})
	if le, ok := errors.AsType[*LimitError](err); !ok || le.Bytes != 2000 || err.Error() != big+": 2000 bytes exceeds the 1000 bytes file size limit" {
		t.Fatalf("big file: %v", err)
	}
	if _, err := Decode(bytes.NewReader(make([]byte, 3<<20)), Limits{MaxBytes: 1 << 20}); err == nil {
		t.Fatal("no error for a stream over MaxBytes")
	}
	// A stream whose image runs past MaxBytes (bytes after the image are
	// not read, so they do not count).
	noise := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range noise.Pix {
		noise.Pix[i] = byte(i * i * 7919 >> 3)
	}
	data := encodePNG(t, noise)
	_, err = Decode(bytes.NewReader(data), Limits{MaxBytes: int64(len(data) - 1)})
	if le, ok := errors.AsType[*LimitError](err); !ok || le.Kind != LimitBytes || err.Error() != fmt.Sprintf("more than %d bytes exceeds the file size limit", len(data)-1) {
		t.Fatalf("stream over MaxBytes: %v", err)
	}
	if _, err := Decode(bytes.NewReader(append(data, 0, 0, 0)), Limits{MaxBytes: int64(len(data))}); err != nil {
		t.Fatalf("trailing bytes past MaxBytes: %v", err)
	}
}

// TestSharedImages decodes the real test images by every entry point to
// the same pixels.
func TestSharedImages(t *testing.T) {
	for _, f := range []string{
		filepath.Join("images", "grace_hopper.bmp"),
		filepath.Join("images", "parrot.jpg"),
		filepath.Join("datasets", "flowers_tf", "daisy", "100080576_f52e8ee070_n.jpg"),
		filepath.Join("golden", "inputs", "cat_224.png"),
	} {
		t.Run(f, func(t *testing.T) {
			path := testshared.Path(t, f)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			samePixels(t, got, want)
			var d Decoder
			got, err = d.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			samePixels(t, got, want)
		})
	}
}

func FuzzDecode(f *testing.F) {
	img := image.NewYCbCr(image.Rect(0, 0, 24, 16), image.YCbCrSubsampleRatio422)
	for i := range img.Y {
		img.Y[i] = uint8(i)
	}
	full := encode(f, img)
	f.Add(full)
	f.Add(mjpegtest.StripDHT(f, full))
	g := image.NewGray(image.Rect(0, 0, 9, 9))
	g.Set(3, 3, color.Gray{200})
	f.Add(mjpegtest.StripDHT(f, encode(f, g)))
	f.Add(encodePNG(f, solid(5, 3, color.RGBA{1, 2, 3, 4})))
	f.Add(encodeBMP(f, solid(5, 3, color.RGBA{1, 2, 3, 255})))
	f.Add(pngHeader(30000, 30000))
	f.Add(pngHeader(1048576, 64))
	f.Add(bmpHeader(100, -100))
	f.Add(jpegSized(f, 65535, 65535))
	f.Add([]byte("GIF89a"))
	lim := Limits{MaxWidth: 300, MaxHeight: 200, MaxPixels: 40_000, MaxBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Decoder{Limits: lim}
		m1, err1 := d.Decode(b)
		m2, err2 := Decode(bytes.NewReader(b), lim)
		if (err1 == nil) != (m1 != nil) || (err2 == nil) != (m2 != nil) {
			t.Fatalf("image %v with error %v / image %v with error %v", m1, err1, m2, err2)
		}
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Decoder: %v, Decode: %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		if m1.Bounds() != m2.Bounds() {
			t.Fatalf("bounds %v and %v", m1.Bounds(), m2.Bounds())
		}
		r := m1.Bounds()
		if lim.Check(r.Dx(), r.Dy()) != nil {
			t.Fatalf("decoded %v, over %+v", r, lim)
		}
	})
}
