// Package preview is Okta's Admin Console "Preview" for token inline hooks,
// as a library behind `tokenhook preview`: get a request (read one, such as
// Okta's own preview output, or build one from an emulator
// configuration), edit it, send it to any hook URL exactly as Okta would
// (package hookcall), and report what came back — status, duration, the
// raw answer, Okta's verdict in words, and each token's claims before and
// after.
//
// A [Report] renders as text for a terminal or as one JSON document for
// scripts and CI. Unlike the System Log events, a report shows claim
// values: it is the operator's own view of their own test request.
//
// It knows the hook only over HTTP: it never imports the server.
package preview
