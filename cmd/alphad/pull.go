package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/pipeline/store"
)

func newModelPullCmd(d *deps) *cobra.Command {
	var configFile, mirror, sum, file string
	cmd := &cobra.Command{
		Use:   "pull [NAME]",
		Short: "Download, verify and install a backbone for on-device training (default " + store.DefaultBackbone + ")",
		Long: `Downloads a backbone from its official URL (or --mirror: another http(s) URL, a
file:// URL or a local path; a .tgz archive or the .tflite itself), checks its
SHA-256 against the pinned value and installs it atomically under NAME in
<state>/backbones, where training finds it on a fresh device (full
classifiers are cut at the global pool). Nothing is installed on any
failure. A running daemon uses it for its next training. Known backbones:
` + knownBackbonesText(),
		Example: `  alphad model pull
  alphad model pull --mirror file:///media/usb/mobilenet_v2_1.0_224_quant.tgz
  alphad model pull --mirror http://mirror.lan/mobilenet_v2_1.0_224_quant.tflite`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			if mirror == "" {
				cfgPath := configFile
				if cfgPath == "" {
					if _, err := os.Stat(defaultConfigFile); err == nil {
						cfgPath = defaultConfigFile
					}
				}
				if cfgPath != "" {
					cfg, err := loadConfig(cfgPath)
					if err != nil {
						return err
					}
					mirror = cfg.Model.Mirror
					if name == "" {
						name = cfg.Model.Backbone
					}
					if d.stateDir == "" && d.getenv("ALPHAD_STATE_DIR") == "" && cfg.StateDir != "" {
						d.stateDir = cfg.StateDir
					}
				}
			}
			models, err := d.openModels()
			if err != nil {
				return fmt.Errorf("model pull: %w", err)
			}
			src := mirror
			if src == "" {
				if kb, ok := store.LookupBackbone(name); ok || name == "" {
					if !ok {
						kb, _ = store.LookupBackbone(store.DefaultBackbone)
					}
					src = kb.URL
				}
			}
			fmt.Fprintf(d.stderr, "fetching %s\n", src)
			bar := newProgress(d.stderr, "download")
			res, err := models.Pull(cmd.Context(), store.PullOptions{Name: name, Source: mirror, SHA256: sum, File: file, Log: d.log,
				Progress: func(done, total int64) {
					if total > 0 {
						bar.update(float64(done)/float64(total), "", fmt.Sprintf("%.1f of %.1f MB", float64(done)/1e6, float64(total)/1e6))
					}
				}})
			bar.done()
			if err != nil {
				return fmt.Errorf("model pull: %w", err)
			}
			how := "used as is"
			if res.Cut {
				how = "cut at its global pool"
			}
			fmt.Fprintf(d.stdout, "installed %s as %s (%d bytes, sha256 %s): training backbone, %s, %d features\n",
				res.Name, res.Path, res.Bytes, res.SHA256, how, res.Features)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&mirror, "mirror", "", "download from here instead: http(s) URL, file:// URL or path (.tgz or .tflite)")
	f.StringVar(&sum, "sha256", "", "expected SHA-256 of the .tflite (required for names alphad does not know)")
	f.StringVar(&file, "file", "", "the .tflite inside the archive (default: the known one, else the only one)")
	f.StringVar(&configFile, "config", "", "read model.mirror, model.backbone and state_dir from this configuration")
	return cmd
}

func knownBackbonesText() string {
	s := ""
	for _, b := range store.KnownBackbones() {
		s += fmt.Sprintf("  %s  %s\n    %s\n    sha256 %s\n", b.Name, b.About, b.URL, b.SHA256)
	}
	return s
}
