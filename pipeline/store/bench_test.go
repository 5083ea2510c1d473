package store

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/alphad/alphad/pipeline/store/storetest"
)

// The store's hot paths over a size ladder of samples: adding one sample
// (what every capture does: PNG encode, atomic image write, one
// transaction) and opening the state directory (load, sweep). Only the
// measured parts use the exported API, so the same file (with prefill
// using OpenState) runs against older stores to compare (docs/store.md
// has the figures).

// unsyncedFS writes without fsync: prefilling thousands of samples with
// a durable write each would take minutes and measure nothing.
type unsyncedFS struct{ osFS }

func (unsyncedFS) WriteFile(path string, data []byte, perm os.FileMode) error {
	return os.WriteFile(path, data, perm)
}

// prefill makes a state directory with n samples in bursts of 1000.
func prefill(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "state")
	st, err := openStateFS(dir, unsyncedFS{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	s := st.Samples()
	for i := 0; i < n; i += 1000 {
		var ns []NewSample
		for k := i; k < min(n, i+1000); k++ {
			ns = append(ns, NewSample{Label: fmt.Sprintf("class%d", k%5), Image: storetest.ClassImage(k%5, 8, uint64(k)), Source: "bench"})
		}
		if _, err := s.Add(s.NextBurst(), ns); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}

func BenchmarkAddSample(b *testing.B) {
	for _, n := range []int{0, 500, 5000} {
		b.Run(fmt.Sprintf("samples=%d", n), func(b *testing.B) {
			dir := prefill(b, n)
			st, err := OpenState(dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			s := st.Samples()
			imgs := make([]NewSample, b.N)
			for i := range imgs {
				imgs[i] = NewSample{Label: "class0", Image: storetest.ClassImage(0, 8, uint64(1e6+i)), Source: "bench"}
			}
			b.ResetTimer()
			cpu := cpuTime()
			for i := range b.N {
				if _, err := s.Add(s.NextBurst(), imgs[i:i+1]); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

func BenchmarkOpenState(b *testing.B) {
	for _, n := range []int{500, 5000} {
		b.Run(fmt.Sprintf("samples=%d", n), func(b *testing.B) {
			dir := prefill(b, n)
			runtime.GC()
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				st, err := OpenState(dir, nil)
				if err != nil {
					b.Fatal(err)
				}
				if len(st.Samples().Samples()) != n {
					b.Fatalf("%d samples, want %d", len(st.Samples().Samples()), n)
				}
				st.Close()
			}
			reportCPU(b, cpu)
		})
	}
}

// cpuTime is the process's user+system CPU time: on a shared machine
// whose disk and cores other jobs use, it varies far less than the wall
// clock (which the fsyncs dominate).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpuTime()-since)/float64(b.N), "cpu-ns/op")
}

// BenchmarkReviewAdd: adding an unsure frame to a full review queue of n
// items (what every queued frame does: PNG encode, atomic image write, one
// transaction that inserts the item and drops the oldest).
func BenchmarkReviewAdd(b *testing.B) {
	for _, n := range []int{20, 200, 2000} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			st, err := OpenState(filepath.Join(b.TempDir(), "state"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			q := st.Review()
			if err := q.SetSize(n); err != nil {
				b.Fatal(err)
			}
			img := reviewImage(1)
			for i := range n {
				if _, _, err := q.Add(unsure(i%50), img); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			cpu := cpuTime()
			for i := range b.N {
				if _, _, err := q.Add(unsure(i%50), img); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}
