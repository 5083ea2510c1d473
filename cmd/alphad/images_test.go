package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/device/camerafile"
	"github.com/alphad/alphad/internal/daemon"
	"github.com/alphad/alphad/internal/stillimage"
)

// pngClaiming is a 33-byte PNG whose header declares w×h pixels.
func pngClaiming(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	chunk := binary.BigEndian.AppendUint32(nil, 13)
	chunk = append(chunk, "IHDR"...)
	chunk = append(chunk, ihdr...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), chunk...)
}

// TestImagePathsAgree (finding 2, the image paths disagree): classify,
// dataset add and dataset import, the daemon's add_samples and the image:
// camera accept and refuse the same images with the same message (one
// decoder, one set of limits). Before: GIF and a 1048576×64 PNG were
// accepted by dataset add and refused by classify.
func TestImagePathsAgree(t *testing.T) {
	dir := t.TempDir()
	model := writeTinyBackbone(t, dir)
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var pngBuf, gifBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&gifBuf, img, nil); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		file string
		data []byte
		want string
	}{
		{"bomb.png", pngClaiming(30000, 30000), "bomb.png: 30000x30000 pixels exceeds the 24 Mpx limit"},
		{"big.png", pngClaiming(8192, 8192), "big.png: 8192x8192 pixels exceeds the 24 Mpx limit"},
		{"long.png", pngClaiming(1048576, 64), "long.png: 1048576x64 pixels exceeds the 24 Mpx limit"},
		{"thin.png", pngClaiming(1048576, 8), "thin.png: 1048576x8 pixels: width exceeds the 16384-pixel limit"},
		{"anim.gif", gifBuf.Bytes(), "anim.gif: GIF images are not supported: want JPEG, PNG or BMP"},
		{"cut.png", pngBuf.Bytes()[:pngBuf.Len()/2], "cut.png: decode png"},
	}
	good := filepath.Join(dir, "good.png")
	if err := os.WriteFile(good, pngBuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Run(b.file, func(t *testing.T) {
			path := filepath.Join(dir, b.file)
			if err := os.WriteFile(path, b.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, errText, code := cli(t, "classify", "--model", model, path)
			if code == 0 || !strings.Contains(errText, b.want) {
				t.Errorf("classify: exit %d, %q; want %q", code, errText, b.want)
			}
			state := t.TempDir()
			_, errText, code = cli(t, "dataset", "add", "--state-dir", state, "x", path)
			if code == 0 || !strings.Contains(errText, b.want) {
				t.Errorf("dataset add: exit %d, %q; want %q", code, errText, b.want)
			}
			_, errText, code = cli(t, "dataset", "add", "--state-dir", state, "--keep-original=false", "x", path)
			if code == 0 || !strings.Contains(errText, b.want) {
				t.Errorf("dataset add --keep-original=false: exit %d, %q; want %q", code, errText, b.want)
			}
			// The daemon's paths: add_samples (MQTT, socket, web uploads)
			// and the image: and dir: cameras, with run's default limits.
			lim := daemon.DefaultConfig().Images.Limits()
			msg := strings.TrimPrefix(b.want, b.file+": ")
			dec := stillimage.Decoder{Limits: lim, Fit: 224}
			if _, err := dec.Decode(b.data); err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("add_samples: %v; want %q", err, msg)
			}
			if _, err := camerafile.OpenImage(path, camerafile.Config{Limits: lim, Fit: stillFrameSide}); err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("image: camera: %v; want %q", err, b.want)
			}
			imp := filepath.Join(t.TempDir(), "import")
			os.MkdirAll(filepath.Join(imp, "x"), 0o755)
			os.WriteFile(filepath.Join(imp, "x", b.file), b.data, 0o644)
			os.WriteFile(filepath.Join(imp, "x", "good.png"), pngBuf.Bytes(), 0o644)
			_, errText, code = cli(t, "dataset", "import", "--state-dir", state, imp)
			if code != 0 || !strings.Contains(errText, "skipped "+filepath.Join(imp, "x", b.want)) || !strings.Contains(errText, "imported 1 new, 0 already present; 1 unreadable skipped") {
				t.Errorf("dataset import: exit %d, %q; want it to skip %q", code, errText, b.want)
			}
		})
	}
	if _, errText, code := cli(t, "classify", "--model", model, good); code != 0 {
		t.Fatalf("classify good.png: exit %d: %s", code, errText)
	}
	if _, errText, code := cli(t, "dataset", "add", "--state-dir", t.TempDir(), "x", good); code != 0 {
		t.Fatalf("dataset add good.png: exit %d: %s", code, errText)
	}
}
