// Package tfliteoracle times the real TFLite runtime: run_tflite.js from
// shared/tools/tflite-oracle, run under node, so that `alphad bench
// --oracle` and the engine benchmarks can put its speed beside ours.
package tfliteoracle

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Median runs the real TFLite runtime (`node script model --repeat=runs+1
// --threads=threads`, zero input) and returns the median of its infer_ms
// list in ms, without the first (warm-up) run.
func Median(ctx context.Context, script, model string, runs, threads int) (float64, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	args := []string{script, model, "--repeat=" + strconv.Itoa(runs+1), "--threads=" + strconv.Itoa(max(threads, 1))}
	out, err := exec.CommandContext(ctx, "node", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return 0, fmt.Errorf("node %s: %w: %s", script, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return 0, fmt.Errorf("node %s: %w", script, err)
	}
	times, err := ParseInferMS(out)
	if err != nil {
		return 0, err
	}
	if len(times) > 1 {
		times = times[1:]
	}
	slices.Sort(times)
	n := len(times)
	if n%2 == 0 {
		return (times[n/2-1] + times[n/2]) / 2, nil
	}
	return times[n/2], nil
}

var inferMSRE = regexp.MustCompile(`infer_ms=\[([^\]]*)\]`)

// ParseInferMS extracts the infer_ms=[a, b, ...] list (ms per run) that
// run_tflite.js prints. An empty or missing list is an error.
func ParseInferMS(out []byte) ([]float64, error) {
	m := inferMSRE.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("no infer_ms list in oracle output %q", firstLine(out))
	}
	var times []float64
	for _, s := range strings.Split(string(m[1]), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("oracle infer_ms %q: %w", s, err)
		}
		times = append(times, v)
	}
	if len(times) == 0 {
		return nil, errors.New("oracle infer_ms list is empty")
	}
	return times, nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}
