package preprocess

import (
	"image"
	"math"
	"testing"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/pipeline/tflite"
)

// turnRGB returns the RGB24 frame of levels at(x, y) of a w×h source,
// turned clockwise by rot degrees: the reference a rotated Preprocessor
// must match with Rotate 0.
func turnRGB(at func(x, y int) [3]float64, w, h, rot int) device.Frame {
	ow, oh := w, h
	if rot == 90 || rot == 270 {
		ow, oh = h, w
	}
	data := make([]byte, ow*oh*3)
	for y := range oh {
		for x := range ow {
			var sx, sy int
			switch rot {
			case 0:
				sx, sy = x, y
			case 90:
				sx, sy = y, h-1-x
			case 180:
				sx, sy = w-1-x, h-1-y
			case 270:
				sx, sy = w-1-y, x
			}
			c := at(sx, sy)
			for k := range 3 {
				data[(y*ow+x)*3+k] = byte(math.Round(c[k]))
			}
		}
	}
	return device.Frame{Format: device.RGB24, Width: ow, Height: oh, Data: data}
}

// TestRotate: every quarter turn, with and without mirror and a region,
// equals preprocessing the turned frame unrotated (within a level: the
// turned path interpolates the axes in the other order), for RGB24, YUYV
// and image sources.
func TestRotate(t *testing.T) {
	roi := Options{Crop: CropROI, ROI: Region{X: 0.1, Y: 0.25, W: 0.6, H: 0.5}}
	for _, format := range []device.PixelFormat{device.RGB24, device.YUYV} {
		f := randomFrame(format, 30, 20, 4, 3)
		at := frameAt(f)
		for _, rot := range []int{0, 90, 180, 270} {
			ref := turnRGB(at, 30, 20, rot)
			for _, base := range []Options{{}, {Mirror: true}, {Crop: CropFull}, roi, {Crop: CropROI, ROI: roi.ROI, Mirror: true}} {
				o := base
				o.Rotate = rot
				p := mustNew(t, tensor(tflite.Uint8, 16, 12, nil), o)
				got := make([]byte, p.Size())
				if err := p.Frame(got, f); err != nil {
					t.Fatal(err)
				}
				want := make([]byte, p.Size())
				if err := mustNew(t, tensor(tflite.Uint8, 16, 12, nil), base).Frame(want, ref); err != nil {
					t.Fatal(err)
				}
				tol := 1.0
				if format == device.YUYV {
					tol = 2 // the reference frame rounds the converted levels once more
				}
				for i := range want {
					if math.Abs(float64(got[i])-float64(want[i])) > tol {
						t.Fatalf("%s rotate %d %+v: element %d = %d, want %d", format, rot, base, i, got[i], want[i])
					}
				}
				if format != device.RGB24 {
					continue
				}
				// The image path: the same frame as an *image.RGBA.
				img := image.NewRGBA(image.Rect(0, 0, 30, 20))
				for y := range 20 {
					for x := range 30 {
						c := at(x, y)
						j := img.PixOffset(x, y)
						img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = byte(c[0]), byte(c[1]), byte(c[2]), 255
					}
				}
				if err := p.Image(got, img); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if math.Abs(float64(got[i])-float64(want[i])) > 1 {
						t.Fatalf("image rotate %d %+v: element %d = %d, want %d", rot, base, i, got[i], want[i])
					}
				}
			}
		}
	}
	if _, err := New(tensor(tflite.Uint8, 4, 4, nil), Options{Rotate: 45}); err == nil {
		t.Error("rotate 45 accepted")
	}
}

// BenchmarkRotate is the turned path's cost on a VGA YUYV frame (the
// straight path is BenchmarkFrame).
func BenchmarkRotate(b *testing.B) {
	f := randomFrame(device.YUYV, 640, 480, 0, 1)
	for _, rot := range []int{0, 90} {
		b.Run(map[int]string{0: "rot0", 90: "rot90"}[rot], func(b *testing.B) {
			p := mustNew(b, tensor(tflite.Uint8, 224, 224, nil), Options{Rotate: rot})
			dst := make([]byte, p.Size())
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Frame(dst, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
