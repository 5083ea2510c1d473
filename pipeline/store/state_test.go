package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/store/storetest"
	"github.com/alphad/alphad/pipeline/tflite"
)

func TestOpenStateLocks(t *testing.T) {
	dir := t.TempDir()
	s := openState(t, dir)
	if _, err := OpenState(dir, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenState = %v, want ErrLocked", err)
	}
	if _, err := s.Samples().Add(1, []NewSample{{Label: "a", Image: storetest.ClassImage(0, 8, 1)}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openState(t, dir)
	if n := s.Samples().Counts()["a"]; n != 1 {
		t.Fatalf("after reopen %d samples of a, want 1", n)
	}
	s.Close()

	// An alphad from before the lock moved holds samples/lock.
	old, err := flock(filepath.Join(dir, legacyLock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenState(dir, nil); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "older alphad") {
		t.Fatalf("OpenState beside an older owner = %v, want ErrLocked naming it", err)
	}
	old.Close()
	openState(t, dir).Close()
	if _, err := os.Stat(filepath.Join(dir, legacyLock)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old lock file still there: %v", err)
	}
}

// writeLegacy writes files under the old models/backbones folder.
func writeLegacy(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, legacyBackbone, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateBackbones opens state directories in the layout of earlier
// alphad versions: pulled backbones under models/backbones/<name>.tflite
// beside versions whose backbones are in backbones/<hash>.tflite.
func TestMigrateBackbones(t *testing.T) {
	features, err := os.ReadFile(testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant_features.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	tiny := tinyBytes(t)
	const name = DefaultBackbone
	tests := []struct {
		name      string
		legacy    map[string][]byte
		installed []byte // installed under name before the migration
		crashed   bool   // names.json already written, old file not yet removed
		want      []byte // what name holds afterwards
		keepDir   []string
	}{
		{name: "pulled backbone", legacy: map[string][]byte{name + ".tflite": features}, want: features},
		{name: "two names", legacy: map[string][]byte{name + ".tflite": features, "tiny.tflite": tiny}, want: features},
		{name: "name installed since wins", legacy: map[string][]byte{name + ".tflite": tiny}, installed: features, want: features},
		{name: "crash after names.json", legacy: map[string][]byte{name + ".tflite": features}, crashed: true, want: features},
		{name: "temp and foreign files", legacy: map[string][]byte{name + ".tflite": features, ".x.tflite.tmp123": tiny, "README": []byte("mine")},
			want: features, keepDir: []string{"README"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLegacy(t, dir, tc.legacy)
			if tc.installed != nil || tc.crashed {
				m := &Models{state: dir, dir: filepath.Join(dir, modelsDir)} // an older layout has no names.json: write one by hand
				os.MkdirAll(filepath.Join(dir, backbonesDir), 0o755)
				data := tc.installed
				if data == nil {
					data = tc.legacy[name+".tflite"]
				}
				ref, err := m.PutBackbone(data, "test")
				if err != nil {
					t.Fatal(err)
				}
				if err := m.writeNames(map[string]BackboneRef{name: ref}); err != nil {
					t.Fatal(err)
				}
			}
			s := openState(t, dir)
			names, err := s.Models().NamedBackbones()
			if err != nil {
				t.Fatal(err)
			}
			for file, data := range tc.legacy {
				n, ok := strings.CutSuffix(file, ".tflite")
				if !ok || strings.HasPrefix(file, ".") {
					continue
				}
				ref, ok := names[n]
				if !ok {
					t.Fatalf("name %s not migrated: %v", n, names)
				}
				got, err := s.Models().ReadBackbone(ref)
				if err != nil {
					t.Fatal(err)
				}
				want := data
				if n == name {
					want = tc.want
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s holds %d bytes, want %d", n, len(got), len(want))
				}
			}
			left, _ := os.ReadDir(filepath.Join(dir, legacyBackbone))
			var leftNames []string
			for _, e := range left {
				leftNames = append(leftNames, e.Name())
			}
			if !slices.Equal(leftNames, tc.keepDir) {
				t.Errorf("left in %s: %v, want %v", legacyBackbone, leftNames, tc.keepDir)
			}
			if tc.keepDir == nil {
				if _, err := os.Stat(filepath.Join(dir, legacyBackbone)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("old folder still there: %v", err)
				}
			}
			// Every content file is used by a name: the superseded legacy
			// copy was swept.
			files, _ := filepath.Glob(filepath.Join(dir, backbonesDir, "*.tflite"))
			if len(files) != len(names) {
				t.Errorf("%d backbone files for %d names: %v", len(files), len(names), files)
			}
			data, src, err := s.Models().FindBackbone("", "")
			if err != nil || src != name || !bytes.Equal(data, tc.want) {
				t.Errorf("FindBackbone = %d bytes from %q, %v", len(data), src, err)
			}
		})
	}
}

// TestOldStateDirKeepsVersions: a state directory made by the previous
// layout (an imported version, a pulled backbone) opens with its current
// version loadable and training's backbone still that version's.
func TestOldStateDirKeepsVersions(t *testing.T) {
	dir := t.TempDir()
	models, err := OpenModels(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadClassifier(testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite"), "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := models.Import(c)
	if err != nil {
		t.Fatal(err)
	}
	features, err := os.ReadFile(testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant_features.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	writeLegacy(t, dir, map[string][]byte{DefaultBackbone + ".tflite": features})
	s := openState(t, dir)
	m, err := s.Models().Load("", newNative, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if m.Version != v.Name || !slices.Equal(m.Labels, []string{"NoMask", "WithMask"}) {
		t.Errorf("current = %s %v", m.Version, m.Labels)
	}
	data, src, err := s.Models().FindBackbone("", "")
	if err != nil || !bytes.Equal(data, c.Data) || !strings.HasPrefix(src, c.Path) {
		t.Errorf("FindBackbone = %d bytes from %q (%v), want the version's", len(data), src, err)
	}
	if _, ok := mustNames(t, s.Models())[DefaultBackbone]; !ok {
		t.Error("pulled backbone not migrated")
	}
}

func mustNames(t *testing.T, m *Models) map[string]BackboneRef {
	t.Helper()
	n, err := m.NamedBackbones()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSweepBackbones(t *testing.T) {
	dir := t.TempDir()
	s := openState(t, dir)
	m := s.Models()
	named, err := m.InstallBackbone("tiny", tinyBytes(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := tflite.Marshal(storetest.TinyBackbone(16, 6))
	unused, err := m.PutBackbone(other, "test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ReadClassifier(testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite"), "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.Import(c)
	if err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(dir, backbonesDir)
	os.WriteFile(filepath.Join(bdir, ".abc.tflite.tmp1"), []byte("torn"), 0o644)
	os.WriteFile(filepath.Join(bdir, "notes.txt"), []byte("mine"), 0o644)
	s.Close()
	s = openState(t, dir)
	for _, tc := range []struct {
		file string
		kept bool
	}{
		{named.File, true},
		{v.Backbone.File, true},
		{unused.File, false},
		{filepath.Join(backbonesDir, ".abc.tflite.tmp1"), false},
		{filepath.Join(backbonesDir, "notes.txt"), true},
		{filepath.Join(backbonesDir, backboneNames), true},
	} {
		_, err := os.Stat(filepath.Join(dir, tc.file))
		if kept := err == nil; kept != tc.kept {
			t.Errorf("%s: kept %v, want %v (%v)", tc.file, kept, tc.kept, err)
		}
	}
}

// softmaxModel is a float model [1,n] → SOFTMAX → [1,n]: a classifier
// head without an image input.
func softmaxModel(t *testing.T, n int) []byte {
	t.Helper()
	m := &tflite.Model{
		Version:   3,
		Tensors:   []*tflite.Tensor{{Type: tflite.Float32, Shape: []int{1, n}}, {Type: tflite.Float32, Shape: []int{1, n}}},
		Operators: []*tflite.Operator{{Op: tflite.OpSoftmax, Version: 1, Inputs: []int{0}, Outputs: []int{1}, Options: &tflite.SoftmaxOptions{Beta: 1}}},
		Inputs:    []int{0},
		Outputs:   []int{1},
	}
	b, err := tflite.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadClassifier(t *testing.T) {
	tmDir := testshared.Path(t, "teachable-machine", "rpi4-coral-uint8")
	tm := filepath.Join(tmDir, "model.tflite")
	mobilenet := testshared.Path(t, "models", "mobilenet_v2_1.0_224_quant.tflite")
	imagenet := testshared.Path(t, "models", "imagenet_labels.txt")
	tmp := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tmData, err := os.ReadFile(tm)
	if err != nil {
		t.Fatal(err)
	}
	alone := write("alone/model.tflite", tmData) // no labels.txt beside it
	twoOut := storetest.TinyBackbone(8, 4)
	twoOut.Outputs = []int{3, 5}
	twoOutData, _ := tflite.Marshal(twoOut)
	oneScore, _ := tflite.Marshal(storetest.TinyBackbone(8, 1))
	gray := storetest.TinyBackbone(8, 4)
	gray.Tensors[0].Shape = []int{1, 8, 8, 1}
	gray.Tensors[1].Shape = []int{4, 1, 1, 1}
	gray.Tensors[1].Data = gray.Tensors[1].Data[:4*4]
	grayData, _ := tflite.Marshal(gray)

	two := write("two.txt", []byte("a\nb\n"))
	numbered := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strconv.Itoa(i)
		}
		return out
	}
	tests := []struct {
		name, model, labels string
		want                []string // labels (nil: not checked)
		wantLabelsPath      string
		err                 string // an error containing it, when not ""
	}{
		{name: "labels.txt beside the model", model: tm, want: []string{"NoMask", "WithMask"}, wantLabelsPath: filepath.Join(tmDir, "labels.txt")},
		{name: "labels file given", model: mobilenet, labels: imagenet, want: nil, wantLabelsPath: imagenet},
		{name: "no labels: numbered", model: alone, want: numbered(2)},
		{name: "labels given win over beside", model: tm, labels: two, want: []string{"a", "b"}, wantLabelsPath: two},
		{name: "count differs", model: tm, labels: imagenet, err: "has 2 classes but " + imagenet + " has 1001 labels"},
		{name: "missing labels file", model: tm, labels: filepath.Join(tmp, "nope.txt"), err: "nope.txt"},
		{name: "missing model", model: filepath.Join(tmp, "none.tflite"), err: "none.tflite"},
		{name: "not a tflite", model: write("junk.tflite", []byte("hello")), err: "junk.tflite"},
		{name: "input not an image", model: write("softmax.tflite", softmaxModel(t, 3)), err: "not an image classifier: preprocess: input tensor \"\": shape [1 3], want [1,H,W,3]"},
		{name: "grayscale input", model: write("gray.tflite", grayData), err: "shape [1 8 8 1], want [1,H,W,3]"},
		{name: "two outputs", model: write("two.tflite", twoOutData), err: "1 inputs and 2 outputs, want 1 and 1"},
		{name: "one score", model: write("one.tflite", oneScore), err: "holds 1 score(s), want one per class"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ReadClassifier(tc.model, tc.labels)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "store: ") {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !slices.Equal(c.Labels, tc.want) {
				t.Errorf("labels %v, want %v", c.Labels, tc.want)
			}
			if c.LabelsPath != tc.wantLabelsPath {
				t.Errorf("labels from %q, want %q", c.LabelsPath, tc.wantLabelsPath)
			}
			if n := c.Model.Output(0).NumElements(); len(c.Labels) != n {
				t.Errorf("%d labels for %d outputs", len(c.Labels), n)
			}
		})
	}
}

// TestLoadClassifier runs a loaded Teachable Machine export: its scores
// are the model's dequantized outputs and sum to about 1.
func TestLoadClassifier(t *testing.T) {
	tm := testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite")
	m, err := LoadClassifier(tm, "", newNative, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Version != "file:model.tflite" || m.Head != nil || !slices.Equal(m.Labels, []string{"NoMask", "WithMask"}) {
		t.Errorf("model %s head %v labels %v", m.Version, m.Head != nil, m.Labels)
	}
	p, err := m.Classify(ImageFill(storetest.ClassImage(0, 224, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 2 || p[0]+p[1] < 0.98 || p[0]+p[1] > 1.02 {
		t.Errorf("scores %v", p)
	}
	if _, err := LoadClassifier(filepath.Join(t.TempDir(), "x.tflite"), "", newNative, engine.Options{}); err == nil {
		t.Error("missing file loaded")
	}
}
