package mjpegtest_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
)

// segments lists the markers of the JPEG b up to its start of scan and
// the offset of that.
func segments(b []byte) (markers []byte, sos int) {
	for i := 2; i+4 <= len(b); {
		markers = append(markers, b[i+1])
		if b[i+1] == 0xda {
			return markers, i
		}
		i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
	}
	return markers, -1
}

func TestStripDHT(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 16, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	full := b.Bytes()
	fullMarkers, fullSOS := segments(full)
	if !bytes.Contains(fullMarkers, []byte{0xc4}) || fullSOS < 0 {
		t.Fatalf("image/jpeg wrote markers %x", fullMarkers)
	}
	got := mjpegtest.StripDHT(t, full)
	gotMarkers, gotSOS := segments(got)
	if want := bytes.ReplaceAll(fullMarkers, []byte{0xc4}, nil); !bytes.Equal(gotMarkers, want) {
		t.Errorf("markers %x, want %x", gotMarkers, want)
	}
	if !bytes.Equal(got[:2], full[:2]) || gotSOS < 0 || !bytes.Equal(got[gotSOS:], full[fullSOS:]) {
		t.Error("start of image or scan data changed")
	}
}
