// Package web is alphad's web app: a phone-first single page (plain ES
// modules, embedded with go:embed) and the JSON API it uses (docs/api.md),
// served by the daemon's one HTTP server.
//
// Every request but /login (and /healthz and /metrics, served by the
// daemon) needs a session, checked in ServeHTTP before routing. Sessions
// begin with the password (argon2id hash in the state directory, generated
// on first start, set with `alphad ui password`) or a one-time login link:
// `alphad ui url` asks the running daemon over its control socket
// (owner-only) for one, valid 10 minutes and usable once. Failed logins are
// throttled. Session cookies are HttpOnly and SameSite=Strict (Secure under
// TLS); state-changing requests whose Origin is not this server are
// refused (403).
//
// Actions go through the daemon's command layer: each route builds one
// command's fields, control.Parse checks them as for every transport, and
// Daemon.Do runs it with source "web" (Server.run). What happens on the
// device (decisions, samples, training, models, camera) reaches open pages
// as server-sent events from the Server's Notify, which never blocks: each
// client has a bounded queue and a slow client loses events (counted).
package web
