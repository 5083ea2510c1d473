package main

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/testshared"
)

// maxRSSMB is the memory target of issue 14: peak RSS of `alphad run` and
// of every CLI command, whatever image it is given.
const maxRSSMB = 150

// buildAlphad builds the binary into dir (the go build cache keeps it
// quick after the first test).
func buildAlphad(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "alphad")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeRowPNG writes a w×h 8-bit RGB PNG whose pixels row(y, buf) fills,
// streaming the rows through zlib so that the test never holds the image.
func writeRowPNG(t *testing.T, path string, w, h int, row func(y int, buf []byte)) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	chunk := func(typ string, data []byte) {
		binary.Write(bw, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		io.WriteString(crc, typ)
		crc.Write(data)
		bw.WriteString(typ)
		bw.Write(data)
		binary.Write(bw, binary.BigEndian, crc.Sum32())
	}
	bw.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, 8, 2, 0, 0, 0))
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	buf := make([]byte, 1+3*w)
	for y := range h {
		row(y, buf[1:])
		zw.Write(buf)
		if z.Len() > 1<<20 {
			chunk("IDAT", z.Bytes())
			z.Reset()
		}
	}
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
}

// bigImages writes the images of finding 2 into dir and returns their
// paths: a 24 Mpx photo-sized JPEG and PNG (accepted), a 196 KB-class
// 8192×8192 PNG and a 30000×30000 PNG bomb (refused from their headers).
func bigImages(t *testing.T, dir string) (accepted, refused []string) {
	t.Helper()
	const w, h = 6000, 4000
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			img.Y[y*img.YStride+x] = byte(x*7/3 + y/5 + (x^y)&31)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = byte(i*3), byte(i/7)
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	img = nil
	paths := map[string]string{}
	for _, n := range []string{"a-24mpx.jpg", "b-24mpx.png", "c-8192.png", "d-bomb.png"} {
		paths[n] = filepath.Join(dir, n)
	}
	if err := os.WriteFile(paths["a-24mpx.jpg"], jb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	writeRowPNG(t, paths["b-24mpx.png"], w, h, func(y int, b []byte) {
		for x := range w {
			b[3*x], b[3*x+1], b[3*x+2] = byte(x/23+y), byte(y/16), byte(x^y)
		}
	})
	writeRowPNG(t, paths["c-8192.png"], 8192, 8192, func(y int, b []byte) { clear(b) })
	// The bomb: its header declares 30000×30000; what follows is never read.
	bomb := pngClaiming(30000, 30000)
	if err := os.WriteFile(paths["d-bomb.png"], append(bomb, make([]byte, 1<<10)...), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{paths["a-24mpx.jpg"], paths["b-24mpx.png"]}, []string{paths["c-8192.png"], paths["d-bomb.png"]}
}

// measured runs alphad under GNU time and returns its combined output,
// exit code and peak RSS in MB. GNU time, a small process, is the parent:
// a child started by the test itself would report at least the test's own
// peak (Linux keeps the parent's high-water mark across the vfork+exec of
// os/exec).
type measured struct {
	out  []byte
	code int
	rss  float64
}

func timeBin(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		testshared.Lacking(t, testshared.GroupTime, "/usr/bin/time (GNU time) measures the peak RSS of alphad")
	}
	return "/usr/bin/time"
}

// startMeasured starts bin args under GNU time, its -o file in dir.
func startMeasured(t *testing.T, dir, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	f, err := os.CreateTemp(dir, "rss-*")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return exec.Command(timeBin(t), append([]string{"-f", "%M", "-o", f.Name(), bin}, args...)...), f.Name()
}

// rssOf reads the peak RSS (KB) GNU time wrote to file, in MB.
func rssOf(t *testing.T, file string) float64 {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	kb, err := strconv.ParseFloat(lines[len(lines)-1], 64) // after "Command exited with non-zero status"
	if err != nil {
		t.Fatalf("GNU time output %q: %v", b, err)
	}
	return kb / 1024
}

func runMeasured(t *testing.T, dir, bin string, args ...string) measured {
	t.Helper()
	cmd, file := startMeasured(t, dir, bin, args...)
	out, _ := cmd.CombinedOutput()
	return measured{out: out, code: cmd.ProcessState.ExitCode(), rss: rssOf(t, file)}
}

// TestFaultImagesRSS (finding 2, unbounded decodes): the peak RSS of
// `alphad run` with a dir: camera holding a 24 Mpx JPEG, a 24 Mpx PNG,
// an 8192×8192 PNG and a 30000×30000 PNG bomb, and of classify, dataset
// add and dataset import given each of them, stays within 150 MB. Before:
// 702 MB (run, 24 Mpx JPEG alone), 4.4 GB (dataset add of the bomb),
// 489 MB (classify, 8192² PNG).
func TestFaultImagesRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds alphad and decodes 24 Mpx images in child processes")
	}
	model := testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant.tflite")
	labels := testshared.Path(t, "models", "imagenet_labels.txt")
	tmp := t.TempDir()
	bin := buildAlphad(t, tmp)
	imgDir := filepath.Join(tmp, "images")
	os.Mkdir(imgDir, 0o755)
	accepted, refused := bigImages(t, imgDir)

	// The CLI, one child per command and image.
	for _, path := range append(accepted, refused...) {
		name := filepath.Base(path)
		ok := !strings.Contains(name, "8192") && !strings.Contains(name, "bomb")
		impDir := filepath.Join(tmp, "import-"+name, "x")
		os.MkdirAll(impDir, 0o755)
		os.Link(path, filepath.Join(impDir, name))
		for _, args := range [][]string{
			{"classify", "--model", model, "--labels", labels, path},
			{"dataset", "add", "--state-dir", filepath.Join(tmp, "state-add-"+name), "x", path},
			{"dataset", "import", "--state-dir", filepath.Join(tmp, "state-imp-"+name), filepath.Dir(impDir)},
		} {
			m := runMeasured(t, tmp, bin, args...)
			out, rss := m.out, m.rss
			var err error
			if m.code != 0 {
				err = fmt.Errorf("exit %d", m.code)
			}
			t.Logf("%s %s: exit %d, peak RSS %.0f MB", args[0]+" "+args[1], name, m.code, rss)
			switch {
			case args[0] == "dataset" && args[1] == "import":
				// Import skips what does not decode and says so.
				if want := "imported 1 new"; ok && !bytes.Contains(out, []byte(want)) {
					t.Errorf("dataset import %s: %v, %s; want %q", name, err, out, want)
				}
				if !ok && !bytes.Contains(out, []byte("exceeds the 24 Mpx limit")) {
					t.Errorf("dataset import %s: %s; want it skipped over the 24 Mpx limit", name, out)
				}
			case ok != (err == nil):
				t.Errorf("%s %s: %v, %s; want success %v", args[0], name, err, out, ok)
			case !ok && !bytes.Contains(out, []byte("exceeds the 24 Mpx limit")):
				t.Errorf("%s %s: %s; want the 24 Mpx limit named", args[0], name, out)
			}
			if rss > maxRSSMB {
				t.Errorf("%s %s: peak RSS %.0f MB, want ≤ %d MB", strings.Join(args[:2], " "), name, rss, maxRSSMB)
			}
		}
	}

	// The daemon: a dir: camera looping over all four.
	port := freePort(t)
	cfg := filepath.Join(tmp, "alphad.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, "version: 1\ncamera:\n  source: dir:%s?loop=true\nmodel:\n  path: %s\n  labels: %s\nhttp:\n  listen: 127.0.0.1:%d\n",
		imgDir, model, labels, port), 0o644)
	cmd := exec.Command(bin, "run", "--config", cfg, "--state-dir", filepath.Join(tmp, "state-run"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for three passes over the two good images.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	frames := 0.0
	for frames < 6 && ctx.Err() == nil {
		if frames = metric(ctx, port, "alphad_frames_total"); frames < 6 {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond): // poll the counter
			}
		}
	}
	// The daemon's own high-water mark (VmHWM: its memory since exec).
	rss := vmHWM(t, cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	t.Logf("alphad run, dir: camera of the four images: %.0f frames, peak RSS %.0f MB", frames, rss)
	if frames < 6 {
		t.Fatalf("alphad run: %.0f frames before the timeout (%v)\n%s", frames, err, stderr.String())
	}
	if rss > maxRSSMB {
		t.Errorf("alphad run: peak RSS %.0f MB, want ≤ %d MB", rss, maxRSSMB)
	}
	// One warning for each refused image, not one per pass.
	for _, p := range refused {
		if n := strings.Count(stderr.String(), filepath.Base(p)+":"); n != 1 {
			t.Errorf("alphad run: %d warnings naming %s, want 1\n%s", n, filepath.Base(p), stderr.String())
		}
	}
}

// vmHWM reads the peak RSS of a running process from /proc, in MB.
func vmHWM(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb / 1024
		}
	}
	t.Fatalf("/proc/%d/status: no VmHWM", pid)
	return 0
}

// freePort returns a TCP port free on the loopback interface just now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// metric waits for the next answer of /metrics on port (retrying while
// the daemon starts) and returns the value of the named sample, 0 when
// it is absent.
func metric(ctx context.Context, port int, name string) float64 {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/metrics", port), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond): // the daemon is starting: poll
			}
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return f
			}
		}
		return 0
	}
	return 0
}
