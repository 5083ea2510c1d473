package control_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alphad/alphad/internal/control"
)

func ptr(f float64) *float64 { return &f }
func bptr(b bool) *bool      { return &b }
func iptr(i int) *int        { return &i }

func TestParse(t *testing.T) {
	tests := []struct {
		name, payload string
		bulk          bool
		want          control.Command
		err           string
	}{
		{"create_class", `{"label":"door open"}`, false, control.Command{Name: "create_class", Label: "door open"}, ""},
		{"rename_class", `{"label":"a","to":"b"}`, false, control.Command{Name: "rename_class", Label: "a", To: "b"}, ""},
		{"capture", ``, false, control.Command{Name: "capture", Count: 1}, ""},
		{"capture", `null`, false, control.Command{Name: "capture", Count: 1}, ""},
		{"capture", `{"label":"x","count":3,"interval_ms":250}`, false, control.Command{Name: "capture", Label: "x", Count: 3, Interval: 250 * time.Millisecond}, ""},
		{"record_start", `{"label":"x"}`, false, control.Command{Name: "record_start", Label: "x"}, ""},
		{"move_samples", `{"ids":["ab","cd"],"to":"y"}`, false, control.Command{Name: "move_samples", IDs: []string{"ab", "cd"}, To: "y"}, ""},
		{"train", `{"epochs":20,"wait":true}`, false, control.Command{Name: "train", Train: control.TrainParams{Epochs: 20}, Wait: true}, ""},
		{"set", `{"threshold":0.7,"window":3,"teach":"x"}`, false, control.Command{Name: "set", Threshold: ptr(0.7), Window: 3, TeachSet: "x"}, ""},
		{"add_samples", `{"label":"x","files":[{"name":"a.png","data":"AAE="}]}`, true,
			control.Command{Name: "add_samples", Label: "x", Files: []control.File{{Name: "a.png", Data: []byte{0, 1}}}}, ""},

		{"set", `{"crop":{"x":0.1,"y":0.2,"w":0.5,"h":0.5},"mirror":true,"rotate":90}`, false,
			control.Command{Name: "set", Crop: &control.Crop{Mode: "roi", X: 0.1, Y: 0.2, W: 0.5, H: 0.5}, Mirror: bptr(true), Rotate: iptr(90)}, ""},
		{"set", `{"crop":"center","rotate":0,"mirror":false}`, false, control.Command{Name: "set", Crop: &control.Crop{Mode: "center"}, Mirror: bptr(false), Rotate: iptr(0)}, ""},
		{"review", ``, false, control.Command{Name: "review"}, ""},
		{"review_file", `{"id":"018c2a3b4c5d-0a1b2c3d","label":"rock"}`, false, control.Command{Name: "review_file", ID: "018c2a3b4c5d-0a1b2c3d", Label: "rock"}, ""},
		{"review_discard", `{"id":"018c2a3b4c5d-0a1b2c3d"}`, false, control.Command{Name: "review_discard", ID: "018c2a3b4c5d-0a1b2c3d"}, ""},

		{"set", `{"crop":{"x":0.6,"y":0,"w":0.5,"h":0.5}}`, false, control.Command{}, "field crop: x+w"},
		{"set", `{"crop":{"x":0,"y":0,"w":0.001,"h":0.5}}`, false, control.Command{}, "field crop: w 0.001"},
		{"set", `{"crop":{"x":-0.1,"y":0,"w":0.5,"h":0.5}}`, false, control.Command{}, "field crop: x -0.1"},
		{"set", `{"crop":{"x":0,"y":0,"w":0.5}}`, false, control.Command{}, "field crop: needs all"},
		{"set", `{"crop":{"x":0,"y":0,"w":0.5,"h":0.5,"z":1}}`, false, control.Command{}, "unknown key \"z\""},
		{"set", `{"crop":"square"}`, false, control.Command{}, "field crop"},
		{"set", `{"crop":{"x":"0","y":0,"w":0.5,"h":0.5}}`, false, control.Command{}, "not a string"},
		{"set", `{"rotate":45}`, false, control.Command{}, "field rotate: 45 is not 0, 90, 180 or 270"},
		{"set", `{"rotate":360}`, false, control.Command{}, "field rotate"},
		{"set", `{"mirror":"yes"}`, false, control.Command{}, "field mirror"},
		{"review_file", `{"id":"../../settings.json","label":"x"}`, false, control.Command{}, "not a review item id"},
		{"review_file", `{"id":"018c2a3b4c5d-0a1b2c3d"}`, false, control.Command{}, "field label: required"},
		{"review_discard", `{}`, false, control.Command{}, "field id: required"},
		{"add_samples", `{"label":"x","files":[]}`, false, control.Command{}, "unknown command"},
		{"reboot", ``, true, control.Command{}, "unknown command"},
		{"create_class", `{}`, false, control.Command{}, "field label: required"},
		{"rename_class", `{"label":"a"}`, false, control.Command{}, "field to: required"},
		{"train", `{"epochs":"50"}`, false, control.Command{}, "field epochs: must be an integer, not a string"},
		{"train", `{"learning_rate":"0.1"}`, false, control.Command{}, "field learning_rate: must be a number, not a string"},
		{"train", `{"batch_size":1000000000}`, false, control.Command{}, "field batch_size: 1000000000 is not in 1..4096"},
		{"train", `{"wait":"yes"}`, false, control.Command{}, "field wait"},
		{"set", `{}`, false, control.Command{}, "nothing to set"},
		{"set", `{"window":0}`, false, control.Command{}, "field window"},
		{"delete_samples", `{"ids":[]}`, false, control.Command{}, "field ids"},
		{"delete_samples", `{"ids":[""]}`, false, control.Command{}, "not a sample id"},
		{"teach", `{"label":"\u0007"}`, false, control.Command{}, "control"},
		{"undo", `{"x":1}`, false, control.Command{}, "field x: unknown field"},
		{"undo", `[1]`, false, control.Command{}, "JSON object"},
		{"add_samples", `{"label":"x"}`, true, control.Command{}, "field files: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.payload, func(t *testing.T) {
			got, err := control.Parse(tt.name, []byte(tt.payload), tt.bulk)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, control.ErrBadCommand) {
					t.Fatalf("err = %v, want %q", err, tt.err)
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

// TestTableIsComplete: every command has a doc line and parses with its
// required fields.
func TestTableIsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range control.Table {
		if s.Doc == "" || seen[s.Name] {
			t.Errorf("command %q: empty doc or listed twice", s.Name)
		}
		seen[s.Name] = true
	}
}

func TestReadRequest(t *testing.T) {
	cmd, err := control.ReadRequest(strings.NewReader(`{"command":"rollback","args":{"version":"v000002"}}` + "\n"))
	if err != nil || cmd.Name != control.Rollback || cmd.Version != "v000002" {
		t.Fatalf("%+v %v", cmd, err)
	}
	if _, err := control.ReadRequest(strings.NewReader(`{"command":`)); err == nil || !errors.Is(err, control.ErrBadCommand) {
		t.Fatalf("truncated request: %v", err)
	}
}

// FuzzParse: no panics; an accepted command keeps its bounds.
func FuzzParse(f *testing.F) {
	for _, s := range control.Table {
		f.Add(s.Name, []byte(`{}`))
	}
	f.Add("capture", []byte(`{"label":"rock","count":5,"interval_ms":100}`))
	f.Add("train", []byte(`{"epochs":10,"batch_size":8,"learning_rate":0.01,"wait":true}`))
	f.Add("add_samples", []byte(`{"label":"x","files":[{"name":"a","data":"AA=="}]}`))
	f.Add("move_samples", []byte(`{"ids":["a"],"to":"b"}`))
	f.Add("set", []byte(`{"crop":{"x":0.25,"y":0,"w":0.5,"h":1},"mirror":true,"rotate":270}`))
	f.Add("set", []byte(`{"crop":"full"}`))
	f.Add("review_file", []byte(`{"id":"018c2a3b4c5d-0a1b2c3d","label":"rock"}`))
	f.Add("review_discard", []byte(`{"id":"018c2a3b4c5d-0a1b2c3d"}`))
	f.Fuzz(func(t *testing.T, name string, payload []byte) {
		cmd, err := control.Parse(name, payload, true)
		if err != nil {
			if !errors.Is(err, control.ErrBadCommand) {
				t.Fatalf("error %v is not ErrBadCommand", err)
			}
			return
		}
		switch {
		case cmd.Name != name:
			t.Fatalf("name %q for %q", cmd.Name, name)
		case cmd.Label != "" && control.ValidLabel(cmd.Label) != nil, cmd.To != "" && control.ValidLabel(cmd.To) != nil:
			t.Fatalf("accepted label %q / %q", cmd.Label, cmd.To)
		case cmd.Count < 0 || cmd.Count > control.MaxBurst, cmd.Train.BatchSize > control.MaxBatchSize, cmd.Train.Epochs > control.MaxEpochs:
			t.Fatalf("out of bounds: %+v", cmd)
		case cmd.Threshold != nil && (*cmd.Threshold < 0 || *cmd.Threshold > 1):
			t.Fatalf("threshold %v", *cmd.Threshold)
		case len(cmd.IDs) > control.MaxIDs, len(cmd.Files) > control.MaxFiles:
			t.Fatalf("too many ids/files")
		case cmd.Rotate != nil && *cmd.Rotate%90 != 0, cmd.Rotate != nil && (*cmd.Rotate < 0 || *cmd.Rotate > 270):
			t.Fatalf("rotate %d", *cmd.Rotate)
		case cmd.ID != "" && !control.ValidReviewID(cmd.ID):
			t.Fatalf("review id %q", cmd.ID)
		}
		if c := cmd.Crop; c != nil && c.Mode == "roi" {
			if !(c.X >= 0 && c.Y >= 0 && c.W >= control.MinCrop-1e-9 && c.H >= control.MinCrop-1e-9 && c.X+c.W <= 1 && c.Y+c.H <= 1) {
				t.Fatalf("crop %+v outside the frame", *c)
			}
		}
	})
}

// FuzzReadRequest: the control socket's request reader never panics.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(`{"command":"status"}`))
	f.Add([]byte(`{"command":"add_samples","args":{"label":"x","files":[{"name":"a","data":"AA=="}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := control.ReadRequest(bytes.NewReader(b))
		if err == nil {
			if _, err := json.Marshal(cmd.Files); err != nil {
				t.Fatal(err)
			}
		}
	})
}
