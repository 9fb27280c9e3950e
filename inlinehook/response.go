package inlinehook

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"fmt"
	"slices"
	"strconv"
)

// Command types a token inline hook response may carry. There are no others:
// Okta has no command for the refresh token or for scopes.
const (
	IdentityPatch = "com.okta.identity.patch" // patches the ID token
	AccessPatch   = "com.okta.access.patch"   // patches the access token
)

// Operations a command may perform. RFC 6902's move, copy and test are not
// supported by Okta.
const (
	OpAdd     = "add"
	OpReplace = "replace"
	OpRemove  = "remove"
)

// LifetimePath is the only path that changes a token's lifetime, with
// OpReplace and a value between [MinLifetime] and [MaxLifetime] seconds.
const LifetimePath = "/token/lifetime/expiration"

// Lifetime bounds Okta accepts from a hook, in seconds.
const (
	MinLifetime = 300
	MaxLifetime = 86400
)

// MaxResponseSize is the size a response body must stay under: Okta rejects
// responses of 256 KB or more.
const MaxResponseSize = 256 * 1024

// DefaultErrorSummary is the error_description Okta returns to the requester
// when the hook's error object has no errorSummary.
const DefaultErrorSummary = "The callback service returned an error"

// Response is the body a token inline hook returns with status 200.
type Response struct {
	Commands []Command `json:"commands,omitempty"`
	// Error denies the token: Okta issues none and answers the requester with
	// an OAuth server_error whose description is Error.ErrorSummary.
	Error *Error `json:"error,omitzero"`
	// DebugContext is copied by Okta into its System Log; never put secrets
	// or personal data in it.
	DebugContext map[string]any `json:"debugContext,omitempty"`
}

// Command patches one token.
type Command struct {
	Type  string      `json:"type"`
	Value []Operation `json:"value"`
}

// Operation is one JSON-Patch-like step of a command.
type Operation struct {
	Op   string `json:"op"`
	Path string `json:"path"`
	// Value is the new value for add and replace; nil means absent (Okta
	// treats a missing value and null alike). Remove takes no value.
	Value any `json:"value,omitzero"`
}

// Error is the error object of a response.
type Error struct {
	ErrorSummary string       `json:"errorSummary,omitempty"`
	ErrorCauses  []ErrorCause `json:"errorCauses,omitempty"`
}

// ErrorCause is one cause of an error, as in Okta's general hook framework.
// Token hooks only surface ErrorSummary.
type ErrorCause struct {
	ErrorSummary string `json:"errorSummary,omitempty"`
	Reason       string `json:"reason,omitempty"`
	LocationType string `json:"locationType,omitempty"`
	Location     string `json:"location,omitempty"`
	Domain       string `json:"domain,omitempty"`
}

// IsEmpty reports whether the response asks Okta for nothing: no error and no
// operation in any command. Such a response is best sent as 204 No Content.
func (r *Response) IsEmpty() bool {
	if r == nil {
		return true
	}
	if r.Error != nil {
		return false
	}
	for _, c := range r.Commands {
		if len(c.Value) > 0 {
			return false
		}
	}
	return true
}

// PatchIdentity returns a command that patches the ID token.
func PatchIdentity(ops ...Operation) Command { return Command{Type: IdentityPatch, Value: ops} }

// PatchAccess returns a command that patches the access token.
func PatchAccess(ops ...Operation) Command { return Command{Type: AccessPatch, Value: ops} }

// Add returns an add operation on path.
func Add(path string, value any) Operation { return Operation{Op: OpAdd, Path: path, Value: value} }

// Replace returns a replace operation on path.
func Replace(path string, value any) Operation {
	return Operation{Op: OpReplace, Path: path, Value: value}
}

// Remove returns a remove operation on path.
func Remove(path string) Operation { return Operation{Op: OpRemove, Path: path} }

// AddClaim adds (or overwrites) the top-level claim name.
func AddClaim(name string, value any) Operation { return Add(ClaimPath(name), value) }

// ReplaceClaim replaces the existing top-level claim name.
func ReplaceClaim(name string, value any) Operation { return Replace(ClaimPath(name), value) }

// RemoveClaim removes the existing top-level claim name.
func RemoveClaim(name string) Operation { return Remove(ClaimPath(name)) }

// SetLifetime changes the token's lifetime to seconds.
func SetLifetime(seconds int) Operation { return Replace(LifetimePath, seconds) }

// Deny returns a response that makes Okta refuse the token with summary as
// the OAuth error_description.
func Deny(summary string) *Response {
	return &Response{Error: &Error{ErrorSummary: summary}}
}

// EncodeResponse encodes a response as JSON, compactly, with map keys
// (claim values, debugContext) sorted so that equal responses encode equally.
// A nil response encodes as {}.
func EncodeResponse(r *Response) ([]byte, error) {
	if r == nil {
		r = &Response{}
	}
	// The common answer — commands whose values are strings, booleans,
	// integers or null — is written directly: the same bytes as json/v2's,
	// in a tenth of the time. Anything else goes through json/v2.
	if b, ok := appendResponse(make([]byte, 0, 256), r); ok {
		return b, nil
	}
	b, err := json.Marshal(r, json.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("inlinehook: encode response: %w", err)
	}
	return b, nil
}

// appendResponse appends r as EncodeResponse encodes it, and reports false
// (leaving the caller to json/v2) for what it does not handle: a debug
// context with values other than strings or of more than a few keys, error
// causes, and values other than strings, booleans, ints and null.
func appendResponse(b []byte, r *Response) ([]byte, bool) {
	if len(r.DebugContext) > 4 || (r.Error != nil && r.Error.ErrorCauses != nil) {
		return nil, false
	}
	var err error
	b = append(b, '{')
	if len(r.Commands) > 0 {
		b = append(b, `"commands":[`...)
		for i, c := range r.Commands {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			if b, err = jsontext.AppendQuote(b, c.Type); err != nil {
				return nil, false
			}
			b = append(b, `,"value":[`...) // json/v2 writes a nil slice as [] too
			for j, op := range c.Value {
				if j > 0 {
					b = append(b, ',')
				}
				var ok bool
				if b, ok = appendOperation(b, op); !ok {
					return nil, false
				}
			}
			b = append(b, "]}"...)
		}
		b = append(b, ']')
	}
	if r.Error != nil {
		if len(r.Commands) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"error":{`...)
		if r.Error.ErrorSummary != "" {
			b = append(b, `"errorSummary":`...)
			if b, err = jsontext.AppendQuote(b, r.Error.ErrorSummary); err != nil {
				return nil, false
			}
		}
		b = append(b, '}')
	}
	if len(r.DebugContext) > 0 { // omitempty
		var ok bool
		if b, ok = appendDebugContext(b, r); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

// appendDebugContext appends r's debugContext member, its keys sorted as
// json.Deterministic sorts them, when every value is a string.
func appendDebugContext(b []byte, r *Response) ([]byte, bool) {
	var keys [4]string
	n := 0
	for k, v := range r.DebugContext {
		if _, ok := v.(string); !ok {
			return nil, false
		}
		keys[n] = k
		n++
	}
	slices.Sort(keys[:n])
	if len(r.Commands) > 0 || r.Error != nil {
		b = append(b, ',')
	}
	b = append(b, `"debugContext":{`...)
	var err error
	for i, k := range keys[:n] {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = jsontext.AppendQuote(b, k); err != nil {
			return nil, false
		}
		b = append(b, ':')
		if b, err = jsontext.AppendQuote(b, r.DebugContext[k].(string)); err != nil {
			return nil, false
		}
	}
	return append(b, '}'), true
}

func appendOperation(b []byte, op Operation) ([]byte, bool) {
	var err error
	b = append(b, `{"op":`...)
	if b, err = jsontext.AppendQuote(b, op.Op); err != nil {
		return nil, false
	}
	b = append(b, `,"path":`...)
	if b, err = jsontext.AppendQuote(b, op.Path); err != nil {
		return nil, false
	}
	switch v := op.Value.(type) {
	case nil:
	case string:
		b = append(b, `,"value":`...)
		if b, err = jsontext.AppendQuote(b, v); err != nil {
			return nil, false
		}
	case bool:
		b = append(b, `,"value":`...)
		b = strconv.AppendBool(b, v)
	case int:
		b = append(b, `,"value":`...)
		b = strconv.AppendInt(b, int64(v), 10)
	case int64:
		b = append(b, `,"value":`...)
		b = strconv.AppendInt(b, v, 10)
	default:
		return nil, false
	}
	return append(b, '}'), true
}
