package enginetest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/tflite"
	"github.com/alphad/alphad/pipeline/tflite/tflitetest"
)

func TestPNGRGB(t *testing.T) {
	tests := []struct {
		name string
		px   color.NRGBA
		want []byte
	}{
		{"opaque", color.NRGBA{R: 10, G: 200, B: 30, A: 255}, []byte{10, 200, 30}},
		{"alpha dropped, not premultiplied", color.NRGBA{R: 100, G: 50, B: 250, A: 128}, []byte{100, 50, 250}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
			for y := range 2 {
				for x := range 3 {
					img.SetNRGBA(x, y, tc.px)
				}
			}
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "x.png")
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			rgb, w, h := PNGRGB(t, path)
			if w != 3 || h != 2 || !bytes.Equal(rgb, bytes.Repeat(tc.want, 6)) {
				t.Errorf("PNGRGB = %v, %dx%d; want %v ×6, 3x2", rgb, w, h, tc.want)
			}
		})
	}
}

// TestOracle runs the tiny test model in the real runtime: its output is
// two probabilities.
func TestOracle(t *testing.T) {
	data, err := tflite.Marshal(tflitetest.Tiny())
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(t.TempDir(), "tiny.tflite")
	if err := os.WriteFile(model, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := Oracle(t, model, make([]byte, 4*4*4*2))
	if len(out) != 8 {
		t.Fatalf("output %d bytes, want 8", len(out))
	}
	p := engine.Float32s(out)
	if s := p[0] + p[1]; math.Abs(float64(s)-1) > 1e-5 || p[0] <= p[1] {
		t.Errorf("probabilities %v, want p0 > p1 summing to 1", p)
	}
}
