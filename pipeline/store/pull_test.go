package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
)

// makeTgz packs files (name → data) as a .tgz, like Google's archive.
func makeTgz(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestPull(t *testing.T) {
	model, err := os.ReadFile(testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	tgz := makeTgz(t, map[string][]byte{
		"./mobilenet_v2_1.0_224_quant_info.txt": []byte("info"),
		"./mobilenet_v2_1.0_224_quant.tflite":   model,
	})
	wrong := append([]byte(nil), model...)
	wrong[len(wrong)/2] ^= 0xff
	local := filepath.Join(t.TempDir(), "m.tgz")
	os.WriteFile(local, tgz, 0o644)

	mux := http.NewServeMux()
	serve := func(data []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { w.Write(data) }
	}
	mux.HandleFunc("/good.tflite", serve(model))
	mux.HandleFunc("/good.tgz", serve(tgz))
	mux.HandleFunc("/wrong.tflite", serve(wrong))
	mux.HandleFunc("/cut.tgz", serve(tgz[:len(tgz)/2]))
	mux.HandleFunc("/truncated.tflite", func(w http.ResponseWriter, _ *http.Request) {
		// Promise the whole file, send half, hang up.
		w.Header().Set("Content-Length", strconv.Itoa(len(model)))
		w.Write(model[:len(model)/2])
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("/error", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name   string
		source string
		want   string // error substring; "" = success
	}{
		{"tflite over http", srv.URL + "/good.tflite", ""},
		{"tgz over http", srv.URL + "/good.tgz", ""},
		{"file url", "file://" + local, ""},
		{"local path", local, ""},
		{"wrong hash", srv.URL + "/wrong.tflite", "checksum mismatch"},
		{"truncated download", srv.URL + "/truncated.tflite", "download"},
		{"truncated archive", srv.URL + "/cut.tgz", "archive"},
		{"server error", srv.URL + "/error", "500 Internal Server Error"},
		{"missing file", filepath.Join(t.TempDir(), "nope.tgz"), "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			models, err := OpenModels(dir)
			if err != nil {
				t.Fatal(err)
			}
			res, err := models.Pull(context.Background(), PullOptions{Source: tc.source})
			named, nerr := models.NamedBackbones()
			if nerr != nil {
				t.Fatal(nerr)
			}
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				if tc.want == "checksum mismatch" && !errors.Is(err, ErrChecksum) {
					t.Errorf("not ErrChecksum: %v", err)
				}
				if len(named) != 0 {
					t.Fatalf("a failed pull installed %v", named)
				}
				ents, _ := os.ReadDir(filepath.Join(dir, backbonesDir))
				if len(ents) != 0 {
					t.Fatalf("leftovers after a failed pull: %v", ents)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ref, ok := named[DefaultBackbone]
			if !ok {
				t.Fatalf("installed names %v lack %s", named, DefaultBackbone)
			}
			dst := filepath.Join(dir, ref.File)
			got, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, model) {
				t.Fatalf("installed file differs (%v)", err)
			}
			if res.Path != dst || res.Name != DefaultBackbone || res.Hash != HashBytes(model) || !res.Cut || res.Features != 1280 {
				t.Errorf("result %+v", res)
			}
			// Training on a fresh state directory finds it by name.
			data, src, err := models.FindBackbone("", "")
			if err != nil || !bytes.Equal(data, model) || src != DefaultBackbone {
				t.Errorf("FindBackbone: %d bytes from %q, %v", len(data), src, err)
			}
		})
	}
}

func TestPullNeedsChecksumForUnknownNames(t *testing.T) {
	models, err := OpenModels(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = models.Pull(context.Background(), PullOptions{Name: "mine", Source: "/x.tflite"})
	if err == nil || !strings.Contains(err.Error(), "--sha256") {
		t.Fatalf("err = %v", err)
	}
	_, err = models.Pull(context.Background(), PullOptions{Name: "../etc"})
	if err == nil {
		t.Fatal("path traversal in a name accepted")
	}
}

func TestExtractTFLite(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
		file  string
		want  string // content or error substring prefixed by "err:"
	}{
		{"only one", map[string][]byte{"a/x.tflite": []byte("X"), "a/readme": []byte("r")}, "", "X"},
		{"named", map[string][]byte{"x.tflite": []byte("X"), "y.tflite": []byte("Y")}, "y.tflite", "Y"},
		{"ambiguous", map[string][]byte{"x.tflite": []byte("X"), "y.tflite": []byte("Y")}, "", "err:several"},
		{"missing", map[string][]byte{"x.tflite": []byte("X")}, "z.tflite", "err:no z.tflite"},
		{"none", map[string][]byte{"readme": []byte("r")}, "", "err:no .tflite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extractTFLite(makeTgz(t, tc.files), tc.file)
			if e, ok := strings.CutPrefix(tc.want, "err:"); ok {
				if err == nil || !strings.Contains(err.Error(), e) {
					t.Fatalf("err = %v, want %q", err, e)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

// FuzzExtractTFLite: the archive reader never panics and never returns
// more than an archive member holds.
func FuzzExtractTFLite(f *testing.F) {
	f.Add(makeTgzF(map[string][]byte{"x.tflite": []byte("TFL3"), "y.txt": []byte("y")}), "")
	f.Add(makeTgzF(map[string][]byte{"a/b.tflite": make([]byte, 600)}), "b.tflite")
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}, "")
	f.Fuzz(func(t *testing.T, tgz []byte, file string) {
		data, err := extractTFLite(tgz, file)
		if err == nil && len(data) > len(tgz)*1100 {
			t.Fatalf("%d bytes from a %d-byte archive", len(data), len(tgz))
		}
	})
}

func makeTgzF(files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}
