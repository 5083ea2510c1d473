package head

import (
	"strings"
	"testing"
)

// TestConfigBounds: every numeric option has a bound; the bound itself
// passes and one past it is refused naming the field.
func TestConfigBounds(t *testing.T) {
	for _, tc := range []struct {
		field     string
		set       func(*Config, float64)
		max, over float64
	}{
		{"hidden", func(c *Config, v float64) { c.Hidden = int(v) }, MaxHidden, MaxHidden + 1},
		{"epochs", func(c *Config, v float64) { c.Epochs = int(v) }, MaxEpochs, MaxEpochs + 1},
		{"batch_size", func(c *Config, v float64) { c.BatchSize = int(v) }, MaxBatchSize, 1e9},
		{"patience", func(c *Config, v float64) { c.Patience = int(v) }, MaxPatience, MaxPatience + 1},
		{"ensemble", func(c *Config, v float64) { c.Ensemble = int(v) }, MaxEnsemble, 1e6},
		{"ensemble", func(c *Config, v float64) { c.Ensemble = int(v) }, 0, -1},
		{"l2", func(c *Config, v float64) { c.L2 = v }, MaxL2, MaxL2 + 0.5},
		{"learning_rate", func(c *Config, v float64) { c.LearningRate = v }, MaxLearnRate - 1, MaxLearnRate},
	} {
		c := DefaultConfig()
		tc.set(&c, tc.max)
		if err := c.Validate(); err != nil {
			t.Errorf("%s = %v: %v", tc.field, tc.max, err)
		}
		tc.set(&c, tc.over)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "config "+tc.field+" = ") {
			t.Errorf("%s = %v: got %v, want an error naming the field", tc.field, tc.over, err)
		}
	}
}
