// Package daemon is `alphad run`: it wires a camera, the classifier, the
// smoother, MQTT, hooks, the GPIO panel, recording and background training
// into one long-running process, and owns the daemon's YAML configuration.
// It receives every hardware handle from cmd/alphad, the composition root.
package daemon
