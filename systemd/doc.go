// Package systemd holds alphad's systemd units: alphad.service and the
// template alphad@.service (one instance per /etc/alphad/<name>.yaml with
// its own state directory). It has no code; its tests check both units'
// hardening with systemd-analyze and that the template differs from the
// unit only by the instance.
package systemd
