package inlinehook

import (
	"bytes"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Parts selects the parts of a request a [PartialDecoder] decodes. The
// envelope (eventId, source, ...), which tokens are minted and their
// lifetimes are always decoded. Every part left out is skipped: still checked
// to be well-formed JSON, but not decoded, and left zero (nil) in the result.
//
// Decoding is most of a hook's work: a hook that reads a few fields of Okta's
// 4 KB request saves most of its decoding time by skipping the rest.
type Parts struct {
	// Parts of data.context. User decodes the user but its _links, which
	// UserLinks adds: they are maps of maps, the costliest part of the
	// user to decode, and rarely read.
	Request, Protocol, Session, User, Policy bool
	UserLinks                                bool
	// RefreshToken is data.refresh_token.
	RefreshToken bool
	// Scopes is data.access.scopes.
	Scopes bool
	// Claims names the claims decoded in data.identity.claims and
	// data.access.claims; the others are skipped. AllClaims decodes all.
	// A token that is minted always has a non-nil Claims map.
	Claims []string
}

// AllClaims, as [Parts.Claims], decodes every claim.
var AllClaims = []string{"*"}

// PartialDecoder decodes token requests, reading only the [Parts] it was
// made for. It is safe for concurrent use; make one and reuse it.
type PartialDecoder struct {
	// opts are the unmarshalers of the reference decode (decodeReference):
	// json/v2 with the skipped types' unmarshalers replaced. nil when
	// every part is decoded.
	opts json.Options

	// What the fast path (decodeFast, fast.go) decodes; parts.Claims is
	// unused, see allClaims and claims.
	parts     Parts
	allClaims bool              // decode every claim
	claims    []string          // the claims decoded, when few
	claimSet  map[string]string // the claims decoded, when many

	// limits are the bounds WithLimits set; zero fields bound nothing.
	limits Limits
}

// NewPartialDecoder returns a decoder for the parts p selects.
func NewPartialDecoder(p Parts) *PartialDecoder {
	var fns []*json.Unmarshalers
	skipUnless := func(keep bool, fn *json.Unmarshalers) {
		if !keep {
			fns = append(fns, fn)
		}
	}
	skipUnless(p.Request, skip[**Request]())
	skipUnless(p.Protocol, skip[**Protocol]())
	skipUnless(p.Session, skip[**Session]())
	skipUnless(p.User, skip[**User]())
	skipUnless(p.UserLinks, skip[*Links]())
	skipUnless(p.Policy, skip[**Policy]())
	skipUnless(p.RefreshToken, skip[**RefreshToken]())
	skipUnless(p.Scopes, skip[*map[string]Scope]())
	if len(p.Claims) != 1 || p.Claims[0] != "*" {
		fns = append(fns, claimsOnly(p.Claims))
	}
	d := &PartialDecoder{parts: p}
	if len(fns) > 0 {
		d.opts = json.WithUnmarshalers(json.JoinUnmarshalers(fns...))
	}
	d.parts.Claims = nil
	if d.allClaims = len(p.Claims) == 1 && p.Claims[0] == "*"; !d.allClaims {
		if len(p.Claims) <= maxClaimList {
			d.claims = slices.Clone(p.Claims)
		} else {
			d.claimSet = make(map[string]string, len(p.Claims))
			for _, n := range p.Claims {
				d.claimSet[n] = n
			}
		}
	}
	return d
}

// maxClaimList is the number of claim names up to which a linear search
// beats a map lookup.
const maxClaimList = 8

// Decode decodes data like [DecodeTokenRequest], skipping the parts the
// decoder was not made for. A decoder made by [PartialDecoder.WithLimits]
// also refuses input over its limits, with a [*LimitError].
//
// It reads the usual request in a single pass of its own, and leaves
// anything else to encoding/json/v2: malformed input, and valid but
// unusual input such as escaped member names, more than 128 members in the
// objects open at once, or nesting deeper than 64. Its results and errors
// are json/v2's either way. The string fields of one object of the
// request (the envelope, a user with its profile, a session, ...) may
// share one allocation, so that holding one of them holds the others,
// never the body.
func (d *PartialDecoder) Decode(data []byte) (*TokenRequest, error) {
	// The fast path (fast.go, scan.go) returns nil for anything it does
	// not vouch for; FuzzPartialDecodeMatchesReference checks that where
	// it returns a request, it is decodeReference's.
	if r := d.decodeFast(data); r != nil {
		return r, nil
	}
	return d.decodeReference(data)
}

// decodeReference is Decode by json/v2 alone: the specification of Decode,
// and its fallback. With limits, a walk over the input's tokens (checkLimits)
// comes first.
func (d *PartialDecoder) decodeReference(data []byte) (*TokenRequest, error) {
	if d.limits != (Limits{}) {
		if err := checkLimits(data, d.limits); err != nil {
			return nil, err
		}
	}
	if d.opts == nil {
		return decodeTokenRequest(data)
	}
	return decodeTokenRequest(data, d.opts)
}

// wantedClaim reports whether a decoder that does not decode all claims
// decodes the claim name, and returns the decoder's copy of the name.
func (d *PartialDecoder) wantedClaim(name []byte) (string, bool) {
	if d.claimSet != nil {
		c, ok := d.claimSet[string(name)]
		return c, ok
	}
	for _, c := range d.claims {
		if c == string(name) {
			return c, true
		}
	}
	return "", false
}

// skip returns an unmarshaler that skips values of type T (a pointer to the
// Go value being decoded).
func skip[T any]() *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, _ T) error { return dec.SkipValue() })
}

// claimsOnly decodes the named claims of a Claims object and skips the rest.
func claimsOnly(names []string) *json.Unmarshalers {
	wanted := make(map[string]bool, len(names))
	for _, n := range names {
		wanted[n] = true
	}
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, c *Claims) error {
		if dec.PeekKind() != '{' {
			return errors.ErrUnsupported // null or a wrong kind: the default reports it
		}
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		claims := Claims{}
		for dec.PeekKind() != '}' {
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			name := tok.String() // before the next read voids tok
			if !wanted[name] {
				if err := dec.SkipValue(); err != nil {
					return err
				}
				continue
			}
			var v any
			if err := json.UnmarshalDecode(dec, &v); err != nil {
				return err
			}
			claims[name] = v
		}
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		*c = claims
		return nil
	})
}

// Limits bound the JSON of a request, for a decoder made by
// [PartialDecoder.WithLimits]. A zero (or negative) field bounds nothing.
//
// Okta's requests nest about six levels deep (more with nested claims), and
// their longest strings are URLs of a few hundred bytes. Limits far above
// that keep a caller from making the hook chew on a megabyte-long claim or
// thousands of nested arrays, and leave Okta's requests on the fast path:
// the fast path checks the nesting at no cost and each string with a
// comparison. A MaxStringBytes under 16 leaves every input to json/v2.
type Limits struct {
	// MaxDepth bounds the nesting of objects and arrays: the request
	// object itself is at depth 1, data at 2, data.context at 3.
	MaxDepth int
	// MaxStringBytes bounds the length of each string, member names
	// included, in bytes after unescaping.
	MaxStringBytes int
}

// WithLimits returns a decoder that decodes what d decodes and refuses input
// over l with a [*LimitError]. d is unchanged.
//
// The limits apply to the whole input, parts skipped included, and to the
// input before its meaning: a request over a limit gets a *LimitError even
// where it has, before that point, a member of the wrong type; JSON that is
// malformed before that point gets the [*DecodeError] it gets without
// limits. Where the error is, it is the first in the input.
func (d *PartialDecoder) WithLimits(l Limits) *PartialDecoder {
	c := *d
	c.limits = Limits{MaxDepth: max(l.MaxDepth, 0), MaxStringBytes: max(l.MaxStringBytes, 0)}
	return &c
}

// Limit names one of [Limits].
type Limit int

const (
	LimitDepth       Limit = iota + 1 // Limits.MaxDepth
	LimitStringBytes                  // Limits.MaxStringBytes
)

func (l Limit) String() string {
	switch l {
	case LimitDepth:
		return "depth"
	case LimitStringBytes:
		return "string bytes"
	}
	return "Limit(" + strconv.Itoa(int(l)) + ")"
}

// LimitError is a request over one of a decoder's [Limits]. Like
// [DecodeError], it says which limit and where, and never quotes the input.
type LimitError struct {
	Limit Limit // which limit the input is over
	Max   int   // the limit's value
	// Offset is the byte offset of the string over the limit (its opening
	// quote), or of the bracket opening one level too many; Line and
	// Column are the same as an editor counts (from 1, columns in bytes).
	Offset       int64
	Line, Column int
	// Pointer is the JSON pointer of the string or of the object or array
	// opened; for a member name, of the object it is in. It is cut short
	// (ending in "…") beyond maxPointerBytes.
	Pointer string
	// Name reports that the string over the limit is a member name.
	Name bool
}

// maxPointerBytes bounds LimitError.Pointer: member names are limited by
// MaxStringBytes only, and errors end up in logs.
const maxPointerBytes = 256

func (e *LimitError) Error() string {
	var what string
	switch {
	case e.Limit == LimitDepth:
		what = "nested deeper than " + strconv.Itoa(e.Max) + " levels at "
	case e.Name:
		what = "a member name longer than " + strconv.Itoa(e.Max) + " bytes in "
	default:
		what = "a string longer than " + strconv.Itoa(e.Max) + " bytes at "
	}
	where := e.Pointer
	if where == "" {
		where = "the top level"
	}
	return "token inline hook request over a limit: " + what + where +
		" (line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ")"
}

// checkLimits is the specification of the limits: it walks data's tokens
// as json/v2 reads them, up to the end of the first value, and returns a
// *LimitError for the first token over l. It returns nil when there is none
// before the end of the value or before a syntax error, which json/v2
// then reports.
//
// The fast path does not call it: it refuses to vouch for input whose
// strings are longer or nesting deeper than l allows (see scanner), and
// FuzzPartialDecodeMatchesReference checks that the two agree.
func checkLimits(data []byte, l Limits) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	var buf []byte // unescaped strings, for their length
	for {
		switch dec.PeekKind() {
		case 0:
			return nil // an error: json/v2 reports it
		case '{', '[':
			if _, err := dec.ReadToken(); err != nil {
				return nil
			}
			if l.MaxDepth > 0 && dec.StackDepth() > l.MaxDepth {
				return newLimitError(data, LimitDepth, l.MaxDepth, dec.InputOffset()-1, dec.StackPointer(), false)
			}
		case '"':
			depth := dec.StackDepth()
			k, n := dec.StackIndex(depth)
			name := k == '{' && n%2 == 0
			v, err := dec.ReadValue()
			if err != nil {
				return nil
			}
			size := len(v) - 2
			if l.MaxStringBytes > 0 && size > l.MaxStringBytes && bytes.IndexByte(v, '\\') >= 0 {
				if buf, err = jsontext.AppendUnquote(buf[:0], v); err != nil {
					return nil // never: ReadValue has validated it
				}
				size = len(buf)
			}
			if l.MaxStringBytes > 0 && size > l.MaxStringBytes {
				p := dec.StackPointer()
				if name {
					p = p.Parent()
				}
				return newLimitError(data, LimitStringBytes, l.MaxStringBytes, dec.InputOffset()-int64(len(v)), p, name)
			}
		default:
			if _, err := dec.ReadToken(); err != nil {
				return nil
			}
		}
		if dec.StackDepth() == 0 {
			return nil // the end of the first value: json/v2 judges the rest
		}
	}
}

func newLimitError(data []byte, l Limit, max int, off int64, p jsontext.Pointer, name bool) *LimitError {
	e := &LimitError{Limit: l, Max: max, Offset: off, Pointer: string(p), Name: name}
	if len(e.Pointer) > maxPointerBytes {
		cut := maxPointerBytes
		for cut > 0 && !utf8.RuneStart(e.Pointer[cut]) {
			cut--
		}
		e.Pointer = e.Pointer[:cut] + "…"
	}
	e.Line, e.Column = lineColumn(data, off)
	return e
}
