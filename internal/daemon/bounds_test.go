package daemon

import (
	"strings"
	"testing"

	"github.com/alphad/alphad/pipeline/head"
)

// TestTrainingBoundsAgree: the daemon's training section and
// head.Config.Validate (what `alphad train` applies) accept and refuse
// the same values.
func TestTrainingBoundsAgree(t *testing.T) {
	for _, tc := range []struct {
		field     string
		set       func(*TrainingConfig, int)
		max, over int
	}{
		{"epochs", func(c *TrainingConfig, v int) { c.Epochs = v }, head.MaxEpochs, head.MaxEpochs + 1},
		{"batch_size", func(c *TrainingConfig, v int) { c.BatchSize = v }, head.MaxBatchSize, 1e9},
		{"hidden", func(c *TrainingConfig, v int) { c.Hidden = v }, head.MaxHidden, head.MaxHidden + 1},
		{"patience", func(c *TrainingConfig, v int) { c.Patience = v }, head.MaxPatience, head.MaxPatience + 1},
		{"ensemble", func(c *TrainingConfig, v int) { c.Ensemble = v }, head.MaxEnsemble, 1e6},
	} {
		for _, v := range []int{tc.max, tc.over} {
			cfg := DefaultConfig()
			tc.set(&cfg.Training, v)
			derr := cfg.Validate()
			herr := cfg.Training.HeadConfig().Validate()
			if (derr == nil) != (herr == nil) {
				t.Errorf("training.%s = %d: daemon says %v, head says %v", tc.field, v, derr, herr)
			}
			if v == tc.over && (derr == nil || !strings.Contains(derr.Error(), "training."+tc.field)) {
				t.Errorf("training.%s = %d: got %v, want an error naming the field", tc.field, v, derr)
			}
		}
	}
}
