// Package systemd holds alphad's systemd unit (alphad.service). It has no
// code; its test checks the unit's hardening with systemd-analyze.
package systemd
