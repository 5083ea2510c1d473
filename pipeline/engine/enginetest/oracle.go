package enginetest

import (
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

// Oracle runs the real TFLite runtime (testshared.Oracle: skipped locally,
// failing in CI, when it is not installed) on one thread with the model
// file and one raw input, and returns the raw bytes of its first output.
func Oracle(t testing.TB, model string, input []byte) []byte {
	t.Helper()
	js := testshared.Oracle(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.raw"), filepath.Join(dir, "out.raw")
	if err := os.WriteFile(in, input, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("node", js, model, in, "--out="+out, "--threads=1").CombinedOutput(); err != nil {
		t.Fatalf("oracle: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// PNGRGB decodes the PNG file at path into packed 8-bit RGB, row by row,
// dropping alpha, the input layout of an image model's uint8 tensor.
func PNGRGB(t testing.TB, path string) (rgb []byte, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	r := img.Bounds()
	rgb = make([]byte, 0, 3*r.Dx()*r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			rgb = append(rgb, c.R, c.G, c.B)
		}
	}
	return rgb, r.Dx(), r.Dy()
}
