// Package hookcall calls a token inline hook exactly as Okta does and decides,
// with the inlinehook package's rules, what Okta would make of the answer:
// one POST with Okta's headers and authentication (a static header, or an
// OAuth 2.0 bearer token fetched first with client_secret_post or
// private_key_jwt), one total time budget covering the token fetch and the
// call, no retry, no redirects, a 256 KB cap on the answer, then the whole
// response validated before anything is applied.
//
// The emulator and `tokenhook preview` both use it, so the two can never
// disagree about a verdict. It knows the hook only over HTTP. [Log] keeps
// the System Log events calls produce.
//
// # Decisions where Okta documents nothing
//
//   - http:// is never Okta's; Hook.AllowHTTP accepts it for loopback hosts
//     (local development), AllowHTTPAnyHost for any host. The OAuth token
//     URL follows the same rule, since a secret travels to it.
//   - Besides Accept and Content-Type (Okta's reserved headers), custom
//     headers may not set Host, Content-Length, Transfer-Encoding,
//     Connection, or the header the authentication scheme sets.
//   - OAuth: the client_credentials grant; scope only when set;
//     client_secret_post sends client_id and client_secret in the form;
//     private_key_jwt sends only the assertion (RS256, kid = KeyID, iss =
//     sub = client id, aud = token URL, 5-minute exp, random jti). The
//     token is cached until 30 s before its expires_in (not at all
//     without one) and dropped when the hook answers 401; the fetch counts
//     against the call's budget.
//   - Events: inline_hook.executed (FAILURE) when there is no answer or its
//     status is outside 2xx (3xx included), or the token fetch failed;
//     otherwise inline_hook.response.processed: SUCCESS for Applied and
//     NoOp, FAILURE for the rest, a 2xx other than 200 and 204 included.
//     One event per call. error_message is one string: the violations'
//     messages joined by "; ", the errorSummary for Denied, the cause for
//     Failed. Severity is INFO for success, WARN for failure.
//   - A body over the cap is reported with its Content-Length when the
//     hook declared one, else as the cap plus one byte.
package hookcall

import (
	"crypto"
	"net/http"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// DefaultTimeout is Okta's completion timeout for an inline hook.
const DefaultTimeout = 3 * time.Second

// Hook is a registered token inline hook, as Okta's management API
// describes one (channel.config).
type Hook struct {
	// ID and Name identify the hook in System Log events (Okta's inline
	// hook id, e.g. "cal4egvp1mbMldrYN0g4", and its name). Both optional.
	ID, Name string
	// URL is channel.config.uri. Okta requires https. AllowHTTP is a local
	// development override that also accepts http:// to a loopback host
	// (localhost, 127.0.0.0/8, ::1); AllowHTTPAnyHost, with AllowHTTP,
	// accepts http:// to any host (a hook on a CI network, say). Neither
	// exists in Okta. The OAuth token URL follows the same rule, since a
	// client secret travels to it.
	URL              string
	AllowHTTP        bool
	AllowHTTPAnyHost bool
	// Headers are channel.config.headers: sent on every call. Names Okta
	// reserves (Accept, Content-Type) are refused by Validate.
	Headers []Header
	// Auth is how the call authenticates: exactly one of its modes.
	Auth Auth
	// Timeout is the total budget: OAuth token fetch plus the call.
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// Rules are the Okta rules the answer is held to.
	Rules inlinehook.Rules
}

// Header is one name/value pair.
type Header struct{ Name, Value string }

// Auth is the hook's authentication scheme. The zero value sends nothing.
type Auth struct {
	// Header is the HTTP-header scheme (authScheme type HEADER): the value
	// is sent verbatim in the named header, e.g. Authorization: Basic ….
	Header *Header
	// OAuth is the OAuth 2.0 scheme (channel.type OAUTH).
	OAuth *OAuth
}

// OAuth 2.0 client authentication methods Okta offers for hooks.
const (
	ClientSecretPost = "client_secret_post"
	PrivateKeyJWT    = "private_key_jwt"
)

// OAuth is the OAuth 2.0 channel: before each call Okta obtains an access
// token from TokenURL with the client_credentials grant and sends it as a
// Bearer token.
type OAuth struct {
	AuthType     string // ClientSecretPost or PrivateKeyJWT
	TokenURL     string
	ClientID     string
	ClientSecret string // ClientSecretPost
	// Key signs the client assertion (RS256) for PrivateKeyJWT; KeyID is
	// its kid (Okta's hookKeyId).
	Key   crypto.Signer
	KeyID string
	Scope string // optional; not sent when empty
}

// Verdict is what Okta makes of a hook call.
type Verdict string

const (
	// Applied: a 200 with commands that all pass validation; the tokens
	// are patched.
	Applied Verdict = "applied"
	// NoOp: 204, or 200 with no commands and no error; tokens unmodified,
	// not a failure.
	NoOp Verdict = "no-op"
	// Discarded: a 200 whose commands break at least one of Okta's rules;
	// all commands are dropped and the tokens are issued unmodified.
	Discarded Verdict = "discarded"
	// Denied: a 200 with an error object; no token is issued and the
	// requester gets server_error with the summary.
	Denied Verdict = "denied"
	// Failed: no usable answer (timeout, network error, redirect, status
	// other than 200/204, oversized or unparseable body, token fetch
	// failure); tokens issued unmodified.
	Failed Verdict = "failed"
)

// Outcome is everything known about one hook call.
type Outcome struct {
	Verdict Verdict
	// Status is the hook's HTTP status; 0 when none arrived.
	Status int
	// Body is the raw response body as received (at most the size cap
	// plus one byte).
	Body []byte
	// Response is the parsed body; nil when it did not parse.
	Response *inlinehook.Response
	// Violations are the reasons for Discarded (and a size violation for
	// an oversized body).
	Violations []inlinehook.Violation
	// ErrorSummary is, for Denied, the OAuth error_description Okta sends:
	// the errorSummary, or inlinehook.DefaultErrorSummary when empty.
	ErrorSummary string
	// Cause explains Failed in words fit for a System Log error_message.
	Cause string
	// Before are the tokens as the request describes them; After are the
	// tokens Okta mints: patched for Applied, equal to Before otherwise
	// (nil for Denied).
	Before, After *inlinehook.Result
	// Started and Duration time the whole call, token fetch included.
	Started  time.Time
	Duration time.Duration
}

// Caller makes hook calls. Its zero value is not usable: Hook.URL is needed.
// Call is safe for concurrent use; a Caller must not be copied once used
// (it caches the OAuth token).
type Caller struct {
	Hook Hook
	// Client is the HTTP client; nil means a default one. The caller never
	// follows redirects, whatever the client's policy.
	Client *http.Client
	// Now is the clock; nil means time.Now. A fault knob for tests.
	Now func() time.Time
	// Delay is added before each call, inside the budget: a fault knob
	// that simulates a slow network.
	Delay time.Duration
	// Record receives the System Log events of each call; nil drops them.
	// (*Log).Record fits.
	Record func(Event)

	// tokens caches the OAuth access token between calls.
	tokens tokenCache
}

// Event is one System Log record, shaped like Okta's LogEvent: uuid,
// published, eventType, severity, displayMessage, outcome, debugContext.
type Event struct {
	UUID           string       `json:"uuid"`
	Published      string       `json:"published"` // RFC 3339, ms, UTC
	EventType      string       `json:"eventType"` // inline_hook.executed | inline_hook.response.processed
	Version        string       `json:"version"`
	Severity       string       `json:"severity"` // INFO | WARN | ERROR
	DisplayMessage string       `json:"displayMessage"`
	Outcome        EventOutcome `json:"outcome"`
	DebugContext   DebugContext `json:"debugContext"`
	Target         []Target     `json:"target,omitempty"`
}

// EventOutcome is LogEvent.outcome.
type EventOutcome struct {
	Result string `json:"result"` // SUCCESS | FAILURE
	Reason string `json:"reason,omitempty"`
}

// DebugContext is LogEvent.debugContext.
type DebugContext struct {
	DebugData map[string]any `json:"debugData"`
}

// Target is a LogEvent target (the inline hook).
type Target struct {
	ID          string `json:"id,omitempty"`
	Type        string `json:"type"`
	DisplayName string `json:"displayName,omitempty"`
	AlternateID string `json:"alternateId,omitempty"`
}
