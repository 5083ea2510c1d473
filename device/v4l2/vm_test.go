//go:build linux

package v4l2_test

// Tests against real kernel drivers, run inside the test VM by
// scripts/vmtest.sh (make vmtest): vivid is /dev/video0, v4l2loopback is
// /dev/video10. They skip unless VMTEST=1.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/v4l2"
	"github.com/alphad/alphad/internal/stillimage"
)

const (
	vmVivid    = "/dev/video0"
	vmLoopback = "/dev/video10"
)

// vmOnly skips the test outside the VM and checks the device node exists.
func vmOnly(t *testing.T, node string) {
	t.Helper()
	if os.Getenv("VMTEST") != "1" {
		t.Skip("VM test: run with make vmtest")
	}
	if _, err := os.Stat(node); err != nil {
		t.Fatalf("in the VM but %s is missing: %v", node, err)
	}
}

// v4l2Format is struct v4l2_format with the pix member (amd64: 4 bytes
// type, 4 bytes padding, a 200-byte union). The tests issue their own
// ioctls so that they check the camera, in both its cgo (go4vl) and pure Go
// builds, against the driver rather than against itself.
type v4l2Format struct {
	Type uint32
	_    uint32
	Pix  [12]uint32 // width height pixelformat field bytesperline sizeimage ...
	_    [200 - 48]byte
}

const (
	vidiocGFmt          = 0xC0D05604 // _IOWR('V', 4, struct v4l2_format)
	vidiocSFmt          = 0xC0D05605 // _IOWR('V', 5, struct v4l2_format)
	bufTypeVideoCapture = 1
	bufTypeVideoOutput  = 2
	fieldNone           = 1
)

func ioctlFormat(fd uintptr, req uintptr, f *v4l2Format) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(f))); e != 0 {
		return e
	}
	return nil
}

// pixFormat is the part of the driver's format the tests compare.
type pixFormat struct {
	FourCC                                 string
	Width, Height, BytesPerLine, SizeImage int
}

// driverFormat reads the device's current format through a second file
// descriptor (VIDIOC_G_FMT), independently of the camera under test.
func driverFormat(t *testing.T, path string) pixFormat {
	t.Helper()
	dev, err := os.OpenFile(path, os.O_RDWR|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("open %s for G_FMT: %v", path, err)
	}
	defer dev.Close()
	f := v4l2Format{Type: bufTypeVideoCapture}
	if err := ioctlFormat(dev.Fd(), vidiocGFmt, &f); err != nil {
		t.Fatalf("G_FMT %s: %v", path, err)
	}
	return pixFormat{FourCC: fourcc(f.Pix[2]), Width: int(f.Pix[0]), Height: int(f.Pix[1]), BytesPerLine: int(f.Pix[4]), SizeImage: int(f.Pix[5])}
}

func fourcc(f uint32) string {
	return string([]byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)})
}

func fourccCode(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// frameRGB converts a raw frame to RGB with a plain loop (BT.601, limited
// range for YUYV, as vivid produces by default).
func frameRGB(t *testing.T, fr device.Frame) *image.RGBA {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, fr.Width, fr.Height))
	clamp := func(v float64) uint8 { return uint8(max(0, min(255, v+0.5))) }
	for y := 0; y < fr.Height; y++ {
		row := fr.Data[y*fr.Stride:]
		switch fr.Format {
		case device.YUYV:
			for x := 0; x+1 < fr.Width; x += 2 {
				u, v := float64(row[2*x+1])-128, float64(row[2*x+3])-128
				for i, yy := range []byte{row[2*x], row[2*x+2]} {
					c := 1.164 * (float64(yy) - 16)
					img.SetRGBA(x+i, y, color.RGBA{clamp(c + 1.596*v), clamp(c - 0.392*u - 0.813*v), clamp(c + 2.017*u), 255})
				}
			}
		case device.RGB24:
			for x := 0; x < fr.Width; x++ {
				img.SetRGBA(x, y, color.RGBA{row[3*x], row[3*x+1], row[3*x+2], 255})
			}
		default:
			t.Fatalf("frameRGB: format %s", fr.Format)
		}
	}
	return img
}

// saveArtifact writes an image to $VMTEST_ARTIFACTS (shipped back to the
// host by the VM's init).
func saveArtifact(t *testing.T, name string, img image.Image) {
	dir := os.Getenv("VMTEST_ARTIFACTS")
	if dir == "" {
		return
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Errorf("encode %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b.Bytes(), 0o644); err != nil {
		t.Errorf("save %s: %v", name, err)
	}
}

// vividBars are vivid's default test pattern, 75% colour bars, left to
// right.
var vividBars = []struct {
	name    string
	r, g, b uint8
}{
	{"white", 191, 191, 191}, {"yellow", 191, 191, 0}, {"cyan", 0, 191, 191}, {"green", 0, 191, 0},
	{"magenta", 191, 0, 191}, {"red", 191, 0, 0}, {"blue", 0, 0, 191}, {"black", 0, 0, 0},
}

// checkBars checks the middle of each colour bar on a row below vivid's
// text overlay (which ends about 140 rows down). A frame read with the
// wrong stride or pixel format fails.
func checkBars(t *testing.T, img *image.RGBA) {
	t.Helper()
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	y := h - 8
	var bad []string
	for i, bar := range vividBars {
		x := w*i/len(vividBars) + w/(2*len(vividBars))
		c := img.RGBAAt(x, y)
		d := max(absDiff(c.R, bar.r), absDiff(c.G, bar.g), absDiff(c.B, bar.b))
		if d > 40 {
			bad = append(bad, fmt.Sprintf("%s bar at (%d,%d) is %v", bar.name, x, y, c))
		}
	}
	if len(bad) > 0 {
		t.Errorf("frame is not vivid's colour bars: %s", strings.Join(bad, "; "))
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestVMCapture streams from vivid through Open/Next in YUYV and RGB24 at
// two sizes, and at a size vivid does not offer (the driver picks another),
// and checks the camera's format against the driver's own (read through
// another file descriptor), the frame geometry and the picture itself.
func TestVMCapture(t *testing.T) {
	vmOnly(t, vmVivid)
	tests := []struct {
		format device.PixelFormat
		fourcc string
		w, h   int
		bpp    int
		exact  bool // the driver offers w×h
	}{
		{device.YUYV, v4l2.FourCCYUYV, 640, 480, 2, true},
		{device.YUYV, v4l2.FourCCYUYV, 320, 180, 2, true},
		{device.RGB24, v4l2.FourCCRGB24, 640, 480, 3, true},
		{device.RGB24, v4l2.FourCCRGB24, 320, 180, 3, true},
		{device.YUYV, v4l2.FourCCYUYV, 400, 300, 2, false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s_%dx%d", tt.format, tt.w, tt.h)
		t.Run(name, func(t *testing.T) {
			c, err := v4l2.Open(context.Background(), v4l2.Config{Path: vmVivid, Request: v4l2.Request{Width: tt.w, Height: tt.h, FPS: 30, Format: tt.format}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f := c.Format()
			drv := driverFormat(t, vmVivid)
			t.Logf("camera says %s stride %d size %d; driver has %+v", f, f.Stride, f.SizeImage, drv)
			if drv.FourCC != tt.fourcc {
				t.Fatalf("driver format %s, want %s", drv.FourCC, tt.fourcc)
			}
			if tt.exact != (drv.Width == tt.w && drv.Height == tt.h) {
				t.Fatalf("driver size %dx%d for a request of %dx%d (exact: %v)", drv.Width, drv.Height, tt.w, tt.h, tt.exact)
			}
			if f.FourCC != tt.fourcc || f.Width != drv.Width || f.Height != drv.Height ||
				f.Stride != drv.BytesPerLine || f.SizeImage != drv.SizeImage {
				t.Fatalf("camera format %+v differs from the driver's %+v", f, drv)
			}
			if f.Stride < f.Width*tt.bpp {
				t.Fatalf("stride %d < %d", f.Stride, f.Width*tt.bpp)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var last uint64
			for i := range 4 {
				fr, err := c.Next(ctx)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if fr.Seq <= last {
					t.Errorf("frame %d: seq %d after %d", i, fr.Seq, last)
				}
				last = fr.Seq
				if fr.Format != tt.format || fr.Width != f.Width || fr.Height != f.Height || fr.Stride != f.Stride || len(fr.Data) != f.SizeImage {
					t.Fatalf("frame %d: %s %dx%d stride %d, %d bytes; want %s %dx%d stride %d, %d bytes",
						i, fr.Format, fr.Width, fr.Height, fr.Stride, len(fr.Data), tt.format, f.Width, f.Height, f.Stride, f.SizeImage)
				}
				if i == 0 {
					img := frameRGB(t, fr)
					saveArtifact(t, "v4l2_"+name, img)
					checkBars(t, img)
				}
			}
			t.Logf("stats %+v", c.Stats())
		})
	}
}

// TestVMUnplug unbinds the vivid device from its driver while the
// supervised camera streams, as when a USB camera is pulled out, then
// removes the module (which only works once the camera has closed the dead
// node), loads it again and expects frames to resume through the
// supervisor's reopen, with the same format.
func TestVMUnplug(t *testing.T) {
	vmOnly(t, vmVivid)
	const vividOpts = "n_devs=1 node_types=0x1"
	c, events := supervisedVM(v4l2.Config{Path: vmVivid, Request: v4l2.Request{Width: 320, Height: 180, Format: device.YUYV}},
		100*time.Millisecond, 300*time.Millisecond)
	defer c.Close()
	t.Cleanup(func() { // leave vivid loaded for the next test
		if _, err := os.Stat(vmVivid); err != nil {
			exec.Command("modprobe", append([]string{"vivid"}, strings.Fields(vividOpts)...)...).Run()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	before, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("first frame: %v (stats %+v)", err, c.Stats())
	}
	if !<-events {
		t.Fatal("first status is down")
	}
	run := func(args ...string) error {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return nil
	}
	unplugged := time.Now()
	if err := os.WriteFile("/sys/bus/platform/drivers/vivid/unbind", []byte("vivid.0"), 0); err != nil {
		t.Fatalf("unbind vivid.0: %v", err)
	}
	// The camera notices (a read error) and closes the node; the
	// supervisor reports the outage and retries.
	dctx, dcancel := context.WithTimeout(ctx, 20*time.Second)
	down := drive(dctx, c, events, false)
	dcancel()
	if !down {
		t.Fatal("camera did not notice the device going away")
	}
	t.Logf("after unbind: %s", c.Stats().LastError)
	// rmmod fails (EAGAIN) while any file descriptor of the device is open:
	// it succeeding shows the camera let go of the dead node.
	var rmErr error
	for range 50 {
		if rmErr = run("rmmod", "vivid"); rmErr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rmErr != nil {
		t.Fatalf("the camera still holds the vivid device: %v", rmErr)
	}
	gone := time.Now() // frames captured later come from a reopened device
	// A few failed reopen attempts.
	fctx, fcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	if drive(fctx, c, events, true) {
		t.Fatalf("up again with the module removed: %+v", c.Stats())
	}
	fcancel()
	if st := c.Stats(); st.Opens != 1 || st.Failures < 2 {
		t.Fatalf("opened a device that is not there, or did not retry: %+v", st)
	}
	if err := run(append([]string{"modprobe", "vivid"}, strings.Fields(vividOpts)...)...); err != nil {
		t.Fatal(err)
	}
	// Skip frames captured before the driver went away, if one was pending.
	var after device.Frame
	for {
		after, err = c.Next(ctx)
		if err != nil {
			t.Fatalf("no frame after modprobe: %v (stats %+v)", err, c.Stats())
		}
		if after.Time.After(gone) {
			break
		}
	}
	st := c.Stats()
	t.Logf("frames resumed %v after the unplug: seq %d -> %d, stats %+v", time.Since(unplugged).Round(time.Millisecond), before.Seq, after.Seq, st)
	if st.Opens < 2 || !st.Up {
		t.Errorf("stats %+v, want a reopen and the camera up", st)
	}
	if after.Seq <= before.Seq || after.Format != device.YUYV || after.Width != 320 || after.Height != 180 {
		t.Errorf("frame after reconnect: seq %d %s %dx%d", after.Seq, after.Format, after.Width, after.Height)
	}
	checkBars(t, frameRGB(t, after))
}

// testJPEG encodes a 640×480 gradient with the frame number in it.
func testJPEG(t *testing.T, n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := range 640 {
			img.SetRGBA(x, y, color.RGBA{uint8(x/3 + n*40), uint8(y / 2), uint8(n * 60), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stripDHT removes the Huffman table segments of a JPEG, as many webcams
// do in their MJPEG streams.
func stripDHT(t *testing.T, b []byte) []byte {
	t.Helper()
	out := append([]byte(nil), b[:2]...)
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xff {
			t.Fatalf("stripDHT: no marker at %d", i)
		}
		m := b[i+1]
		n := int(b[i+2])<<8 | int(b[i+3])
		if m == 0xda { // start of scan: the rest is entropy-coded data
			return append(out, b[i:]...)
		}
		if m != 0xc4 {
			out = append(out, b[i:i+2+n]...)
		}
		i += 2 + n
	}
	t.Fatal("stripDHT: no start of scan")
	return nil
}

// TestVMLoopbackMJPEG feeds JPEG frames, one without Huffman tables, to
// v4l2loopback and captures them through the camera as MJPEG: the bytes
// arrive unchanged and every frame decodes, the DHT-less one with the
// standard tables added.
func TestVMLoopbackMJPEG(t *testing.T) {
	vmOnly(t, vmLoopback)
	frames := [][]byte{testJPEG(t, 0), testJPEG(t, 1), stripDHT(t, testJPEG(t, 2))}
	if stillimage.HasHuffmanTables(frames[2]) || !stillimage.HasHuffmanTables(frames[0]) {
		t.Fatal("stripDHT did not remove the tables")
	}
	if _, err := jpeg.Decode(bytes.NewReader(frames[2])); err == nil {
		t.Fatal("the DHT-less frame decodes without tables; it tests nothing")
	}
	w, err := os.OpenFile(vmLoopback, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var f v4l2Format
	f.Type = bufTypeVideoOutput
	f.Pix = [12]uint32{640, 480, fourccCode(v4l2.FourCCMJPEG), fieldNone, 0, 640 * 480 * 2}
	if err := ioctlFormat(w.Fd(), vidiocSFmt, &f); err != nil {
		t.Fatalf("S_FMT on the loopback output: %v", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() { // the producer, ~30 fps
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := w.Write(frames[i%len(frames)]); err != nil {
				writeErr = err
				return
			}
			time.Sleep(33 * time.Millisecond)
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
		if writeErr != nil {
			t.Errorf("write to the loopback: %v", writeErr)
		}
	}()
	time.Sleep(200 * time.Millisecond) // the capture side appears once a writer streams

	c, err := v4l2.Open(context.Background(), v4l2.Config{Path: vmLoopback, Request: v4l2.Request{Width: 640, Height: 480, Format: device.MJPEG}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cf := c.Format()
	t.Logf("loopback negotiated %s, size image %d", cf, cf.SizeImage)
	if cf.FourCC != v4l2.FourCCMJPEG || cf.Width != 640 || cf.Height != 480 {
		t.Fatalf("negotiated %+v, want MJPG 640x480", cf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var dec stillimage.Decoder
	seen := map[int]int{}
	for n := 0; n < 30 && len(seen) < len(frames); n++ {
		fr, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if fr.Format != device.MJPEG || fr.Stride != 0 || fr.Width != 640 || fr.Height != 480 {
			t.Fatalf("frame %d: %s %dx%d stride %d", fr.Seq, fr.Format, fr.Width, fr.Height, fr.Stride)
		}
		// v4l2loopback may hand out a buffer at its full size (the frame
		// then padded) and, before the first write reaches it, an empty one.
		idx := -1
		for i, want := range frames {
			if bytes.HasPrefix(fr.Data, want) {
				idx = i
			}
		}
		if idx < 0 {
			if n < 2 && !bytes.HasPrefix(fr.Data, []byte{0xff, 0xd8}) {
				t.Logf("frame %d: %d bytes, not a JPEG yet; skipped", fr.Seq, len(fr.Data))
				continue
			}
			t.Fatalf("frame %d: %d bytes that match no frame written (head % x)", fr.Seq, len(fr.Data), fr.Data[:min(16, len(fr.Data))])
		}
		if len(fr.Data) != len(frames[idx]) {
			t.Logf("frame %d: written #%d of %d bytes arrived as %d bytes", fr.Seq, idx, len(frames[idx]), len(fr.Data))
		}
		img, err := dec.Decode(fr.Data)
		if err != nil {
			t.Fatalf("frame %d (written #%d): %v", fr.Seq, idx, err)
		}
		if img.Bounds().Dx() != 640 || img.Bounds().Dy() != 480 {
			t.Fatalf("frame %d decodes to %v", fr.Seq, img.Bounds())
		}
		// the frame number is in the blue channel
		if _, _, b, _ := img.At(320, 240).RGBA(); absDiff(uint8(b>>8), uint8(idx*60)) > 12 {
			t.Errorf("frame %d (written #%d): blue %d, want about %d", fr.Seq, idx, b>>8, idx*60)
		}
		seen[idx]++
	}
	t.Logf("frames seen by written index: %v, stats %+v", seen, c.Stats())
	if seen[2] == 0 {
		t.Errorf("the DHT-less frame never came through: %v", seen)
	}
	if len(seen) < len(frames) {
		t.Errorf("saw %d of %d distinct frames", len(seen), len(frames))
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("timed out")
	}
}
