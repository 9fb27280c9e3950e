// Package tokenhook is the hook's core: it turns Okta's token request and the
// user record found for it into the commands of the response.
//
// It knows nothing of HTTP or SQL, so it is tested and benchmarked without
// sockets, and the CLI's dry runs can reuse it. The fixed attribute-to-claim
// mapping of [Mapper] sits behind the [Transformer] interface so that richer
// rules can replace it.
package tokenhook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/user"
)

// Transformer answers one token inline hook request. A nil or empty response
// means there is nothing to do. An error means the answer could not be
// computed (a store failure, say); Okta then issues the token unmodified.
type Transformer interface {
	Transform(ctx context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error)
}

// UserFinder is the part of the users store the core needs.
type UserFinder interface {
	Get(ctx context.Context, key string) (*user.User, error)
}

// Token selects which tokens a [Mapping] writes.
type Token uint8

// Tokens a mapping may write.
const (
	IDToken Token = 1 << iota
	AccessToken
	BothTokens = IDToken | AccessToken
)

// Mapping copies one attribute of the user record into one claim.
type Mapping struct {
	Claim     string
	Attribute string
	Tokens    Token
}

// LookupKey extracts a store key from the request; see [ParseLookupKey].
type LookupKey struct {
	source string
	parts  inlinehook.Parts // what of the request Value reads
	value  func(*inlinehook.TokenRequest) string
}

// Value returns the key in req, or "" when req has none.
func (k LookupKey) Value(req *inlinehook.TokenRequest) string { return k.value(req) }

// String returns the source the key was parsed from.
func (k LookupKey) String() string { return k.source }

// RequestDecoder is implemented by a [Transformer] that reads only part of a
// request: the server decodes the body with it rather than in full, since
// decoding is the largest cost of a hook call. The request it returns must
// still carry what the server's guard reads for the operations the
// transformer answers with: which tokens are minted and, for replace and
// remove operations, the claims they name.
type RequestDecoder interface {
	DecodeRequest(body []byte) (*inlinehook.TokenRequest, error)
}

// Mapper is the default [Transformer]: it looks the request's user up with
// the first non-empty of Keys and copies the mapped attributes of the record
// into claims. No key, no record or no mapped attribute means no command.
type Mapper struct {
	Keys     []LookupKey
	Mappings []Mapping
	Users    UserFinder

	// Precomputed escaped claim paths, one per mapping, so the hot path does
	// not escape the same names on every call.
	paths   []string
	decoder *inlinehook.PartialDecoder
}

var _ RequestDecoder = (*Mapper)(nil)

// NewMapper returns a Mapper over users.
func NewMapper(users UserFinder, keys []LookupKey, mappings []Mapping) *Mapper {
	m := &Mapper{Keys: keys, Mappings: mappings, Users: users, paths: make([]string, len(mappings))}
	for i, mp := range mappings {
		m.paths[i] = inlinehook.ClaimPath(mp.Claim)
	}
	// The mapper reads only what its keys name; its operations are
	// top-level adds, which the guard judges by token and claim name alone.
	var parts inlinehook.Parts
	for _, k := range keys {
		parts = union(parts, k.parts)
	}
	m.decoder = inlinehook.NewPartialDecoder(parts)
	return m
}

// DecodeRequest implements [RequestDecoder].
func (m *Mapper) DecodeRequest(body []byte) (*inlinehook.TokenRequest, error) {
	return m.decoder.Decode(body)
}

func union(a, b inlinehook.Parts) inlinehook.Parts {
	return inlinehook.Parts{
		Request: a.Request || b.Request, Protocol: a.Protocol || b.Protocol,
		Session: a.Session || b.Session, User: a.User || b.User, Policy: a.Policy || b.Policy,
		RefreshToken: a.RefreshToken || b.RefreshToken, Scopes: a.Scopes || b.Scopes,
		Claims: append(append([]string(nil), a.Claims...), b.Claims...),
	}
}

// Transform implements [Transformer].
func (m *Mapper) Transform(ctx context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error) {
	key := m.lookupKey(req)
	if key == "" {
		return nil, nil
	}
	u, err := m.Users.Get(ctx, key)
	if errors.Is(err, user.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up user: %w", err)
	}
	var idOps, accessOps []inlinehook.Operation
	for i, mp := range m.Mappings {
		v, ok := u.Attributes[mp.Attribute]
		if !ok || v == nil {
			continue
		}
		op := inlinehook.Operation{Op: inlinehook.OpAdd, Path: m.paths[i], Value: v}
		if mp.Tokens&IDToken != 0 && req.Data.Identity != nil {
			idOps = append(idOps, op)
		}
		if mp.Tokens&AccessToken != 0 && req.Data.Access != nil {
			accessOps = append(accessOps, op)
		}
	}
	resp := &inlinehook.Response{}
	if len(idOps) > 0 {
		resp.Commands = append(resp.Commands, inlinehook.PatchIdentity(idOps...))
	}
	if len(accessOps) > 0 {
		resp.Commands = append(resp.Commands, inlinehook.PatchAccess(accessOps...))
	}
	return resp, nil
}

func (m *Mapper) lookupKey(req *inlinehook.TokenRequest) string {
	for _, k := range m.Keys {
		if s := k.value(req); s != "" {
			return s
		}
	}
	return ""
}

// ParseLookupKey returns the extractor for a lookup source named as in the
// configuration: data.context.user.profile.login, data.context.user.id,
// data.context.session.login, data.context.protocol.client.id,
// data.identity.claims.NAME or data.access.claims.NAME.
func ParseLookupKey(source string) (LookupKey, error) {
	k := LookupKey{source: source}
	switch source {
	case "data.context.user.profile.login":
		k.parts.User = true
		k.value = func(r *inlinehook.TokenRequest) string {
			if u := r.Data.Context.User; u != nil {
				return u.Profile.Login
			}
			return ""
		}
	case "data.context.user.id":
		k.parts.User = true
		k.value = func(r *inlinehook.TokenRequest) string {
			if u := r.Data.Context.User; u != nil {
				return u.ID
			}
			return ""
		}
	case "data.context.session.login":
		k.parts.Session = true
		k.value = func(r *inlinehook.TokenRequest) string {
			if s := r.Data.Context.Session; s != nil {
				return s.Login
			}
			return ""
		}
	case "data.context.protocol.client.id":
		k.parts.Protocol = true
		k.value = (*inlinehook.TokenRequest).ClientID
	default:
		if name, ok := strings.CutPrefix(source, "data.identity.claims."); ok && name != "" {
			k.parts.Claims = []string{name}
			k.value = func(r *inlinehook.TokenRequest) string { return stringClaim(r.Data.Identity, name) }
		} else if name, ok := strings.CutPrefix(source, "data.access.claims."); ok && name != "" {
			k.parts.Claims = []string{name}
			k.value = func(r *inlinehook.TokenRequest) string { return stringClaim(r.Data.Access, name) }
		} else {
			return LookupKey{}, fmt.Errorf("unknown lookup source %q", source)
		}
	}
	return k, nil
}

func stringClaim(t *inlinehook.Token, name string) string {
	if t == nil {
		return ""
	}
	s, _ := t.Claims.String(name)
	return s
}

// ClaimNames returns the names of the claims a response sets or removes, per
// token, for logs: names only, never values.
func ClaimNames(resp *inlinehook.Response) []string {
	if resp == nil {
		return nil
	}
	var names []string
	for _, c := range resp.Commands {
		prefix := "id:"
		if c.Type == inlinehook.AccessPatch {
			prefix = "access:"
		}
		for _, op := range c.Value {
			names = append(names, prefix+op.Op+":"+strings.TrimPrefix(op.Path, "/claims/"))
		}
	}
	return names
}
