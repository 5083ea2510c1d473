package stillimage

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
	"github.com/alphad/alphad/internal/testshared"
)

func encode(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func flowerJPEGs(t testing.TB, n int) []string {
	t.Helper()
	dir := testshared.Path(t, "datasets", "flowers_tf", "daisy")
	files, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no JPEGs in %s: %v", dir, err)
	}
	sort.Strings(files)
	return files[:min(n, len(files))]
}

func samePixels(t *testing.T, got, want image.Image) {
	t.Helper()
	if got.Bounds() != want.Bounds() {
		t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if got.At(x, y) != want.At(x, y) {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got.At(x, y), want.At(x, y))
			}
		}
	}
}

// TestDecodeWithoutHuffmanTables is the acceptance test: a real photo,
// re-encoded by image/jpeg (standard Annex K tables), stripped of its DHT
// segments, decodes to exactly the pixels of the unstripped file.
func TestDecodeWithoutHuffmanTables(t *testing.T) {
	var cases []struct {
		name string
		img  image.Image
	}
	for _, f := range flowerJPEGs(t, 3) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases = append(cases, struct {
			name string
			img  image.Image
		}{filepath.Base(f), img})
	}
	gray := image.NewGray(image.Rect(0, 0, 37, 21))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
	}
	cases = append(cases, struct {
		name string
		img  image.Image
	}{"gray", gray})

	var d Decoder
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			full := encode(t, c.img)
			stripped := mjpegtest.StripDHT(t, full)
			if HasHuffmanTables(stripped) || !HasHuffmanTables(full) {
				t.Fatalf("HasHuffmanTables: stripped %v full %v", HasHuffmanTables(stripped), HasHuffmanTables(full))
			}
			if _, err := jpeg.Decode(bytes.NewReader(stripped)); err == nil {
				t.Fatalf("image/jpeg decoded a frame without Huffman tables; the test premise is wrong")
			}
			want, err := jpeg.Decode(bytes.NewReader(full))
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Decode(stripped)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			samePixels(t, got, want)
			// The streaming path inserts the tables too.
			got, err = Decode(bytes.NewReader(stripped), Limits{})
			if err != nil {
				t.Fatalf("Decode (stream): %v", err)
			}
			samePixels(t, got, want)
			// Frames with tables decode unchanged too.
			got, err = d.Decode(full)
			if err != nil {
				t.Fatalf("Decode full: %v", err)
			}
			samePixels(t, got, want)
		})
	}
}

func TestHuffmanInsertPos(t *testing.T) {
	img := image.NewYCbCr(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio420)
	full := encode(t, img)
	stripped := mjpegtest.StripDHT(t, full)
	sos := bytes.Index(stripped, []byte{0xff, markerSOS})
	tests := []struct {
		name string
		in   []byte
		sos  int
		has  bool
		st   headerState
	}{
		{"with tables", full, bytes.Index(full, []byte{0xff, markerSOS}), true, headerOK},
		{"without tables", stripped, sos, false, headerOK},
		{"not a jpeg", []byte("hello"), 0, false, headerBad},
		{"empty", nil, 0, false, headerMore},
		{"truncated header", stripped[:20], 0, false, headerMore},
		{"cut at the scan marker", stripped[:sos+1], 0, false, headerMore},
		{"zero-length segment", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0}, 0, false, headerBad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sos, has, st := huffmanInsertPos(tt.in)
			if sos != tt.sos || has != tt.has || st != tt.st {
				t.Fatalf("huffmanInsertPos = %d, %v, %v; want %d, %v, %v", sos, has, st, tt.sos, tt.has, tt.st)
			}
		})
	}
}

// TestStandardDHTMatchesGo checks the table bytes against the DHT segment
// image/jpeg writes (its encoder uses the Annex K tables).
func TestStandardDHTMatchesGo(t *testing.T) {
	full := encode(t, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	i := bytes.Index(full, []byte{0xff, markerDHT})
	if i < 0 {
		t.Fatal("no DHT in Go's output")
	}
	n := int(full[i+2])<<8 | int(full[i+3])
	goDHT := full[i : i+2+n]
	// Go orders the tables DC0, AC0, DC1, AC1; ours DC0, AC0, DC1, AC1 too.
	if !bytes.Equal(goDHT, standardDHT[:]) {
		t.Fatalf("standard DHT differs from image/jpeg's:\n got % x\nwant % x", standardDHT[:], goDHT)
	}
}

func TestDecodeErrors(t *testing.T) {
	var d Decoder
	huge := encode(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	// Patch the SOF0 height/width to 65535×65535.
	sof := bytes.Index(huge, []byte{0xff, 0xc0})
	huge[sof+5], huge[sof+6], huge[sof+7], huge[sof+8] = 0xff, 0xff, 0xff, 0xff
	for name, in := range map[string][]byte{
		"empty":   nil,
		"garbage": []byte("not a jpeg at all"),
		"huge":    huge,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := d.Decode(in); err == nil {
				t.Fatal("no error")
			}
			if _, err := Decode(bytes.NewReader(in), Limits{}); err == nil {
				t.Fatal("no error (stream)")
			}
		})
	}
}
