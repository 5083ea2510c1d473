package daemon

import (
	"github.com/alphad/alphad/pipeline/decide"
	"testing"
	"time"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/internal/testshared"
)

// BenchmarkFrame is the frame loop's per-frame work on a 640×480 RGB24
// frame: preprocess, Google's quantized MobileNetV2 (1001 classes),
// smoothing and the hook check (MQTT off). allocs/op is the point: the
// path reuses its buffers.
func BenchmarkFrame(b *testing.B) {
	cfg := testConfig()
	cfg.Model.Path = testshared.Path(b, "models", "mobilenet_v2_1.0_224_quant.tflite")
	frame := device.Frame{Format: device.RGB24, Width: 640, Height: 480, Stride: 640 * 3, Data: make([]byte, 640*480*3)}
	for i := range frame.Data {
		frame.Data[i] = byte(i * 7 % 251)
	}
	for _, eng := range testEngines() {
		b.Run(eng.name, func(b *testing.B) {
			d, err := New(Options{Config: cfg, StateDir: b.TempDir(), OpenCamera: newSceneCam(1).open, Engine: eng.new})
			if err != nil {
				b.Fatal(err)
			}
			defer d.close(true, true)
			dec, err := decide.NewDecider(cfg.Smoothing)
			if err != nil {
				b.Fatal(err)
			}
			fl := &frameLoop{decide: dec}
			fl.fill = d.newFill(fl)
			fl.work = frame
			d.processFrame(fl, time.Now()) // warm up: tables, scratch
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				fl.work.Seq++
				d.processFrame(fl, time.Now())
			}
		})
	}
}
