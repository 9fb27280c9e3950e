package inlinehook

import (
	"fmt"
	"strconv"
)

// Result is what Okta mints after applying a hook's response: the claims and
// lifetime of each token, patched.
type Result struct {
	Identity *Minted // the ID token; nil when none is minted
	Access   *Minted // the access token; nil when none is minted
}

// Minted is one token as Okta will sign it, less the claims Okta adds after
// the hook (iat, exp, and for ID tokens at_hash and the like).
type Minted struct {
	// Claims are the token's claims, sharing nothing with the request or
	// the response. Values have the types encoding/json/v2 decodes into
	// any: nil, bool, float64, string, []any, map[string]any.
	Claims Claims
	// Lifetime is the token's lifetime in seconds: exp = iat + Lifetime.
	Lifetime int
}

// ValidationError is the error of [Apply] for a response Okta would reject.
// Okta then mints the tokens unmodified.
type ValidationError struct {
	Violations []Violation // never empty
}

// Error returns the first violation's message and how many more there are.
func (e *ValidationError) Error() string {
	if len(e.Violations) == 0 {
		return "inlinehook: invalid response"
	}
	msg := "inlinehook: invalid response: " + e.Violations[0].Message
	if n := len(e.Violations) - 1; n > 0 {
		msg += " (and " + strconv.Itoa(n) + " more)"
	}
	return msg
}

// Unwrap returns the violations, so errors.As finds a [Violation].
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Violations))
	for i, v := range e.Violations {
		errs[i] = v
	}
	return errs
}

// DeniedError is the error of [Apply] for a response with an error object:
// Okta mints no token and answers the requester with the OAuth 2.0 error
// server_error, error_description = Summary.
type DeniedError struct {
	// Summary is the response's errorSummary, or DefaultErrorSummary when it
	// has none.
	Summary string
}

// Error reports the denial and its summary.
func (e *DeniedError) Error() string {
	return "inlinehook: token denied by the hook: " + e.Summary
}

// Apply applies resp to the tokens of req under the zero [Rules]; see
// [Rules.Apply].
func Apply(req *TokenRequest, resp *Response) (*Result, error) {
	return Rules{}.Apply(req, resp)
}

// Apply returns the tokens Okta would mint for req once it has applied resp,
// with Okta's semantics:
//
//   - a response with an error object: a *[DeniedError], whatever else the
//     response holds (Okta's error wins over commands);
//   - a response [Rules.Validate] finds anything wrong with: a
//     *[ValidationError] listing every violation, and nothing applied (Okta's
//     all-or-nothing rule);
//   - otherwise the operations in order: add sets a top-level claim
//     (overwriting an existing one), adds or overwrites an object member,
//     inserts into an array at an index ("-" or the length appends); replace
//     and remove need what they name to exist; replace of [LifetimePath]
//     sets the lifetime.
//
// A nil or empty resp yields the tokens unmodified, as does Okta for a 204.
// req and resp are never modified, and the result shares no map or slice
// with them.
func (r Rules) Apply(req *TokenRequest, resp *Response) (*Result, error) {
	if resp != nil && resp.Error != nil {
		summary := resp.Error.ErrorSummary
		if summary == "" {
			summary = DefaultErrorSummary
		}
		return nil, &DeniedError{Summary: summary}
	}
	var e engine
	r.evaluate(&e, req, resp)
	if len(e.violations) > 0 {
		return nil, &ValidationError{Violations: e.violations}
	}
	var res Result
	var err error
	if res.Identity, err = e.identity.minted(); err != nil {
		return nil, err
	}
	if res.Access, err = e.access.minted(); err != nil {
		return nil, err
	}
	return &res, nil
}

// minted returns a deep copy of the simulated token, or nil when the token
// is not being minted.
func (t *tokenState) minted() (*Minted, error) {
	if !t.present {
		return nil, nil
	}
	current := t.claims()
	claims := make(Claims, len(current))
	for k, v := range current {
		c, err := deepCopy(v)
		if err != nil {
			return nil, fmt.Errorf("inlinehook: claim %q cannot be encoded as JSON: %w", k, err)
		}
		claims[k] = c
	}
	return &Minted{Claims: claims, Lifetime: t.lifetime}, nil
}
