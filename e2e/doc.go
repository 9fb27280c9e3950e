// Package e2e holds whole-system tests: they build the tokenhook binary, run
// its commands as a user would (import users, serve, preview, demo) and talk
// to the servers over real HTTP on loopback, with a real SQLite file, a real
// PostgreSQL server (two replicas sharing it; stopped under a running
// server) and Debian's Chromium driving the demo. A missing PostgreSQL or
// Chromium skips its tests locally and fails them under CI=true.
package e2e
