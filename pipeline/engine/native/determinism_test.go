package native

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/alphad/alphad/internal/testshared"
	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/engine/enginetest"
	"github.com/alphad/alphad/pipeline/tflite"
)

// TestDeterministic holds the engine to one answer per input, whatever the
// arena held before, whatever ran before, however the arena is shared and
// however many threads split the work: every variant below must give the
// bytes of a fresh single-threaded engine exactly. A kernel that reads
// memory it has not written (padding it assumes zeroed, scratch left from
// another tensor or the previous Invoke) or races with itself fails here;
// so would a plan that depended on map order, since every variant plans
// the model again.
func TestDeterministic(t *testing.T) {
	tm := []string{"teachable-machine", "rpi4-coral-uint8", "model.tflite"}
	tests := []struct {
		name   string
		model  []string
		inputs func(t *testing.T) (a, b []byte)
	}{
		{"teachable machine", tm, func(t *testing.T) ([]byte, []byte) {
			return tmFrame(t, "Class_2", "07.png"), tmFrame(t, "Class_1", "00.png")
		}},
		{"mobilenet uint8", []string{"models", "mobilenet_v2_1.0_224_quant.tflite"}, goldenInputs("grace_hopper_224_u8.raw", "cat_224_u8.raw")},
		{"mobilenet tf2 int8", []string{"models", "tf2_mobilenet_v2_1.0_224_ptq.tflite"}, goldenInputs("parrot_224_u8.raw", "bird_224_u8.raw")},
		{"mobilenet float features", []string{"models", "mobilenet_v2_1.0_224_dequant_f32_features.tflite"}, goldenInputs("grace_hopper_224_f32m11.raw", "cat_224_f32m11.raw")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tflite.ReadFile(testshared.Path(t, tc.model...))
			if err != nil {
				t.Fatal(err)
			}
			a, b := tc.inputs(t)
			want := invokeFresh(t, m, buildOptions{kern: gemmKernels()[0]}, 1, a, nil)
			if testing.Short() {
				t.Skip("one variant per model with -short")
			}
			r := rand.New(rand.NewPCG(1, 2))
			random := func(arena []byte) {
				for i := range arena {
					arena[i] = byte(r.Uint32())
				}
			}
			fill := func(v byte) func([]byte) {
				return func(arena []byte) {
					for i := range arena {
						arena[i] = v
					}
				}
			}
			variants := []struct {
				name    string
				bo      buildOptions
				threads int
				poison  func([]byte)
				before  []byte // input invoked first on the same engine
				solo    bool   // the invoke runs on the caller alone (as threadPicker may choose)
			}{
				{"arena 0xff", buildOptions{}, 1, fill(0xff), nil, false},
				{"arena 0x80", buildOptions{}, 1, fill(0x80), nil, false},
				{"arena random", buildOptions{}, 1, random, nil, false},
				{"no reuse, arena random", buildOptions{separate: true}, 1, random, nil, false},
				{"after another input", buildOptions{}, 1, nil, b, false},
				{"after another input, arena random", buildOptions{}, 1, random, b, false},
				{"threads 2", buildOptions{}, 2, nil, nil, false},
				{"threads 2, packed layout, arena random", buildOptions{packed: true}, 2, random, b, false},
				{"threads 3, arena random", buildOptions{}, 3, random, b, false},
				{"threads 2, caller alone, arena random", buildOptions{}, 2, random, b, true},
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					v.bo.kern = gemmKernels()[0]
					e, err := build(m, engine.Options{Threads: v.threads}, v.bo)
					if err != nil {
						t.Fatal(err)
					}
					defer e.Close()
					if v.before != nil {
						invoke(t, e, v.before)
					}
					if v.poison != nil {
						v.poison(e.arena)
					}
					e.pool.solo = v.solo
					got := invoke(t, e, a)
					if i := firstDiff(got, want); i >= 0 {
						t.Errorf("output byte %d differs from a fresh engine's (got %v, want %v)", i, head(got), head(want))
					}
				})
			}
		})
	}
}

// TestLayoutDeterministic plans the same model twice: the arena must come
// out byte for byte the same (the planner walks maps; their order changes
// from run to run).
func TestLayoutDeterministic(t *testing.T) {
	m, err := tflite.ReadFile(testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	offsets := func() []int {
		views, arena := layout(m, false, 1, nil)
		base := uintptrOf(arena)
		var off []int
		for _, v := range views {
			if v == nil {
				off = append(off, -1)
				continue
			}
			off = append(off, int(uintptrOf(v)-base))
		}
		return off
	}
	want := offsets()
	for i := range 10 {
		if got := offsets(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("plan %d differs from the first", i+1)
		}
	}
}

// invokeFresh builds m, optionally runs before first, then runs in and
// returns a copy of output 0.
func invokeFresh(t *testing.T, m *tflite.Model, bo buildOptions, threads int, in, before []byte) []byte {
	t.Helper()
	e, err := build(m, engine.Options{Threads: threads}, bo)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if before != nil {
		invoke(t, e, before)
	}
	return invoke(t, e, in)
}

// invoke copies in to input 0, runs e and returns a copy of output 0.
func invoke(t *testing.T, e *Engine, in []byte) []byte {
	t.Helper()
	if len(in) != len(e.Input(0)) {
		t.Fatalf("input has %d bytes, model wants %d", len(in), len(e.Input(0)))
	}
	copy(e.Input(0), in)
	if err := e.Invoke(); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(e.Output(0))
}

func tmFrame(t *testing.T, class, frame string) []byte {
	t.Helper()
	rgb, _, _ := enginetest.PNGRGB(t, testshared.Path(t, "datasets", "tm_webcam_face_hand", class, frame))
	return rgb
}

func goldenInputs(a, b string) func(t *testing.T) ([]byte, []byte) {
	return func(t *testing.T) ([]byte, []byte) {
		t.Helper()
		var out [2][]byte
		for i, name := range []string{a, b} {
			data, err := os.ReadFile(testshared.Path(t, "golden", "inputs", name))
			if err != nil {
				t.Fatal(err)
			}
			out[i] = data
		}
		return out[0], out[1]
	}
}

// firstDiff is the first index where a and b differ, or -1.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func head(b []byte) []byte { return b[:min(len(b), 16)] }

// childEnv marks a run of the test binary started by
// TestDeterministicAcrossProcesses.
const childEnv = "ALPHAD_NATIVE_DETERMINISM_CHILD"

// TestDeterministicAcrossProcesses runs the Teachable Machine frame in
// fresh processes of this test binary (new map seeds, heap layout,
// scheduling) and requires every one to print the parent's output.
func TestDeterministicAcrossProcesses(t *testing.T) {
	m, err := tflite.ReadFile(testshared.Path(t, "teachable-machine", "rpi4-coral-uint8", "model.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	in := tmFrame(t, "Class_2", "07.png")
	if th := os.Getenv(childEnv); th != "" {
		threads, err := strconv.Atoi(th)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("output %x\n", invokeFresh(t, m, buildOptions{kern: gemmKernels()[0]}, threads, in, nil))
		return
	}
	if testing.Short() {
		t.Skip("starts processes")
	}
	want := fmt.Sprintf("output %x", invokeFresh(t, m, buildOptions{kern: gemmKernels()[0]}, 1, in, nil))
	for i, threads := range []int{1, 2, 1, 3} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDeterministicAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", childEnv, threads))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("process %d: %v\n%s", i, err, out)
		}
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("process %d (%d threads) printed\n%s\nwant %s", i, threads, out, want)
		}
	}
}
