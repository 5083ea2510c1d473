package mjpeg

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
)

func encode(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSize(t *testing.T) {
	ycc := image.NewYCbCr(image.Rect(0, 0, 33, 17), image.YCbCrSubsampleRatio420)
	full := encode(t, ycc)
	tests := []struct {
		name string
		in   []byte
		w, h int
		ok   bool
	}{
		{"ycbcr", full, 33, 17, true},
		{"no tables", mjpegtest.StripDHT(t, full), 33, 17, true},
		{"gray", encode(t, image.NewGray(image.Rect(0, 0, 640, 480))), 640, 480, true},
		{"truncated", full[:30], 0, 0, false},
		{"garbage", []byte("hello world"), 0, 0, false},
		{"empty", nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h, ok := Size(tt.in)
			if w != tt.w || h != tt.h || ok != tt.ok {
				t.Fatalf("Size = %d, %d, %v; want %d, %d, %v", w, h, ok, tt.w, tt.h, tt.ok)
			}
		})
	}
	if n := testing.AllocsPerRun(10, func() { Size(full) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func FuzzSize(f *testing.F) {
	f.Add(encode(f, image.NewGray(image.Rect(0, 0, 8, 8))))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x20})
	f.Fuzz(func(t *testing.T, b []byte) {
		w, h, ok := Size(b)
		if !ok {
			return
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
		if err == nil && (cfg.Width != w || cfg.Height != h) {
			t.Fatalf("Size %dx%d, image/jpeg %dx%d", w, h, cfg.Width, cfg.Height)
		}
	})
}
