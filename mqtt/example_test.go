package mqtt_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/alphad/alphad/mqtt"
)

// The daemon's wiring: a Client beside the frame loop, commands handled by
// a HandlerFunc.
func Example() {
	cfg := mqtt.Default()
	cfg.Broker = "mqtt://localhost:1883"
	cfg.DeviceID = "garage"
	cfg.Password = mqtt.Secret(os.Getenv("ALPHAD_MQTT_PASSWORD")) // cmd/alphad only

	handler := mqtt.HandlerFunc(func(ctx context.Context, cmd mqtt.Command) (mqtt.Result, error) {
		switch cmd.Name {
		case mqtt.CmdTrain:
			// start training in the background, report with
			// PublishTrainingProgress / PublishTrainingResult
			return mqtt.Result{Message: "training started"}, nil
		}
		return mqtt.Result{Message: "done"}, nil
	})
	c, err := mqtt.New(cfg, mqtt.Options{Logger: slog.Default(), Handler: handler, Origin: mqtt.Origin{Version: "1.0.0"}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go c.Run(ctx) // with errgroup in the daemon

	// In the frame loop (never blocks):
	c.PublishState(mqtt.State{Label: "open", Confidence: 0.93, Classes: []string{"closed", "open"},
		Scores: []float32{0.07, 0.93}, ModelVersion: "v7", Seq: 4711}, nil)

	cancel()
	c.Close() // publishes offline and disconnects
}
