package main

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/alphad/alphad/internal/daemon"
)

// TestDaemonTrainingConfigHasEveryTrainFlag: every option of `alphad
// train` is a key of the daemon's configuration (training.*, or model.*
// where the daemon shares it with inference), with the same default.
func TestDaemonTrainingConfigHasEveryTrainFlag(t *testing.T) {
	b, err := yaml.Marshal(daemon.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Model    map[string]any `yaml:"model"`
		Training map[string]any `yaml:"training"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	sections := map[string]map[string]any{"model": cfg.Model, "training": cfg.Training}
	// Flags whose daemon key is not training.<flag with _>.
	keys := map[string]string{
		"augment":  "training.augmentation",
		"engine":   "model.engine",   // training embeds with the inference engine
		"backbone": "model.backbone", // a pulled backbone's name (model.path: a model file)
		"json":     "",               // output format only
	}
	checked := 0
	newTrainCmd(newDeps(io.Discard, io.Discard)).Flags().VisitAll(func(f *pflag.Flag) {
		key, ok := keys[f.Name]
		if !ok {
			key = "training." + strings.ReplaceAll(f.Name, "-", "_")
		}
		if key == "" {
			return
		}
		section, name, _ := strings.Cut(key, ".")
		v, ok := sections[section][name]
		if !ok {
			t.Errorf("alphad train --%s: no %s in the daemon's configuration", f.Name, key)
			return
		}
		checked++
		if section == "training" && fmt.Sprint(v) != f.DefValue {
			t.Errorf("alphad train --%s defaults to %s, %s to %v", f.Name, f.DefValue, key, v)
		}
	})
	if checked < 18 {
		t.Errorf("checked %d flags, want every training option (≥ 18)", checked)
	}
}
