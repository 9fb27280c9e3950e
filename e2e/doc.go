// Package e2e holds whole-system tests: they build the tokenhook binary, run
// its commands as a user would (import users, serve) and talk to the server
// over real HTTP on loopback, with a real SQLite file.
package e2e
