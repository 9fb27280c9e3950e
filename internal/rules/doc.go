// Package rules compiles and evaluates tokenhook's claim rules: operator
// written CEL expressions that turn Okta's token request and the store
// records found for it into claims, lifetimes and denials.
//
// The life of a rule set is Parse (the configuration's YAML, into [Spec]),
// [Compile] (type-checked against the inputs the caller declares; every
// problem reported at once, before the server starts) and [Program.Eval]
// (pure: no I/O, no clock, cost-bounded, safe for concurrent use). CEL was
// chosen because it is type-checked at load, always terminates and has a
// cost model; Kubernetes uses it for the same job on JWT claims.
//
// The package knows nothing of HTTP, SQL or Okta's wire format: the caller
// (the hook's core) declares the request's Go type and the other inputs,
// runs the lookups whose keys [Program.LookupKey] computes, and turns the
// [Action]s of an [Outcome] into Okta's commands. [Program.Reads] says
// which parts of the request the expressions read, so the caller can decode
// only those.
package rules
