package preprocess

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/tflite"
)

func tensor(typ tflite.TensorType, w, h int, q *tflite.Quantization) *tflite.Tensor {
	return &tflite.Tensor{Name: "input", Type: typ, Shape: []int{1, h, w, 3}, Quant: q}
}

// identity makes float outputs equal the resampled pixel level.
var identity = &Normalization{Std: [3]float32{1, 1, 1}}

func mustNew(t testing.TB, tt *tflite.Tensor, o Options) *Preprocessor {
	t.Helper()
	p, err := New(tt, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func floats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:]))
	}
	return out
}

// refBilinear is the plain reference: crop, then half-pixel bilinear
// resize of the float RGB levels at(x, y) of the crop, then mirror.
func refBilinear(at func(x, y int) [3]float64, crop image.Rectangle, ow, oh int, mirror bool) []float64 {
	out := make([]float64, ow*oh*3)
	cw, ch := crop.Dx(), crop.Dy()
	coord := func(o, n, length int) (int, int, float64) {
		in := (float64(o)+0.5)*float64(length)/float64(n) - 0.5
		if in < 0 {
			in = 0
		}
		a := int(math.Floor(in))
		if a > length-1 {
			a = length - 1
		}
		b := a + 1
		if b > length-1 {
			b = length - 1
		}
		return a, b, in - float64(a)
	}
	for oy := 0; oy < oh; oy++ {
		ya, yb, fy := coord(oy, oh, ch)
		for ox := 0; ox < ow; ox++ {
			xa, xb, fx := coord(ox, ow, cw)
			p00 := at(crop.Min.X+xa, crop.Min.Y+ya)
			p01 := at(crop.Min.X+xb, crop.Min.Y+ya)
			p10 := at(crop.Min.X+xa, crop.Min.Y+yb)
			p11 := at(crop.Min.X+xb, crop.Min.Y+yb)
			dx := ox
			if mirror {
				dx = ow - 1 - ox
			}
			for c := 0; c < 3; c++ {
				top := p00[c]*(1-fx) + p01[c]*fx
				bot := p10[c]*(1-fx) + p11[c]*fx
				out[(oy*ow+dx)*3+c] = top*(1-fy) + bot*fy
			}
		}
	}
	return out
}

func refYUV(y, u, v byte) [3]float64 {
	c := 1.164383 * (float64(y) - 16)
	d, e := float64(u)-128, float64(v)-128
	cl := func(x float64) float64 { return math.Max(0, math.Min(255, x)) }
	return [3]float64{cl(c + 1.596027*e), cl(c - 0.391762*d - 0.812968*e), cl(c + 2.017232*d)}
}

func randomFrame(format device.PixelFormat, w, h, pad int, seed uint64) device.Frame {
	r := rand.New(rand.NewPCG(seed, 7))
	bpp := 3
	row := w * 3
	if format == device.YUYV {
		bpp = 2
		row = (w + 1) / 2 * 4
	}
	_ = bpp
	stride := row + pad
	data := make([]byte, stride*h)
	// Smooth gradients plus noise, so that interpolation matters.
	for y := 0; y < h; y++ {
		for i := 0; i < row; i++ {
			data[y*stride+i] = byte((i*3 + y*5 + r.IntN(40)) % 256)
		}
	}
	return device.Frame{Seq: 1, Format: format, Width: w, Height: h, Stride: stride, Data: data}
}

func frameAt(f device.Frame) func(x, y int) [3]float64 {
	return func(x, y int) [3]float64 {
		row := f.Data[y*f.Stride:]
		if f.Format == device.YUYV {
			c := x / 2 * 4
			return refYUV(row[c+(x%2)*2], row[c+1], row[c+3])
		}
		return [3]float64{float64(row[x*3]), float64(row[x*3+1]), float64(row[x*3+2])}
	}
}

// TestFrameMatchesReference checks the YUYV and RGB24 paths against the
// float reference within 1 level, for every crop mode and mirror.
func TestFrameMatchesReference(t *testing.T) {
	type tc struct {
		name   string
		format device.PixelFormat
		w, h   int
		pad    int
		ow, oh int
		opts   Options
		crop   image.Rectangle
	}
	tests := []tc{
		{"yuyv center", device.YUYV, 64, 48, 0, 20, 20, Options{}, image.Rect(8, 0, 56, 48)},
		{"yuyv center padded mirror", device.YUYV, 64, 48, 12, 20, 20, Options{Mirror: true}, image.Rect(8, 0, 56, 48)},
		{"yuyv full upscale", device.YUYV, 10, 6, 0, 23, 17, Options{Crop: CropFull}, image.Rect(0, 0, 10, 6)},
		{"yuyv odd width", device.YUYV, 33, 40, 4, 16, 16, Options{Crop: CropFull}, image.Rect(0, 0, 33, 40)},
		{"yuyv roi fraction", device.YUYV, 64, 48, 0, 16, 16, Options{Crop: CropROI, ROI: Region{X: 0.25, Y: 0.5, W: 0.5, H: 0.5}}, image.Rect(16, 24, 48, 48)},
		{"rgb center portrait", device.RGB24, 30, 50, 5, 12, 12, Options{}, image.Rect(0, 10, 30, 40)},
		{"rgb roi pixels clipped", device.RGB24, 30, 50, 0, 12, 9, Options{Crop: CropROI, ROI: Region{X: 20, Y: 40, W: 100, H: 100, Pixels: true}}, image.Rect(20, 40, 30, 50)},
		{"rgb same size", device.RGB24, 16, 16, 0, 16, 16, Options{Crop: CropFull, Mirror: true}, image.Rect(0, 0, 16, 16)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := randomFrame(tt.format, tt.w, tt.h, tt.pad, uint64(i))
			want := refBilinear(frameAt(f), tt.crop, tt.ow, tt.oh, tt.opts.Mirror)

			o := tt.opts
			o.Norm = identity
			p := mustNew(t, tensor(tflite.Float32, tt.ow, tt.oh, nil), o)
			dst := make([]byte, p.Size())
			if err := p.Frame(dst, f); err != nil {
				t.Fatal(err)
			}
			got := floats(dst)
			worst := 0.0
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(got[i])-want[i]))
			}
			if worst > 1 {
				t.Fatalf("float path differs from the reference by %.3f levels", worst)
			}

			q := mustNew(t, tensor(tflite.Uint8, tt.ow, tt.oh, nil), tt.opts)
			qdst := make([]byte, q.Size())
			if err := q.Frame(qdst, f); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if math.Abs(float64(qdst[i])-want[i]) > 1 {
					t.Fatalf("uint8 element %d = %d, reference %.2f", i, qdst[i], want[i])
				}
			}
		})
	}
}

func TestConventions(t *testing.T) {
	f := randomFrame(device.RGB24, 8, 8, 0, 3)
	// Same size, full frame: outputs are a pure function of each pixel.
	tests := []struct {
		name string
		t    *tflite.Tensor
		norm *Normalization
		want func(x float64) float64 // of the pixel level
		tol  float64
	}{
		{"float default [-1,1]", tensor(tflite.Float32, 8, 8, nil), nil, func(x float64) float64 { return x/127.5 - 1 }, 1e-6},
		{"float range [0,1]", tensor(tflite.Float32, 8, 8, nil), ptr(RangeNorm(0, 1)), func(x float64) float64 { return x / 255 }, 1e-6},
		{"float mean/std", tensor(tflite.Float32, 8, 8, nil), &Normalization{Mean: [3]float32{100, 100, 100}, Std: [3]float32{50, 50, 50}}, func(x float64) float64 { return (x - 100) / 50 }, 1e-5},
		{"uint8 raw", tensor(tflite.Uint8, 8, 8, nil), nil, func(x float64) float64 { return x }, 0},
		{"int8 raw", tensor(tflite.Int8, 8, 8, nil), nil, func(x float64) float64 { return x - 128 }, 0},
		{"uint8 google quant [-1,1]", tensor(tflite.Uint8, 8, 8, &tflite.Quantization{Scale: []float32{1 / 127.5}, ZeroPoint: []int64{128}}), ptr(RangeNorm(-1, 1)),
			func(x float64) float64 { return math.Min(255, math.Round(x-127.5)+128) }, 1},
		{"uint8 tm quant [0,1]", tensor(tflite.Uint8, 8, 8, &tflite.Quantization{Scale: []float32{1.0 / 255}, ZeroPoint: []int64{0}}), ptr(RangeNorm(0, 1)),
			func(x float64) float64 { return x }, 0},
		{"int8 quant [0,1]", tensor(tflite.Int8, 8, 8, &tflite.Quantization{Scale: []float32{1.0 / 255}, ZeroPoint: []int64{-128}}), ptr(RangeNorm(0, 1)),
			func(x float64) float64 { return x - 128 }, 0},
		{"uint8 quant saturates", tensor(tflite.Uint8, 8, 8, &tflite.Quantization{Scale: []float32{0.5}, ZeroPoint: []int64{10}}), ptr(RangeNorm(0, 255)),
			func(x float64) float64 { return math.Min(255, 2*x+10) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.t, Options{Crop: CropFull, Norm: tt.norm})
			dst := make([]byte, p.Size())
			if err := p.Frame(dst, f); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 8*8*3; i++ {
				x := float64(f.Data[i])
				var got float64
				switch tt.t.Type {
				case tflite.Float32:
					got = float64(floats(dst)[i])
				case tflite.Int8:
					got = float64(int8(dst[i]))
				default:
					got = float64(dst[i])
				}
				if want := tt.want(x); math.Abs(got-want) > tt.tol {
					t.Fatalf("element %d (level %v) = %v, want %v", i, x, got, want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestGoldenInputs checks the conversion against the tensors the golden
// TFLite outputs were computed from (224×224 PNGs, so no resampling).
func TestGoldenInputs(t *testing.T) {
	for _, name := range []string{"grace_hopper", "cat", "bird"} {
		t.Run(name, func(t *testing.T) {
			img, err := stillimage.ReadFile(testshared.Path(t, "golden", "inputs", name+"_224.png"), stillimage.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			u8, err := os.ReadFile(testshared.Path(t, "golden", "inputs", name+"_224_u8.raw"))
			if err != nil {
				t.Fatal(err)
			}
			f32, err := os.ReadFile(testshared.Path(t, "golden", "inputs", name+"_224_f32m11.raw"))
			if err != nil {
				t.Fatal(err)
			}
			q := mustNew(t, tensor(tflite.Uint8, 224, 224, &tflite.Quantization{Scale: []float32{0.0078125}, ZeroPoint: []int64{128}}), Options{})
			dst := make([]byte, q.Size())
			if err := q.Image(dst, img); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dst, u8) {
				t.Fatal("uint8 tensor differs from the golden input")
			}
			p := mustNew(t, tensor(tflite.Float32, 224, 224, nil), Options{})
			fdst := make([]byte, p.Size())
			if err := p.Image(fdst, img); err != nil {
				t.Fatal(err)
			}
			got, want := floats(fdst), floats(f32)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-6 {
					t.Fatalf("float element %d = %v, golden %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestImageSources checks that every image type gives the same tensor as
// its RGB24 frame, within 1 level.
func TestImageSources(t *testing.T) {
	f := randomFrame(device.RGB24, 40, 30, 0, 9)
	rgba := image.NewRGBA(image.Rect(0, 0, 40, 30))
	nrgba := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	ycc := image.NewYCbCr(image.Rect(0, 0, 40, 30), image.YCbCrSubsampleRatio444)
	gray := image.NewGray(image.Rect(0, 0, 40, 30))
	gray16 := image.NewGray16(image.Rect(0, 0, 40, 30))
	grayFrame := f
	grayFrame.Data = bytes.Clone(f.Data)
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			o := y*f.Stride + x*3
			c := color.RGBA{f.Data[o], f.Data[o+1], f.Data[o+2], 255}
			rgba.Set(x, y, c)
			nrgba.Set(x, y, c)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)], ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = yy, cb, cr
			gray.SetGray(x, y, color.Gray{f.Data[o]})
			gray16.SetGray16(x, y, color.Gray16{uint16(f.Data[o]) * 257})
			grayFrame.Data[o+1], grayFrame.Data[o+2] = f.Data[o], f.Data[o]
		}
	}
	p := mustNew(t, tensor(tflite.Uint8, 16, 16, nil), Options{})
	want := make([]byte, p.Size())
	if err := p.Frame(want, f); err != nil {
		t.Fatal(err)
	}
	wantGray := make([]byte, p.Size())
	if err := p.Frame(wantGray, grayFrame); err != nil {
		t.Fatal(err)
	}
	sub := rgba.SubImage(image.Rect(0, 0, 40, 30)) // offset-free SubImage
	// The same pixels inside a larger NRGBA, at an offset.
	big := image.NewNRGBA(image.Rect(-3, -2, 45, 35))
	for y := range 30 {
		for x := range 40 {
			big.Set(x+2, y+1, rgba.At(x, y))
		}
	}
	offset := big.SubImage(image.Rect(2, 1, 42, 31))
	tests := []struct {
		name string
		img  image.Image
		want []byte
		tol  int
	}{
		{"rgba", rgba, want, 0},
		{"nrgba", nrgba, want, 0},
		{"subimage", sub, want, 0},
		{"nrgba subimage at an offset", offset, want, 0},
		{"ycbcr 4:4:4", ycc, want, 3}, // RGB→YCbCr→RGB round trip loses a little
		{"gray", gray, wantGray, 0},
		{"gray16 (generic path)", gray16, wantGray, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]byte, p.Size())
			if err := p.Image(got, tt.img); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if d := int(got[i]) - int(tt.want[i]); d > tt.tol || d < -tt.tol {
					t.Fatalf("element %d = %d, want %d±%d", i, got[i], tt.want[i], tt.tol)
				}
			}
		})
	}
}

// TestMJPEGFrame checks that an MJPEG frame (without Huffman tables) gives
// the tensor of its decoded image, and that the YCbCr path matches RGB.
func TestMJPEGFrame(t *testing.T) {
	src := randomFrame(device.RGB24, 64, 48, 0, 5)
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			o := y*src.Stride + x*3
			img.Set(x, y, color.RGBA{src.Data[o], src.Data[o+1], src.Data[o+2], 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	dec, err := jpeg.Decode(bytes.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	p := mustNew(t, tensor(tflite.Float32, 24, 24, nil), Options{Norm: identity})
	want := make([]byte, p.Size())
	if err := p.Image(want, dec); err != nil {
		t.Fatal(err)
	}
	// RGB of the decoded image through the generic path.
	rgb := image.NewRGBA(dec.Bounds())
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			rgb.Set(x, y, dec.At(x, y))
		}
	}
	viaRGB := make([]byte, p.Size())
	if err := p.Image(viaRGB, rgb); err != nil {
		t.Fatal(err)
	}
	w, v := floats(want), floats(viaRGB)
	for i := range w {
		if math.Abs(float64(w[i]-v[i])) > 1e-3 {
			t.Fatalf("YCbCr path element %d = %v, RGB path %v", i, w[i], v[i])
		}
	}
	got := make([]byte, p.Size())
	if err := p.Frame(got, device.Frame{Seq: 3, Format: device.MJPEG, Width: 64, Height: 48, Data: mjpegtest.StripDHT(t, full)}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("MJPEG frame without tables differs from the decoded image")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		t    *tflite.Tensor
		o    Options
		want string
	}{
		{"nil", nil, Options{}, "nil input tensor"},
		{"rank", &tflite.Tensor{Type: tflite.Float32, Shape: []int{224, 224, 3}}, Options{}, "want [1,H,W,3]"},
		{"channels", &tflite.Tensor{Type: tflite.Float32, Shape: []int{1, 224, 224, 1}}, Options{}, "want [1,H,W,3]"},
		{"type", tensor(tflite.Int16, 4, 4, nil), Options{}, "not supported"},
		{"huge", tensor(tflite.Float32, 5000, 4, nil), Options{}, "outside"},
		{"quant norm without params", tensor(tflite.Uint8, 4, 4, nil), Options{Norm: ptr(RangeNorm(0, 1))}, "per-tensor quantization"},
		{"zero std", tensor(tflite.Float32, 4, 4, nil), Options{Norm: &Normalization{}}, "std must be"},
		{"roi empty", tensor(tflite.Float32, 4, 4, nil), Options{Crop: CropROI}, "roi"},
		{"roi fraction outside", tensor(tflite.Float32, 4, 4, nil), Options{Crop: CropROI, ROI: Region{X: 1.5, W: 1, H: 1}}, "roi"},
		{"crop mode", tensor(tflite.Float32, 4, 4, nil), Options{Crop: 9}, "crop mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.t, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFrameErrors(t *testing.T) {
	p := mustNew(t, tensor(tflite.Uint8, 4, 4, nil), Options{})
	roi := mustNew(t, tensor(tflite.Uint8, 4, 4, nil), Options{Crop: CropROI, ROI: Region{X: 100, Y: 0, W: 5, H: 5, Pixels: true}})
	good := randomFrame(device.YUYV, 8, 8, 0, 1)
	short := good
	short.Data = good.Data[:len(good.Data)-1]
	narrow := good
	narrow.Stride = 10
	tests := []struct {
		name string
		p    *Preprocessor
		dst  []byte
		f    device.Frame
		want string
	}{
		{"dst size", p, make([]byte, 3), good, "destination is 3 bytes"},
		{"short data", p, make([]byte, 48), short, "bytes of data"},
		{"stride", p, make([]byte, 48), narrow, "stride 10"},
		{"format", p, make([]byte, 48), device.Frame{Format: "NV12", Width: 8, Height: 8}, "not supported"},
		{"zero size", p, make([]byte, 48), device.Frame{Format: device.RGB24}, "outside"},
		{"bad mjpeg", p, make([]byte, 48), device.Frame{Format: device.MJPEG, Data: []byte("nope")}, "mjpeg"},
		{"roi outside", roi, make([]byte, 48), good, "outside the 8x8 image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Frame(tt.dst, tt.f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	fp := mustNew(t, tensor(tflite.Float32, 4, 4, nil), Options{})
	buf := make([]byte, fp.Size()+1)
	if err := fp.Frame(buf[1:], randomFrame(device.RGB24, 8, 8, 0, 1)); err == nil || !strings.Contains(err.Error(), "aligned") {
		t.Fatalf("misaligned float dst: err = %v", err)
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, format := range []device.PixelFormat{device.YUYV, device.RGB24} {
		for _, typ := range []tflite.TensorType{tflite.Float32, tflite.Uint8} {
			t.Run(string(format)+"/"+typ.String(), func(t *testing.T) {
				f := randomFrame(format, 64, 48, 0, 1)
				p := mustNew(t, tensor(typ, 16, 16, nil), Options{Mirror: true})
				dst := make([]byte, p.Size())
				allocs := testing.AllocsPerRun(10, func() {
					if err := p.Frame(dst, f); err != nil {
						t.Fatal(err)
					}
				})
				if allocs != 0 {
					t.Fatalf("%v allocs per frame, want 0", allocs)
				}
			})
		}
	}
}

func FuzzFrame(f *testing.F) {
	f.Add(uint8(0), uint16(8), uint16(4), uint16(0), []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))
	f.Add(uint8(1), uint16(3), uint16(3), uint16(10), bytes.Repeat([]byte{200, 10, 30}, 20))
	f.Add(uint8(2), uint16(0), uint16(0), uint16(0), []byte{0xff, 0xd8, 0xff, 0xd9})
	formats := []device.PixelFormat{device.YUYV, device.RGB24, device.MJPEG}
	p, err := New(tensor(tflite.Uint8, 7, 5, nil), Options{Mirror: true})
	if err != nil {
		f.Fatal(err)
	}
	dst := make([]byte, p.Size())
	f.Fuzz(func(t *testing.T, format uint8, w, h, stride uint16, data []byte) {
		fr := device.Frame{Format: formats[int(format)%len(formats)], Width: int(w), Height: int(h), Stride: int(stride), Data: data}
		_ = p.Frame(dst, fr)
	})
}
