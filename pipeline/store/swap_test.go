package store

import (
	"sync"
	"testing"

	"github.com/alphad/alphad/pipeline/engine"
	"github.com/alphad/alphad/pipeline/head"
	"github.com/alphad/alphad/pipeline/store/storetest"
)

// TestClassifierSwapUnderLoad swaps and closes models while goroutines
// classify: no call may fail or see a closed engine (run with -race).
func TestClassifierSwapUnderLoad(t *testing.T) {
	bb := storetest.TinyBackbone(8, 6)
	load := func(version string, seed uint64) *head.Model {
		b, err := head.NewBackbone(bb, "tiny", newNative, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		h, _ := head.New(6, 4, 3, seed)
		return &head.Model{Version: version, Labels: []string{"a", "b", "c"}, Backbone: b, Head: h}
	}
	c := head.NewClassifier(load("v0", 1))
	fill := ImageFill(storetest.ClassImage(1, 8, 1))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Classify(fill); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 50 {
		old := c.Swap(load("v", uint64(i+2)))
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	c.Model().Close()
}
