package native

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/engine/native/qmath"
	"github.com/alphad/alphad/pipeline/tflite"
)

// maxLSB is the tolerance against the real TFLite runtime on quantized
// outputs: TFLite's own builds differ by a few units in the last place.
const maxLSB = 2

// quantGoldens are the uint8 rows of shared/golden/MANIFEST.tsv.
func quantGoldens(t *testing.T) [][3]string {
	t.Helper()
	f, err := os.Open(testshared.Path(t, "golden", "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][3]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 6 || c[0] == "model" || !strings.HasPrefix(c[3], "uint8") {
			continue
		}
		rows = append(rows, [3]string{c[0], c[2], c[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// runModel runs model path on input with the native engine.
func runModel(t testing.TB, m *tflite.Model, input []byte, threads int) []byte {
	t.Helper()
	e, err := New(m, engine.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if len(input) != len(e.Input(0)) {
		t.Fatalf("input has %d bytes, model wants %d", len(input), len(e.Input(0)))
	}
	copy(e.Input(0), input)
	if err := e.Invoke(); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(e.Output(0))
}

// compareQuant reports the largest absolute difference between two
// quantized outputs and whether their argmax agree.
func compareQuant(got, want []byte, signed bool) (maxDiff, at int, sameArgmax bool) {
	val := func(b byte) int {
		if signed {
			return int(int8(b))
		}
		return int(b)
	}
	ag, aw := 0, 0
	for i := range want {
		d := val(got[i]) - val(want[i])
		if d < 0 {
			d = -d
		}
		if d > maxDiff {
			maxDiff, at = d, i
		}
		if val(got[i]) > val(got[ag]) {
			ag = i
		}
		if val(want[i]) > val(want[aw]) {
			aw = i
		}
	}
	return maxDiff, at, ag == aw
}

func TestQuantGolden(t *testing.T) {
	rows := quantGoldens(t)
	if len(rows) == 0 {
		t.Fatal("no uint8 rows in MANIFEST.tsv")
	}
	models := map[string]*tflite.Model{}
	worst := map[string]int{}
	for _, r := range rows {
		name := filepath.Base(r[0]) + "/" + filepath.Base(r[1])
		t.Run(name, func(t *testing.T) {
			m := models[r[0]]
			if m == nil {
				var err error
				if m, err = tflite.ReadFile(testshared.Path(t, r[0])); err != nil {
					t.Fatal(err)
				}
				models[r[0]] = m
			}
			in, err := os.ReadFile(testshared.Path(t, "golden", r[1]))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(testshared.Path(t, "golden", r[2]))
			if err != nil {
				t.Fatal(err)
			}
			got := runModel(t, m, in, 2)
			d, at, same := compareQuant(got, want, m.Output(0).Type == tflite.Int8)
			worst[r[0]] = max(worst[r[0]], d)
			t.Logf("max |diff| %d LSB at %d (got %d, want %d), argmax equal %v", d, at, got[at], want[at], same)
			if d > maxLSB || !same {
				t.Errorf("max |diff| %d LSB at %d (got %d, want %d), argmax equal %v", d, at, got[at], want[at], same)
			}
		})
	}
	for m, d := range worst {
		t.Logf("%s: largest difference %d LSB", filepath.Base(m), d)
	}
}

// TestQuantTeachableMachine compares the real Teachable Machine uint8
// export (int8 per-channel inside) with the real TFLite runtime on the
// webcam frames it was trained on.
func TestQuantTeachableMachine(t *testing.T) {
	model := testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite")
	m, err := tflite.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := filepath.Glob(testshared.Path(t, "datasets", "tm_webcam_face_hand", "*", "*.png"))
	if err != nil || len(frames) == 0 {
		t.Fatalf("no frames (%v)", err)
	}
	// Every other frame of both classes (each costs one run of the real
	// runtime); two with -short.
	step := 2
	if testing.Short() {
		step = len(frames) / 2
	}
	var picked []string
	for i := 0; i < len(frames); i += step {
		picked = append(picked, frames[i])
	}
	frames = picked
	worst := 0
	for _, fr := range frames {
		t.Run(filepath.Base(filepath.Dir(fr))+"/"+filepath.Base(fr), func(t *testing.T) {
			rgb, w, h := enginetest.PNGRGB(t, fr)
			if w != 224 || h != 224 {
				t.Fatalf("frame is %dx%d, want 224x224", w, h)
			}
			want := enginetest.Oracle(t, model, rgb)
			got := runModel(t, m, rgb, 1)
			d, at, same := compareQuant(got, want, false)
			worst = max(worst, d)
			msg := fmt.Sprintf("got %v, want %v: max |diff| %d LSB at %d, argmax equal %v", got, want, d, at, same)
			if d > maxLSB || !same {
				t.Error(msg)
			} else {
				t.Log(msg)
			}
		})
	}
	t.Logf("teachable machine: largest difference %d LSB over %d frames", worst, len(frames))
}

// TestQuantSoftmaxVariant establishes which of TFLite's two quantized
// softmaxes the runtime uses: the float-table one (optimized_ops::Softmax)
// or the gemmlowp fixed-point reference. They agree on the shared models'
// outputs and on all but about 1 in 100000 values, so it searches random
// rows of 1001 logits for ones where they disagree and runs those through
// the real runtime.
func TestQuantSoftmaxVariant(t *testing.T) {
	const depth, scale = 1001, 0.05
	table := qmath.NewSoftmax(qmath.Uint8, qmath.Uint8, scale, 1, 1.0/256, 0)
	fixed := qmath.NewSoftmaxFixed(qmath.Uint8, qmath.Uint8, scale, 1, 0)
	r := rand.New(rand.NewPCG(1, 1))
	var src, a, b []byte
	ta, tb := make([]byte, depth), make([]byte, depth)
	for tries := 0; tries < 20000 && len(src) < 16*depth; tries++ {
		row := randBytes(r, depth)
		if err := table.Run(ta, row, depth); err != nil {
			t.Fatal(err)
		}
		if err := fixed.Run(tb, row, depth); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ta, tb) {
			src = append(src, row...)
			a = append(a, ta...)
			b = append(b, tb...)
		}
	}
	rows := len(src) / depth
	if rows == 0 {
		t.Fatal("found no row where the two softmaxes differ")
	}
	m := &tflite.Model{Version: 3,
		Tensors: []*tflite.Tensor{qt(tflite.Uint8, []int{rows, depth}, scale, 0), qt(tflite.Uint8, []int{rows, depth}, 1.0/256, 0)},
		Operators: []*tflite.Operator{{Op: tflite.OpSoftmax, Version: 1, Inputs: []int{0}, Outputs: []int{1},
			Options: &tflite.SoftmaxOptions{Beta: 1}}},
		Inputs: []int{0}, Outputs: []int{1}}
	file, _ := writeModel(t, m, "softmax.tflite")
	want := enginetest.Oracle(t, file, src)
	diff := func(got []byte) (n int) {
		for i := range got {
			if got[i] != want[i] {
				n++
			}
		}
		return n
	}
	dt, df := diff(a), diff(b)
	t.Logf("%d rows where the variants disagree; values differing from the runtime: float-table %d, fixed-point %d", rows, dt, df)
	if dt != 0 {
		t.Errorf("float-table softmax differs from the runtime on %d values", dt)
	}
}

// BenchmarkQuantModels times one inference of each quantized model on one
// thread (see enginetest.Bench for the metrics).
//
//	go test -run '^$' -bench QuantModels -benchtime 10x ./pipeline/engine/native/
func BenchmarkQuantModels(b *testing.B) {
	newEngine := func(m *tflite.Model, opts engine.Options) (engine.Engine, error) {
		e, err := New(m, opts)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
	for _, model := range []string{
		"models/mobilenet_v2_1.0_224_quant.tflite",
		"models/tf2_mobilenet_v2_1.0_224_ptq.tflite",
		"teachable-machine/rpi4-coral-uint8/model.tflite",
	} {
		b.Run(filepath.Base(filepath.Dir(model))+"/"+filepath.Base(model), func(b *testing.B) {
			enginetest.Bench(b, newEngine, model, "grace_hopper_224_u8.raw", engine.Options{Threads: 1})
		})
	}
}
