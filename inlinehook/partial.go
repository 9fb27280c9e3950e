package inlinehook

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"slices"
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
// decoder was not made for.
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
// and its fallback.
func (d *PartialDecoder) decodeReference(data []byte) (*TokenRequest, error) {
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
