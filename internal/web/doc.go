// Package web is alphad's web app: a phone-first single page (plain ES
// modules, embedded with go:embed) and the JSON API it uses, served by the
// daemon's one HTTP server.
//
// Every request but /healthz (and /metrics, served by the daemon) needs a
// session. Sessions begin with a one-time login link: `alphad web link`
// asks the running daemon over its control socket (owner-only) for one,
// valid 10 minutes and usable once. Session cookies are HttpOnly and
// SameSite=Strict (Secure under TLS); state-changing requests whose Origin
// is not this server are refused (403).
//
// Actions go through the daemon's command layer (POST /api/cmd/<name> →
// control.Parse → Daemon.Do, source "web"); what happens on the device
// (decisions, samples, training, models, camera) reaches open pages as
// server-sent events from the Server's Notify, which never blocks: each
// client has a bounded queue and a slow client loses events (counted).
package web
