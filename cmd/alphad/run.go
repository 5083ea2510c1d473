package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/panel"
	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/daemon"
	"github.com/alphad/alphad/internal/sdnotify"
	"github.com/alphad/alphad/internal/web"
	"github.com/alphad/alphad/mqtt"
)

// defaultConfigFile is read by `alphad run` when it exists and no
// --config is given.
const defaultConfigFile = "/etc/alphad/alphad.yaml"

// Environment overrides of `alphad run` (ALPHAD_STATE_DIR: see statedir.go,
// ALPHAD_MQTT_PASSWORD: mqtt.go).
const (
	envCamera     = "ALPHAD_CAMERA"
	envMQTTBroker = "ALPHAD_MQTT_BROKER"
)

// runFlags are the overrides `alphad run` takes on top of the file.
type runFlags struct {
	config, camera, model, labels, engine, broker, listen string
	duration                                              time.Duration
}

func newRunCmd(d *deps) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: camera → classifier → MQTT and hooks, taught with buttons or MQTT",
		Long: `Runs the daemon until SIGINT/SIGTERM. The configuration is --config, else
` + defaultConfigFile + ` when it exists, else the built-in defaults (see
alphad config example). Flags override the file, and the environment
(ALPHAD_CAMERA, ALPHAD_MQTT_BROKER, ALPHAD_MQTT_PASSWORD, ALPHAD_STATE_DIR)
overrides the file too, flags winning over both.

The model is model.path, else the state directory's current version. On a
fresh device without a model the daemon still runs the camera so that classes
can be recorded and trained (buttons or MQTT); training needs a backbone:
alphad model pull. A bad configuration exits with code 2.`,
		Example: `  alphad run
  alphad run --config ./alphad.yaml --camera 'dir:./frames?fps=5&loop=true' --mqtt-broker mqtt://localhost:1883
  alphad run --camera 'image:frame.png?loop=true' --for 20s   # prints fps at exit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDaemon(cmd.Context(), d, cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "configuration file (default "+defaultConfigFile+" if it exists)")
	fl.StringVar(&f.camera, "camera", "", "camera spec, e.g. v4l2:/dev/video0?width=640&height=480 or dir:PATH?fps=5&loop=true (env "+envCamera+")")
	fl.StringVar(&f.model, "model", "", "a .tflite classifier to run instead of the state directory's model")
	fl.StringVar(&f.labels, "labels", "", "labels.txt for --model (default: beside it)")
	fl.StringVar(&f.engine, "engine", "", "inference engine: auto, native or xnnpack")
	fl.StringVar(&f.broker, "mqtt-broker", "", "MQTT broker URL, e.g. mqtt://localhost:1883 (env "+envMQTTBroker+")")
	fl.StringVar(&f.listen, "http", "", `address of /metrics and /healthz ("off" to disable)`)
	fl.DurationVar(&f.duration, "for", 0, "stop after this long and print the frame rate (0: until a signal)")
	return cmd
}

// runConfig loads the configuration and applies env and flag overrides.
func runConfig(d *deps, cmd *cobra.Command, f runFlags) (daemon.Config, error) {
	cfg := daemon.DefaultConfig()
	file := f.config
	if file == "" {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			file = defaultConfigFile
		}
	}
	if file != "" {
		var err error
		if cfg, err = loadConfig(file); err != nil {
			return cfg, err
		}
	}
	if v := d.getenv(envCamera); v != "" {
		cfg.Camera.Source = v
	}
	if v := d.getenv(envMQTTBroker); v != "" {
		cfg.MQTT.Broker = v
	}
	if cfg.MQTT.Password == "" && cfg.MQTT.PasswordFile == "" {
		cfg.MQTT.Password = mqtt.Secret(d.getenv(envMQTTPassword))
	}
	changed := cmd.Flags().Changed
	if changed("camera") {
		cfg.Camera.Source = f.camera
	}
	if changed("model") {
		cfg.Model.Path, cfg.Model.Labels = f.model, ""
	}
	if changed("labels") {
		cfg.Model.Labels = f.labels
	}
	if changed("engine") {
		cfg.Model.Engine = f.engine
	}
	if changed("mqtt-broker") {
		cfg.MQTT.Broker = f.broker
	}
	if changed("http") {
		cfg.HTTP.Listen = f.listen
		if f.listen == "off" {
			cfg.HTTP.Listen = ""
		}
	}
	if cfg.MQTT.Broker != "" && cfg.MQTT.DeviceID == "" {
		cfg.MQTT.DeviceID = deviceID()
	}
	if err := cfg.Validate(); err != nil {
		var ce *daemon.ConfigError
		if errors.As(err, &ce) {
			ce.File = "(flags and environment)"
			if file != "" {
				ce.File = file + " with flags and environment"
			}
		}
		return cfg, &exitError{code: 2, err: err}
	}
	return cfg, nil
}

func runDaemon(ctx context.Context, d *deps, cmd *cobra.Command, f runFlags) error {
	if f.duration < 0 {
		return &exitError{code: 2, err: fmt.Errorf("alphad run: --for %v is negative (0 runs until a signal)", f.duration)}
	}
	cfg, err := runConfig(d, cmd, f)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	level.Set(daemon.LogLevel(cfg.Log.Level))
	log := slog.New(slog.NewTextHandler(d.stderr, &slog.HandlerOptions{Level: level}))
	if d.stateDir == "" && d.getenv("ALPHAD_STATE_DIR") == "" && cfg.StateDir != "" {
		d.stateDir = cfg.StateDir
	}
	stateDir, err := d.mkStateDir()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	factory := engineFactory
	if d.newEngine != nil {
		factory = d.newEngine
	}
	newEngine, err := factory(cfg.Model.Engine, log)
	if err != nil {
		return err
	}
	spec, err := device.ParseSpec(cfg.Camera.Source)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("run: %w", err)}
	}
	images := cfg.Images.Limits()
	opts := daemon.Options{
		Config: cfg, StateDir: stateDir, Log: log, LogLevel: level, Engine: newEngine,
		OpenCamera: func(ctx context.Context) (device.Camera, error) { return openCamera(ctx, spec, images, log) },
		DeviceID:   cmp.Or(cfg.MQTT.DeviceID, deviceID()),
		Notifier:   sdnotify.New(d.getenv("NOTIFY_SOCKET")),
	}
	if opts.WatchdogInterval, err = sdnotify.WatchdogInterval(d.getenv("WATCHDOG_USEC"), d.getenv("WATCHDOG_PID"), os.Getpid()); err != nil {
		log.Warn("watchdog off", "err", err)
	}
	if cfg.MQTT.Broker != "" {
		opts.MQTT = func(o mqtt.Options) (daemon.Link, error) {
			o.Origin = mqtt.Origin{Name: "alphad", Version: version}
			o.ConfigurationURL = webURL(cfg.HTTP.Listen)
			if cfg.HTTP.TLS() {
				o.ConfigurationURL = strings.Replace(o.ConfigurationURL, "http://", "https://", 1)
			}
			return mqtt.New(cfg.MQTT, o)
		}
	}
	if cfg.Panel.Enabled {
		if _, err := host.Init(); err != nil {
			return fmt.Errorf("run: initialise GPIO host drivers: %w", err)
		}
		pins, err := panel.Resolve(cfg.Panel.Config, gpioreg.ByName, gpioreg.All)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("run: panel: %w", err)}
		}
		p, err := panel.New(cfg.Panel.Config, pins, panel.Options{Log: log})
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		defer p.Close()
		opts.Panel = p
	}
	opts.Outputs = append(opts.Outputs, changeLog{log})
	var app *web.Server
	if cfg.HTTP.Listen != "" {
		app = web.New(web.Options{Log: log, PasswordFile: filepath.Join(stateDir, web.PasswordFile)})
		pw, err := app.EnsurePassword()
		if err != nil {
			return fmt.Errorf("run: web app: %w", err)
		}
		if pw != "" { // the first start: shown once, stored hashed
			log.Warn("web app: generated its password (shown once; change it with alphad ui password)", "password", pw)
		}
		opts.Web = app
		opts.Outputs = append(opts.Outputs, app)
	}
	dm, err := daemon.New(opts)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if app != nil {
		app.Bind(dm)
	}
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	// SIGHUP reloads what can be reloaded (hooks, thresholds, log level)
	// and logs the rest; it never stops the daemon.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer func() { signal.Stop(hup); close(hup) }()
	go func() {
		for range hup {
			next, err := runConfig(d, cmd, f)
			if err == nil {
				_, err = dm.Reload(next)
			}
			if err != nil {
				log.Error("SIGHUP: configuration not reloaded", "err", err)
			}
		}
	}()
	err = dm.Run(ctx)
	s := dm.Summary()
	fmt.Fprintf(d.stderr, "alphad run: %d frames in %.1fs: %.1f fps, %d inferences (%.2f ms each), %d dropped\n",
		s.Frames, s.Elapsed.Seconds(), s.FPS, s.Inferences, s.InferenceMS, s.Dropped)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// changeLog logs the decided label's changes at info: the predictions of
// `alphad run` without MQTT (a change, not a frame: the decide stage
// reports a change once).
type changeLog struct{ log *slog.Logger }

func (c changeLog) Notify(ev control.Event) {
	if e, ok := ev.(control.Decision); ok && e.Changed {
		if e.Label == "" {
			c.log.Info("label changed", "from", e.Previous, "to", "none", "camera_down", e.CameraDown)
			return
		}
		c.log.Info("label changed", "from", cmp.Or(e.Previous, "none"), "to", e.Label, "confidence", fmt.Sprintf("%.2f", e.Confidence))
	}
}

// deviceID names this device (MQTT topics, hook events): the host name.
func deviceID() string {
	host, _ := os.Hostname()
	return mqtt.DeviceIDFromHostname(host)
}

// webURL is the web app's address as Home Assistant should link it: the
// host name and http.listen's port; "" when the app listens on loopback
// only (a link would not work from another machine) or is off.
func webURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || host == "localhost" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return ""
		}
		host = h
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
