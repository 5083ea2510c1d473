package mjpeg

import (
	"bytes"
	"errors"
	"image"
	"io"
	"testing"
	"testing/iotest"

	"github.com/alphad/alphad/device/mjpeg/mjpegtest"
)

// synthFrame builds a small JPEG-shaped frame whose header payload holds
// EOI and SOI bytes and whose entropy data has stuffing, restart markers
// and fill bytes: everything a naive FFD8/FFD9 search gets wrong.
func synthFrame(tag byte) []byte {
	b := []byte{0xff, 0xd8}
	app := []byte{0xff, 0xe1, 0x00, 0x0a, 'E', 'x', 0xff, 0xd9, 0xff, 0xd8, tag, 0}
	b = append(b, app...)
	b = append(b, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00)
	b = append(b, 'a', tag, 0xff, 0x00, 'c', 0xff, 0xd3, 'e', 0xff, 0xff, 0xff, 0x00, 'z')
	return append(b, 0xff, 0xd9)
}

func readAll(t *testing.T, r io.Reader, max int) [][]byte {
	t.Helper()
	fr := NewReader(r, max)
	var out [][]byte
	for {
		f, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, bytes.Clone(f))
	}
}

func TestReader(t *testing.T) {
	real1 := encode(t, image.NewGray(image.Rect(0, 0, 40, 30)))
	ycc := image.NewYCbCr(image.Rect(0, 0, 33, 17), image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i * 13)
	}
	real2 := mjpegtest.StripDHT(t, encode(t, ycc))
	s1, s2, s3 := synthFrame(1), synthFrame(2), synthFrame(3)

	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name   string
		stream []byte
		want   [][]byte
		max    int
	}{
		{"one", s1, [][]byte{s1}, 0},
		{"back to back", cat(s1, s2, real1, real2), [][]byte{s1, s2, real1, real2}, 0},
		{"garbage between", cat([]byte("xx\xff\xff\x00\xff"), s1, []byte("junk\xff"), real1, []byte{0xff, 0xd9, 0}, s2),
			[][]byte{s1, real1, s2}, 0},
		{"cut short by next frame", cat(s1, s2[:len(s2)-5], s3, real1[:len(real1)-9], real2), [][]byte{s1, s3, real2}, 0},
		{"truncated tail", cat(s1, real2, real1[:len(real1)-3]), [][]byte{s1, real2}, 0},
		{"truncated in header", cat(s1, s2[:7]), [][]byte{s1}, 0},
		{"only garbage", []byte("no frames here \xff"), nil, 0},
		{"empty", nil, nil, 0},
		{"bad segment length", cat([]byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01}, s2), [][]byte{s2}, 0},
		{"oversized frame skipped", cat(s1, real1, s2), [][]byte{s1, s2}, len(real1) - 1},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"onebyte":  iotest.OneByteReader,
		"halfread": iotest.HalfReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				got := readAll(t, wrap(bytes.NewReader(tt.stream)), tt.max)
				if len(got) != len(tt.want) {
					t.Fatalf("got %d frames, want %d", len(got), len(tt.want))
				}
				for i := range got {
					if !bytes.Equal(got[i], tt.want[i]) {
						t.Fatalf("frame %d:\n got % x\nwant % x", i, got[i], tt.want[i])
					}
				}
			})
		}
	}
}

func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(bytes.NewReader(synthFrame(1)), iotest.ErrReader(boom)), 0)
	if _, err := r.Next(); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func FuzzSplitFrames(f *testing.F) {
	f.Add(synthFrame(1))
	f.Add(bytes.Join([][]byte{[]byte("junk"), synthFrame(1), synthFrame(2)[:9], synthFrame(3)}, nil))
	f.Add(encode(f, image.NewGray(image.Rect(0, 0, 8, 8))))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xff, 0xd9})
	f.Fuzz(func(t *testing.T, b []byte) {
		whole := readAll(t, bytes.NewReader(b), 1<<16)
		for i, fr := range whole {
			if len(fr) < 4 || fr[0] != 0xff || fr[1] != 0xd8 || fr[len(fr)-2] != 0xff || fr[len(fr)-1] != 0xd9 {
				t.Fatalf("frame %d is not SOI…EOI: % x", i, fr)
			}
		}
		chunked := readAll(t, iotest.OneByteReader(bytes.NewReader(b)), 1<<16)
		if len(chunked) != len(whole) {
			t.Fatalf("one-byte reads gave %d frames, whole reads %d", len(chunked), len(whole))
		}
		for i := range whole {
			if !bytes.Equal(whole[i], chunked[i]) {
				t.Fatalf("frame %d differs between read sizes", i)
			}
		}
	})
}
