package daemon

import (
	"fmt"
	"log/slog"
	"reflect"
)

// Reload applies a new configuration to the running daemon (SIGHUP):
// hooks, the log level and the smoothing threshold and window (when they
// changed in the file: runtime values set by commands otherwise stay) take
// effect at once; sections that need a restart are logged and returned.
// A configuration that does not validate changes nothing.
func (d *Daemon) Reload(cfg Config) (restart []string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	old := d.loaded
	if err := d.hooks.Reload(cfg.Hooks); err != nil {
		return nil, fmt.Errorf("daemon: reload: %w", err)
	}
	if d.opts.LogLevel != nil {
		d.opts.LogLevel.Set(logLevel(cfg.Log.Level))
	}
	if changed, err := d.settings.reload(old.Smoothing, cfg.Smoothing); err != nil {
		return nil, fmt.Errorf("daemon: reload: %w", err)
	} else if changed {
		d.out.emit(d.settings.event())
	}
	sections := []struct {
		name     string
		old, new any
	}{
		{"state_dir", old.StateDir, cfg.StateDir}, {"camera", old.Camera, cfg.Camera}, {"model", old.Model, cfg.Model},
		{"smoothing (mode, hysteresis, min_dwell)", restartSmoothing(old), restartSmoothing(cfg)},
		{"recording", old.Recording, cfg.Recording}, {"training", old.Training, cfg.Training},
		{"panel", old.Panel, cfg.Panel}, {"mqtt", old.MQTT, cfg.MQTT}, {"http", old.HTTP, cfg.HTTP}, {"review", old.Review, cfg.Review},
		{"fleet", old.Fleet, cfg.Fleet},
	}
	for _, s := range sections {
		if !reflect.DeepEqual(s.old, s.new) {
			restart = append(restart, s.name)
		}
	}
	d.loaded = cfg
	d.log.Info("configuration reloaded", "hooks", len(cfg.Hooks), "log_level", cfg.Log.Level,
		"threshold", cfg.Smoothing.Threshold, "needs_restart", restart)
	if len(restart) > 0 {
		d.log.Warn("configuration changes that take effect after a restart (systemctl restart alphad)", "sections", restart)
	}
	return restart, nil
}

// restartSmoothing is the part of the smoothing section a reload cannot
// apply.
func restartSmoothing(c Config) any {
	s := c.Smoothing
	s.Threshold, s.Window = 0, 0
	return s
}

// logLevel maps the configuration's level name.
func logLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// LogLevel maps a configuration level name (debug, info, warn, error).
func LogLevel(s string) slog.Level { return logLevel(s) }
