package inlinehook

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
)

// Parts selects the parts of a request a [PartialDecoder] decodes. The
// envelope (eventId, source, ...), which tokens are minted and their
// lifetimes are always decoded. Every part left out is skipped: still checked
// to be well-formed JSON, but not decoded, and left zero (nil) in the result.
//
// Decoding is most of a hook's work: a hook that reads a few fields of Okta's
// 4 KB request saves half its decoding time by skipping the rest.
type Parts struct {
	// Parts of data.context.
	Request, Protocol, Session, User, Policy bool
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
	opts json.Options
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
	skipUnless(p.Policy, skip[**Policy]())
	skipUnless(p.RefreshToken, skip[**RefreshToken]())
	skipUnless(p.Scopes, skip[*map[string]Scope]())
	if len(p.Claims) != 1 || p.Claims[0] != "*" {
		fns = append(fns, claimsOnly(p.Claims))
	}
	d := &PartialDecoder{}
	if len(fns) > 0 {
		d.opts = json.WithUnmarshalers(json.JoinUnmarshalers(fns...))
	}
	return d
}

// Decode decodes data like [DecodeTokenRequest], skipping the parts the
// decoder was not made for.
func (d *PartialDecoder) Decode(data []byte) (*TokenRequest, error) {
	if d.opts == nil {
		return decodeTokenRequest(data)
	}
	return decodeTokenRequest(data, d.opts)
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
