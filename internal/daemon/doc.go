// Package daemon is `alphad run`, the running device. It is split by
// responsibility, each part owning its state:
//
//   - the frame loop (frames.go) owns the model in use and the decide
//     stage; it emits one control.Decision per classified frame (and one
//     when the camera goes down) to every Output;
//   - the recorder (recorder.go) owns recording bursts and stores samples;
//   - the trainer (trainer.go) owns the training run;
//   - settings (settings.go) owns the runtime settings, persisted in the
//     state directory;
//   - commands (commands.go) is the one handler table of the command layer
//     (internal/control): MQTT, the GPIO panel, the control socket
//     (socket.go) and the web API call it.
//
// Outputs (MQTT, hooks) are consumers the daemon declares as the Output
// interface. Every hardware handle comes from cmd/alphad, the composition
// root. The package also owns the daemon's YAML configuration.
package daemon
