package tokenhook

import "context"

// Tracer starts the spans of a hook call's steps. serve's is OpenTelemetry
// (package telemetry); the core and the server know only this interface,
// so that a call without tracing costs one nil check per step.
type Tracer interface {
	// Start starts a span named name, a child of ctx's span, and returns
	// the context carrying it.
	Start(ctx context.Context, name string) (context.Context, Span)
}

// Span is one step of a call.
type Span interface {
	// SetAttribute records a name and a value — never a claim value, a
	// secret or a login.
	SetAttribute(key, value string)
	// End ends the span, failed when err is not nil.
	End(err error)
}

// Observer hears of what the core's calls did, for metrics: by name,
// never with keys or values.
type Observer interface {
	// Lookup reports a lookup's result: LookupFound, LookupNotFound,
	// LookupStale, LookupFailed or LookupSkipped.
	Lookup(name, result string)
	// RuleFailed reports a rule whose evaluation failed.
	RuleFailed(rule string)
}

// Lookup results, as reported to an [Observer] and in debugContext.
const (
	LookupFound    = "found"
	LookupNotFound = "not_found"
	LookupStale    = "stale"
	LookupFailed   = "failed"
	LookupSkipped  = "skipped" // no key: nothing to look up
)

// DebugContext selects what the core puts in a response's debugContext,
// which Okta copies into its System Log. Names only.
type DebugContext struct {
	// Lookups adds "lookups": "user=found,tenant=not_found".
	Lookups bool
	// Rules adds "rules": the names of the rules whose commands were
	// sent, comma-separated.
	Rules bool
}

func (d DebugContext) enabled() bool { return d.Lookups || d.Rules }
