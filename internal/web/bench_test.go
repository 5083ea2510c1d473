package web_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/cputime"
	"github.com/alphad/alphad/internal/daemon"
	"github.com/alphad/alphad/internal/testshared"
)

// BenchmarkPageOpen measures the daemon's CPU time per processed frame
// (a Teachable Machine export, a 15 fps camera) with no page open and
// with one page open: the event stream and the live view read as a
// browser reads them, by curl in processes of their own so that only the
// daemon's side is counted (without curl, by goroutines of this process:
// an upper bound). Compare cpu-ms/frame of the two; b.N is frames.
func BenchmarkPageOpen(b *testing.B) {
	for _, open := range []bool{false, true} {
		name := "closed"
		if open {
			name = "open"
		}
		b.Run(name, func(b *testing.B) {
			tm := testshared.Path(b, "teachable-machine", "rpi4-coral-uint8")
			r := newRig(b, func(c *daemon.Config) {
				c.Model.Path = tm + "/model.tflite"
				c.Model.Labels = tm + "/labels.txt"
			})
			if open {
				c := r.login(b)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				u, _ := url.Parse(r.base)
				cookie := ""
				for _, k := range c.Jar.Cookies(u) {
					cookie = k.Name + "=" + k.Value
				}
				curl, _ := exec.LookPath("curl")
				for _, path := range []string{"/api/events", "/api/stream.mjpeg"} {
					if curl != "" {
						cmd := exec.CommandContext(ctx, curl, "-sN", "-o", "/dev/null", "-H", "Cookie: "+cookie, r.base+path)
						if err := cmd.Start(); err != nil {
							b.Fatal(err)
						}
						defer func() { cancel(); cmd.Wait() }()
						continue
					}
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path, nil)
					resp, err := c.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					go func() {
						defer resp.Body.Close()
						io.Copy(io.Discard, bufio.NewReader(resp.Body))
					}()
				}
				// Both streams flow before measuring.
				deadline := time.Now().Add(30 * time.Second)
				for r.d.LiveStats().Watchers != 1 {
					if time.Now().After(deadline) {
						b.Fatal("the live view did not open")
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			waitFrames(b, r.d, 15) // warm up: model loaded, streams flowing
			b.ResetTimer()
			cpu0, f0 := cputime.Process(), r.d.Summary().Frames
			waitFrames(b, r.d, uint64(b.N))
			cpu, frames := cputime.Process()-cpu0, r.d.Summary().Frames-f0
			b.StopTimer()
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(frames), "cpu-ms/frame")
		})
	}
}

// waitFrames waits until the frame loop processed n more frames.
func waitFrames(t testing.TB, d *daemon.Daemon, n uint64) {
	t.Helper()
	from := d.Summary().Frames
	deadline := time.Now().Add(time.Duration(n)*time.Second + 30*time.Second)
	for d.Summary().Frames < from+n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d frames", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
