// Package control is the command layer of a running alphad: the typed
// commands every interface sends (MQTT, the GPIO panel, the local CLI over
// the control socket, the web API), their one table of names and fields,
// the one parser that turns a JSON object into a Command, and the events
// the daemon emits for its outputs (decisions, classes, settings, training,
// diagnostics).
//
// Transports only translate: they parse what arrives into a Command with
// Parse, hand it to the daemon's handler, and format the Result or error.
// Adding a command means one entry in Table, one handler in the daemon and
// a line in docs/commands.md.
package control
