// Package mqtt connects alphad to an MQTT broker and to Home Assistant.
//
// A [Client] publishes the classifier state, label-change events,
// availability, diagnostics and training progress under a topic prefix
// (default alphad/<device_id>), announces the device to Home Assistant with
// device-based discovery, and turns messages on <prefix>/cmd/<name> into
// [Command] values for a [Handler] that the daemon implements.
//
// Publishing never blocks the caller: the Publish* methods copy their
// argument into a bounded in-memory queue (the state and other "latest
// value" topics keep only the newest message; events are a ring that drops
// the oldest and counts the drops) and return. One goroutine, started by
// [Client.Run], owns the connection: it connects (retrying the first
// connect too), drains the queue, and reconnects with exponential backoff
// and jitter. On every (re)connect it re-sends availability, discovery and
// the latest retained values.
//
// The package never reads the environment: secrets come in through
// [Config] (resolved by cmd/alphad). Passwords are [Secret] values that
// print as "[redacted]".
//
// docs/mqtt.md documents the topics and payloads.
package mqtt
