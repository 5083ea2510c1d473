package store

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/alphad/alphad/pipeline/tflite"
)

// DefaultBackbone is the backbone `alphad model pull` installs and
// training starts from on a fresh device.
const DefaultBackbone = "mobilenet_v2_1.0_224_quant"

// KnownBackbone is a backbone alphad knows how to fetch and verify.
type KnownBackbone struct {
	Name   string
	URL    string // official download: a .tgz holding File, or the .tflite itself
	File   string // the .tflite's name inside the archive
	SHA256 string // of the .tflite (not of the archive)
	About  string
}

// knownBackbones is the table `alphad model pull NAME` reads.
var knownBackbones = []KnownBackbone{{
	Name:   DefaultBackbone,
	URL:    "https://storage.googleapis.com/download.tensorflow.org/models/tflite_11_05_08/mobilenet_v2_1.0_224_quant.tgz",
	File:   "mobilenet_v2_1.0_224_quant.tflite",
	SHA256: "7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776",
	About:  "Google MobileNetV2 1.0/224 uint8 (Apache-2.0), cut at the global pool for training",
}}

// KnownBackbones lists the backbones alphad can pull by name.
func KnownBackbones() []KnownBackbone { return append([]KnownBackbone(nil), knownBackbones...) }

// LookupBackbone finds a known backbone by name.
func LookupBackbone(name string) (KnownBackbone, bool) {
	for _, b := range knownBackbones {
		if b.Name == name {
			return b, true
		}
	}
	return KnownBackbone{}, false
}

// maxDownload bounds a backbone download (and an archive member).
const maxDownload = 512 << 20

// PullOptions configure Pull.
type PullOptions struct {
	Name string // installed under this name (default DefaultBackbone)
	// Source is where to fetch from: an http(s) URL, a file:// URL or a
	// local path, serving the .tflite or a .tgz holding File. Empty: the
	// known backbone's official URL.
	Source string
	// File is the archive member to extract (default: the known
	// backbone's, else the only .tflite in the archive).
	File string
	// SHA256 is the expected hex SHA-256 of the .tflite. Empty: the known
	// backbone's pin; for an unknown name it is required.
	SHA256 string
	Client *http.Client // nil: http.DefaultClient
	Log    *slog.Logger
	// Progress, if set, is called as an http(s) download proceeds: bytes
	// read and the total (-1 when the server does not say).
	Progress func(done, total int64)
}

// PullResult describes an installed backbone.
type PullResult struct {
	Name     string
	Path     string // installed file
	Hash     string // its identifier (HashBytes)
	SHA256   string
	Bytes    int
	Source   string
	Cut      bool // the model is a full classifier; training cuts it at the global pool
	Features int  // embedding size training gets
}

// ErrChecksum is returned when the downloaded model does not match its pin.
var ErrChecksum = errors.New("checksum mismatch")

// Pull fetches a backbone, verifies its SHA-256 and that it is a usable
// feature extractor with an image input, and installs it atomically under
// its name (see InstallBackbone), where FindBackbone finds it. On any
// failure nothing is installed and the error names the source and the
// cause. It does not need the state directory's owner lock: a running
// daemon uses the backbone for its next training.
func (m *Models) Pull(ctx context.Context, o PullOptions) (PullResult, error) {
	if o.Name == "" {
		o.Name = DefaultBackbone
	}
	if err := ValidBackboneName(o.Name); err != nil {
		return PullResult{}, fmt.Errorf("pull: %w", err)
	}
	known, isKnown := LookupBackbone(o.Name)
	if o.Source == "" {
		if !isKnown {
			return PullResult{}, fmt.Errorf("pull %s: unknown backbone (known: %s); give --mirror URL|PATH and --sha256", o.Name, knownNames())
		}
		o.Source = known.URL
	}
	if o.File == "" && isKnown {
		o.File = known.File
	}
	if o.SHA256 == "" {
		if !isKnown {
			return PullResult{}, fmt.Errorf("pull %s: no checksum: give --sha256 for a backbone alphad does not know", o.Name)
		}
		o.SHA256 = known.SHA256
	}
	want, err := hex.DecodeString(strings.ToLower(o.SHA256))
	if err != nil || len(want) != sha256.Size {
		return PullResult{}, fmt.Errorf("pull %s: sha256 %q is not 64 hex digits", o.Name, o.SHA256)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	data, err := fetch(ctx, o.Source, o.Client, o.Progress)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", o.Name, err)
	}
	if isGzip(data) {
		data, err = extractTFLite(data, o.File)
		if err != nil {
			return PullResult{}, fmt.Errorf("pull %s: %s: %w", o.Name, redactURL(o.Source), err)
		}
	}
	sum := sha256.Sum256(data)
	if !bytes.Equal(sum[:], want) {
		return PullResult{}, fmt.Errorf("pull %s: %s: sha256 %x, want %x (%d bytes; truncated or a different file): %w",
			o.Name, redactURL(o.Source), sum, want, len(data), ErrChecksum)
	}
	tm, err := tflite.Parse(data)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", o.Name, err)
	}
	fm, cut, err := backboneModel(tm)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: not usable as a backbone: %w", o.Name, err)
	}
	ref, err := m.InstallBackbone(o.Name, data, redactURL(o.Source))
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: install: %w", o.Name, err)
	}
	dst := filepath.Join(m.state, ref.File)
	o.Log.Info("backbone installed", "name", o.Name, "file", dst, "sha256", hex.EncodeToString(sum[:]))
	return PullResult{Name: o.Name, Path: dst, Hash: ref.Hash, SHA256: hex.EncodeToString(sum[:]), Bytes: len(data),
		Source: redactURL(o.Source), Cut: cut, Features: fm.Output(0).NumElements()}, nil
}

func knownNames() string {
	var n []string
	for _, b := range knownBackbones {
		n = append(n, b.Name)
	}
	return strings.Join(n, ", ")
}

// fetch reads a source: http(s) URL, file:// URL or local path.
func fetch(ctx context.Context, src string, client *http.Client, progress func(done, total int64)) ([]byte, error) {
	u, err := url.Parse(src)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 { // C:\… style paths have a one-letter scheme
		return readLocal(src)
	}
	switch u.Scheme {
	case "file":
		p := u.Path
		if p == "" {
			p = u.Opaque
		}
		return readLocal(p)
	case "http", "https":
	default:
		return nil, fmt.Errorf("source %s: scheme %q not supported (http, https, file or a path)", redactURL(src), u.Scheme)
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", redactURL(src), err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: server answered %s", redactURL(src), resp.Status)
	}
	var body io.Reader = resp.Body
	if progress != nil {
		body = &countingReader{r: resp.Body, total: resp.ContentLength, progress: progress}
	}
	data, err := io.ReadAll(io.LimitReader(body, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("download %s: after %d bytes: %w", redactURL(src), len(data), err)
	}
	if len(data) > maxDownload {
		return nil, fmt.Errorf("download %s: larger than %d MB", redactURL(src), maxDownload>>20)
	}
	if resp.ContentLength >= 0 && int64(len(data)) != resp.ContentLength {
		return nil, fmt.Errorf("download %s: truncated: %d of %d bytes", redactURL(src), len(data), resp.ContentLength)
	}
	return data, nil
}

// countingReader reports the bytes read so far.
type countingReader struct {
	r        io.Reader
	done     int64
	total    int64
	progress func(done, total int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.done += int64(n)
	c.progress(c.done, c.total)
	return n, err
}

func readLocal(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", p, err)
	}
	if len(data) > maxDownload {
		return nil, fmt.Errorf("source %s: larger than %d MB", p, maxDownload>>20)
	}
	return data, nil
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// extractTFLite returns the archive member named file (by base name), or
// the only .tflite member when file is "".
func extractTFLite(tgz []byte, file string) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	tr := tar.NewReader(bufio.NewReader(zr))
	var found []byte
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("archive (truncated?): %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		base := path.Base(h.Name)
		if !strings.HasSuffix(base, ".tflite") {
			continue
		}
		names = append(names, base)
		if (file != "" && base != file) || (file == "" && found != nil) {
			if file == "" {
				return nil, fmt.Errorf("archive holds several .tflite files (%s): name one", strings.Join(names, ", "))
			}
			continue
		}
		if h.Size > maxDownload {
			return nil, fmt.Errorf("archive member %s: %d bytes is too large", h.Name, h.Size)
		}
		data, err := io.ReadAll(io.LimitReader(tr, h.Size))
		if err != nil || int64(len(data)) != h.Size {
			return nil, fmt.Errorf("archive member %s: truncated (%d of %d bytes): %v", h.Name, len(data), h.Size, err)
		}
		found = data
	}
	if found == nil {
		if file == "" {
			return nil, errors.New("archive holds no .tflite file")
		}
		return nil, fmt.Errorf("archive holds no %s (has: %s)", file, strings.Join(names, ", "))
	}
	return found, nil
}

// redactURL drops user:password from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
