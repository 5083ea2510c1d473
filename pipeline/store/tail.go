package store

import (
	"context"
	"fmt"

	"github.com/alphad/alphad/pipeline/head"
)

// TailDataset is a store's samples as the activations entering the
// backbone's tail (head.FindTail: MobileNetV2's Conv_1 input, 7×7×320),
// for fine-tuning the tail on cached activations.
type TailDataset struct {
	*Dataset // Samples' X and Views are the activations, positions × Tail.In
	Tail     *head.Tail
}

// tailCacheSuffix keys the activation cache beside the embedding cache
// (float32 records: 62 KB per view for MobileNetV2).
const tailCacheSuffix = "-tail"

// EmbedTail runs the backbone opts.Backbone up to its tail on every
// sample of the state's store (with opts.Views), reading and filling an
// activation cache in the state directory, and returns the activations
// with the tail in float32.
func EmbedTail(ctx context.Context, state *State, opts TrainOptions) (*TailDataset, error) {
	fm, err := checkedFeatureModel(state, opts)
	if err != nil {
		return nil, err
	}
	tail, at, err := head.FindTail(fm)
	if err != nil {
		return nil, fmt.Errorf("store: backbone %s: %w", opts.BackboneSource, err)
	}
	cut, err := fm.CutAt(at)
	if err != nil {
		return nil, fmt.Errorf("store: backbone %s: %w", opts.BackboneSource, err)
	}
	ds, err := embedModel(ctx, state, opts, cut, HashBytes(opts.Backbone)+tailCacheSuffix)
	if err != nil {
		return nil, err
	}
	return &TailDataset{Dataset: ds, Tail: tail}, nil
}
