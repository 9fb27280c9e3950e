// Package user holds tokenhook's user records and the contract every user
// store implements.
//
// A [User] is a lookup key (the Okta login by default) and a JSON object of
// attributes that claim rules turn into token claims. The package imports no
// database driver: each backend lives in a subpackage named after its
// technology (memory, sqlite, ...), and package usertest holds the
// conformance suite every backend runs, so all of them behave the same.
//
// # Attributes
//
// Attributes are a JSON object held as map[string]any. Stores keep them as
// JSON and hand them back in one canonical form:
//
//   - objects as map[string]any (never nil for the top level: a user without
//     attributes has an empty map),
//   - arrays as []any,
//   - strings as string, booleans as bool, null as nil,
//   - numbers as [encoding/json.Number], holding the number's JSON text
//     exactly as it was stored.
//
// Numbers are json.Number rather than float64 so that nothing is lost: an
// identifier such as 12345678901234567890 does not fit a float64, and "1.50"
// stays "1.50". A json.Number encodes back to the same JSON text, so a claim
// built from it carries the very number the operator stored. Code that needs
// arithmetic calls its Int64 or Float64 method.
//
// [Store.Put] accepts any value that encoding/json/v2 can encode (an int, a
// float64, a []string, a struct...) and stores its JSON encoding, so what
// [Store.Get] returns is the canonical form above: an int 42 comes back as
// json.Number("42"), a nil slice as an empty []any. Because every backend
// encodes with [EncodeAttributes] and decodes with [DecodeAttributes], they
// all agree on these forms, and the conformance suite pins them.
//
// # Times
//
// Stores set CreatedAt and UpdatedAt themselves, from an injected clock (a
// Now func in each backend's Config; nil means time.Now), in UTC and
// truncated to microseconds ([Timestamp]): microseconds are the finest
// precision every backend (SQLite text, PostgreSQL timestamptz) keeps, so a
// time read back equals the time written whatever the backend.
//
// # Ordering
//
// [Store.List] returns users in ascending byte order of their keys (Go string
// order, SQLite's BINARY collation, PostgreSQL's "C" collation), never in a
// locale's order, so paging with [ListOptions.After] is stable everywhere.
package user
