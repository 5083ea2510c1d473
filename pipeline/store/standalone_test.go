package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/head"
)

// TestStandaloneAgreesWithTFLite trains versions on photos of the shared
// datasets with the quantized MobileNetV2 `make eval` uses, with the
// default options — few photos per class, so the head carries the
// nearest-class-mean units too — exports each as a standalone .tflite
// and runs it in the real TFLite runtime on held-out photos: the class
// TFLite picks is the class alphad picks, and the probabilities agree.
func TestStandaloneAgreesWithTFLite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the TFLite runtime once per photo")
	}
	testshared.Oracle(t)
	backbone, err := os.ReadFile(testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	const train, test = 6, 2
	for _, ds := range []string{"rps_picam", "flowers_tf"} {
		t.Run(ds, func(t *testing.T) {
			root := testshared.Path(t, "datasets", ds)
			dir := t.TempDir()
			state := openState(t, dir)
			var held []string
			var heldLabel []string
			ents, err := os.ReadDir(root)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if !e.IsDir() {
					continue
				}
				files, _ := filepath.Glob(filepath.Join(root, e.Name(), "*.jp*g"))
				files = append(files, must(filepath.Glob(filepath.Join(root, e.Name(), "*.png")))...)
				slices.Sort(files)
				if len(files) < train+test {
					t.Fatalf("%s/%s: %d photos", ds, e.Name(), len(files))
				}
				var ns []NewSample
				for _, f := range files[:train] {
					img, err := decodeFile(f)
					if err != nil {
						t.Fatal(err)
					}
					ns = append(ns, NewSample{Label: e.Name(), Image: img})
				}
				if _, err := state.Samples().Add(state.Samples().NextBurst(), ns); err != nil {
					t.Fatal(err)
				}
				// Spread over the class's photos: not the training ones.
				for k := range test {
					held = append(held, files[train+k*(len(files)-train)/test])
					heldLabel = append(heldLabel, e.Name())
				}
			}
			v, _, err := Train(context.Background(), state, TrainOptions{Backbone: backbone, BackboneSource: "quant",
				NewEngine: newNative, Engine: engine.Options{Threads: 2}, Config: head.DefaultConfig(), Views: []int{ViewFlipped}})
			if err != nil {
				t.Fatal(err)
			}
			if v.Report.PrototypeWeight == 0 {
				t.Errorf("%d photos per class: no prototype units in the head", train)
			}
			data, _, err := state.Models().Standalone("")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "model.tflite")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := LoadCurrent(dir, newNative, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			in := m.Backbone.Input()
			agree, right := 0, 0
			for i, f := range held {
				img, err := decodeFile(f)
				if err != nil {
					t.Fatal(err)
				}
				fill := ImageFill(img)
				raw := make([]byte, in.ByteSize())
				if err := fill(raw, in); err != nil {
					t.Fatal(err)
				}
				p, err := m.Classify(fill)
				if err != nil {
					t.Fatal(err)
				}
				got := floats(enginetest.Oracle(t, path, raw))
				if len(got) != len(p) {
					t.Fatalf("TFLite gives %d outputs, alphad %d", len(got), len(p))
				}
				k := head.Argmax(p)
				if head.Argmax(got) == k {
					agree++
				} else {
					t.Errorf("%s: TFLite %v, alphad %v", f, got, p)
				}
				for c := range p {
					if d := got[c] - p[c]; d > 0.02 || d < -0.02 {
						t.Errorf("%s: class %d probability TFLite %.4f, alphad %.4f", f, c, got[c], p[c])
						break
					}
				}
				if m.Labels[k] == heldLabel[i] {
					right++
				}
			}
			t.Logf("%s: TFLite and alphad agree on %d/%d held-out photos; %d right (prototype weight %.1f, %d hidden units)",
				ds, agree, len(held), right, v.Report.PrototypeWeight, must(state.Models().Head(v.Name)).Hidden)
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
