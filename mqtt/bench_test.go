package mqtt_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/alphad/alphad/mqtt"
)

// BenchmarkPublishState measures the frame loop's side of publishing: the
// enqueue (nothing drains here, as when the broker is down).
func BenchmarkPublishState(b *testing.B) {
	for _, n := range []int{3, 10, 100} {
		b.Run(fmt.Sprintf("classes=%d", n), func(b *testing.B) {
			cfg := mqtt.Default()
			cfg.Broker, cfg.DeviceID = "mqtt://127.0.0.1:1", "bench"
			c, err := mqtt.New(cfg, mqtt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			classes := make([]string, n)
			scores := make([]float32, n)
			for i := range classes {
				classes[i] = fmt.Sprintf("class%d", i)
				scores[i] = 1 / float32(n)
			}
			s := mqtt.State{Label: classes[0], Confidence: 0.9, Classes: classes, Scores: scores, ModelVersion: "v1", Time: time.Now()}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.Seq = uint64(i)
				c.PublishState(s, nil)
			}
		})
	}
}
