package mqtt_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/mqtt"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		topic, payload string
		want           mqtt.Command
		err            string // substring; "" = success
	}{
		{"alphad/pi1/cmd/capture", "", mqtt.Command{Name: "capture", Count: 1}, ""},
		{"alphad/pi1/cmd/capture", "{}", mqtt.Command{Name: "capture", Count: 1}, ""},
		{"capture", `{"label":"rock","count":10,"interval_ms":200,"request_id":"r-1"}`,
			mqtt.Command{Name: "capture", RequestID: "r-1", Label: "rock", Count: 10, Interval: 200 * time.Millisecond}, ""},
		{"x/cmd/train", `{"epochs":20,"batch_size":16,"learning_rate":0.001}`,
			mqtt.Command{Name: "train", Train: control.TrainParams{Epochs: 20, BatchSize: 16, LearningRate: 0.001}}, ""},
		{"x/cmd/train", "  ", mqtt.Command{Name: "train"}, ""},
		{"x/cmd/undo", "", mqtt.Command{Name: "undo"}, ""},
		{"x/cmd/rollback", `{"version":"v3"}`, mqtt.Command{Name: "rollback", Version: "v3"}, ""},
		{"x/cmd/teach", `{"label":"paper"}`, mqtt.Command{Name: "teach", Label: "paper"}, ""},
		{"x/cmd/teach", `scissors`, mqtt.Command{Name: "teach", Label: "scissors"}, ""},
		{"x/cmd/teach", `"a \"quoted\" class"`, mqtt.Command{Name: "teach", Label: `a "quoted" class`}, ""},
		{"x/cmd/threshold", `0.75`, mqtt.Command{Name: "threshold", Threshold: ptr(0.75)}, ""},
		{"x/cmd/threshold", `{"threshold":1}`, mqtt.Command{Name: "threshold", Threshold: ptr(1)}, ""},

		{"x/cmd/delete_class", `{"label": "rock"}`, mqtt.Command{Name: "delete_class", Label: "rock"}, ""}, // Home Assistant's delete_class text
		{"x/cmd/reboot", "", mqtt.Command{}, "unknown command"},
		{"x/notcmd/train", "", mqtt.Command{}, "not …/cmd/<name>"},
		{"x/cmd/capture", `{"count":0}`, mqtt.Command{}, "field count: 0 is not in 1..1000"},
		{"x/cmd/capture", `{"count":1.5}`, mqtt.Command{}, "field count: must be an integer"},
		{"x/cmd/capture", `{"count":"many"}`, mqtt.Command{}, "field count"},
		{"x/cmd/capture", `{"label":""}`, mqtt.Command{}, "field label: empty"},
		{"x/cmd/capture", `{"label":"a\u0000b"}`, mqtt.Command{}, "field label: contains control"},
		{"x/cmd/capture", `{"label":" pad"}`, mqtt.Command{}, "leading or trailing"},
		{"x/cmd/capture", `{"label":"` + strings.Repeat("x", 65) + `"}`, mqtt.Command{}, "longer than 64"},
		{"x/cmd/capture", `{"epochs":3}`, mqtt.Command{}, "field epochs: unknown field"},
		{"x/cmd/capture", `{"label":"a"} {}`, mqtt.Command{}, "trailing data"},
		{"x/cmd/capture", `[1]`, mqtt.Command{}, "payload must be empty or a JSON object"},
		{"x/cmd/capture", `{"label":`, mqtt.Command{}, "invalid JSON"},
		{"x/cmd/train", `{"epochs":-1}`, mqtt.Command{}, "field epochs"},
		{"x/cmd/train", `{"learning_rate":0}`, mqtt.Command{}, "field learning_rate"},
		{"x/cmd/train", `{"learning_rate":1e400}`, mqtt.Command{}, "field learning_rate"},
		{"x/cmd/train", `{"batch_size":100000}`, mqtt.Command{}, "field batch_size"},
		{"x/cmd/train", "go", mqtt.Command{}, "payload must be empty"},
		{"x/cmd/teach", "", mqtt.Command{}, "field label: required"},
		{"x/cmd/teach", "{}", mqtt.Command{}, "field label: required"},
		{"x/cmd/threshold", "", mqtt.Command{}, "field threshold: required"},
		{"x/cmd/threshold", "1.5", mqtt.Command{}, "not in [0, 1]"},
		{"x/cmd/threshold", "NaN", mqtt.Command{}, "field threshold: must be a number"},
		{"x/cmd/threshold", `{"threshold":"0.5"}`, mqtt.Command{}, "must be a number"},
		{"x/cmd/undo", `{"request_id":5}`, mqtt.Command{}, "field request_id: must be a string"},
		{"x/cmd/undo", "\xff", mqtt.Command{}, "not UTF-8"},
		{"x/cmd/undo", strings.Repeat(" ", 5000), mqtt.Command{}, "exceeds 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.topic+" "+tt.payload, func(t *testing.T) {
			got, err := mqtt.ParseCommand(tt.topic, []byte(tt.payload))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, mqtt.ErrBadCommand) {
					t.Fatalf("err = %v, want %q (and ErrBadCommand)", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseCommand: no panics, and every accepted command is within its
// documented bounds.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []struct{ topic, payload string }{
		{"a/cmd/capture", `{"label":"rock","count":5,"interval_ms":100,"request_id":"x"}`},
		{"a/cmd/train", `{"epochs":10,"batch_size":8,"learning_rate":0.01}`},
		{"a/cmd/teach", `paper`},
		{"a/cmd/threshold", `0.5`},
		{"a/cmd/rollback", `{"version":"v1"}`},
		{"a/cmd/undo", ``},
		{"a/cmd/teach", `"\ud800"`},
		{"a/cmd/capture", `{"count":1e3}`},
	} {
		f.Add(s.topic, []byte(s.payload))
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		cmd, err := mqtt.ParseCommand(topic, payload)
		if err != nil {
			if !errors.Is(err, mqtt.ErrBadCommand) {
				t.Fatalf("error %v is not ErrBadCommand", err)
			}
			if !reflect.DeepEqual(cmd, mqtt.Command{}) {
				t.Fatalf("error with a non-zero command %+v", cmd)
			}
			return
		}
		switch {
		case cmd.Name == "":
			t.Fatal("accepted a command without a name")
		case cmd.Label != "" && mqtt.ValidLabel(cmd.Label) != nil:
			t.Fatalf("accepted label %q", cmd.Label)
		case cmd.Name == mqtt.CmdTeach && cmd.Label == "":
			t.Fatal("teach without a label")
		case cmd.Name == mqtt.CmdCapture && (cmd.Count < 1 || cmd.Count > control.MaxBurst):
			t.Fatalf("count %d", cmd.Count)
		case cmd.Threshold != nil && (*cmd.Threshold < 0 || *cmd.Threshold > 1):
			t.Fatalf("threshold %v", *cmd.Threshold)
		case cmd.Train.LearningRate < 0 || cmd.Train.LearningRate > control.MaxLearningRate:
			t.Fatalf("learning rate %v", cmd.Train.LearningRate)
		case cmd.Train.Epochs < 0 || cmd.Train.Epochs > control.MaxEpochs || cmd.Train.BatchSize < 0 || cmd.Train.BatchSize > control.MaxBatchSize:
			t.Fatalf("training fields %+v", cmd)
		case len(cmd.RequestID) > mqtt.MaxRequestIDLen:
			t.Fatalf("request id of %d bytes", len(cmd.RequestID))
		}
	})
}

func ptr(f float64) *float64 { return &f }
