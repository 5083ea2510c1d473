package daemon

import (
	"errors"
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

// TestListenChecked: `config check` refuses an http.listen that `run`
// would fail to listen on, naming the field and its line; no DNS lookup.
func TestListenChecked(t *testing.T) {
	for _, tc := range []struct{ listen, want string }{
		{"999.1.1.1:99999", "not a number in 0..65535"},
		{"999.1.1.1:9464", `host "999.1.1.1" is not a valid IP address`},
		{"127.0.0.1", "not host:port"},
		{"127.0.0.1:-1", "not a number in 0..65535"},
		{"127.0.0.1:http", "not a number in 0..65535"},
		{"::1:9464", "not host:port"},
		{"[::1:9464", "not host:port"},
		{"bad host:9464", "not an IP address or a host name"},
		{"-x.lan:9464", "not an IP address or a host name"},
	} {
		src := "version: 1\nhttp:\n  listen: \"" + tc.listen + "\"\n"
		_, err := ParseConfig("alphad.yaml", []byte(src))
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Fields) != 1 || ce.Fields[0].Path != "http.listen" || ce.Fields[0].Line != 3 ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("listen %q: got %v; want http.listen at line 3: %s", tc.listen, err, tc.want)
		}
	}
	for _, ok := range []string{"", ":9464", "127.0.0.1:0", "0.0.0.0:65535", "[::1]:9464", "[fe80::1%eth0]:80", "localhost:9464", "pi.lan:80"} {
		cfg := DefaultConfig()
		cfg.HTTP.Listen = ok
		if err := cfg.Validate(); err != nil {
			t.Errorf("listen %q: %v", ok, err)
		}
	}
}
