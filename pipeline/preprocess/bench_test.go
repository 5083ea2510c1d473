package preprocess

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
	"github.com/alphad/alphad/internal/cputime"
	"github.com/alphad/alphad/pipeline/tflite"
)

// BenchmarkFrame times one camera frame → 224×224 tensor, the per-frame
// cost in the daemon's loop. Target: 640×480 YUYV → float32 ≤ 2 ms, 0 allocs.
func BenchmarkFrame(b *testing.B) {
	sizes := []struct{ w, h int }{{320, 240}, {640, 480}, {1280, 720}}
	for _, format := range []device.PixelFormat{device.YUYV, device.RGB24, device.MJPEG} {
		for _, typ := range []tflite.TensorType{tflite.Float32, tflite.Uint8} {
			for _, s := range sizes {
				b.Run(fmt.Sprintf("%s/%dx%d/%s", format, s.w, s.h, typ), func(b *testing.B) {
					f := benchFrame(b, format, s.w, s.h)
					p, err := New(tensor(typ, 224, 224, nil), Options{})
					if err != nil {
						b.Fatal(err)
					}
					dst := make([]byte, p.Size())
					if err := p.Frame(dst, f); err != nil { // build the tables
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					cpu0 := cputime.Process()
					for b.Loop() {
						if err := p.Frame(dst, f); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(cputime.Process()-cpu0)/float64(b.N), "cpu-ns/op")
				})
			}
		}
	}
}

func benchFrame(b *testing.B, format device.PixelFormat, w, h int) device.Frame {
	if format != device.MJPEG {
		return randomFrame(format, w, h, 0, 42)
	}
	src := randomFrame(device.RGB24, w, h, 0, 42)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := y*src.Stride + x*3
			img.SetRGBA(x, y, color.RGBA{src.Data[o], src.Data[o+1], src.Data[o+2], 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		b.Fatal(err)
	}
	return device.Frame{Seq: 1, Format: device.MJPEG, Width: w, Height: h, Data: mjpegtest.StripDHT(b, buf.Bytes())}
}
