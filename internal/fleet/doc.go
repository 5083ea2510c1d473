// Package fleet shares trained models and samples between alphad devices
// over the MQTT broker they already use: the signed publication format
// (Encode, Parse), ed25519 keys (GenerateKey, key files, trusted keys),
// the rules for adopting a publication (Skip), the fleet link a daemon
// runs beside its own MQTT link (Agent: publishes, receives, adopts
// through the daemon's command layer, shares samples) and the fleet view
// (members with availability, model version, fps and last seen).
//
// Topics live under alphad/fleet/<group>: model (the retained,
// signed publication), samples (pooled samples, opt-in) and
// members/<device_id> (retained membership). docs/fleet.md documents the
// payloads and the trust model.
package fleet
