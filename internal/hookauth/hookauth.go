// Package hookauth authenticates Okta's call to the hook.
//
// Okta does not sign the request body; it proves itself with a header: a
// static secret of the admin's choosing ([HeaderSecret], or HTTP Basic
// credentials as in Okta's guide, [Basic]) or an OAuth 2.0 access token that
// Okta obtained from an authorization server and sends as "Authorization:
// Bearer <JWT>" ([Bearer]), checked against the issuer's published keys.
//
// Everything here fails closed. Secrets are compared in constant time, so
// response timing tells an attacker nothing about how much of a guess was
// right; a bearer token holds no secret to guess, so there what matters is
// that only the issuer's keys, with an algorithm of the allow-list, can
// vouch for it. Failure reasons are for the operator's log and never quote a
// secret, a token or a claim's value.
package hookauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// ErrUnauthorized is wrapped by every authentication failure. The wrapping
// error's reason is for the operator's log; clients only ever learn
// "unauthorized".
var ErrUnauthorized = errors.New("unauthorized")

// Authenticator decides whether a request comes from Okta.
type Authenticator interface {
	// Authenticate returns nil to accept r, or an error wrapping
	// ErrUnauthorized whose text names the reason (never the secret).
	Authenticate(r *http.Request) error
}

type failure string

func (f failure) Error() string { return string(f) }
func (f failure) Unwrap() error { return ErrUnauthorized }

// mismatch is a failure that only says the request does not use this
// authenticator's scheme (its header is absent, or another scheme's).
// [AnyOf] reports another authenticator's reason before it: for a Bearer
// request, "not Basic" would tell the operator nothing.
type mismatch string

func (m mismatch) Error() string { return string(m) }
func (m mismatch) Unwrap() error { return ErrUnauthorized }

// digest hashes a secret so that comparisons take the same time whatever the
// lengths of the two strings (subtle.ConstantTimeCompare returns early on a
// length mismatch).
func digest(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }

// equal compares two digests in constant time.
func equal(a, b [sha256.Size]byte) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// HeaderSecret accepts requests whose header carries one of several secrets
// verbatim: Okta's "HTTP header" authentication scheme.
type HeaderSecret struct {
	name    string
	secrets [][sha256.Size]byte
}

// NewHeaderSecret returns an authenticator for header name (matched
// case-insensitively, as HTTP does) accepting any of values. Several values
// let an operator rotate the secret: add the new one, switch Okta, drop the
// old one.
func NewHeaderSecret(name string, values ...string) *HeaderSecret {
	h := &HeaderSecret{name: http.CanonicalHeaderKey(name)}
	for _, v := range values {
		h.secrets = append(h.secrets, digest(v))
	}
	return h
}

// Authenticate implements [Authenticator].
func (h *HeaderSecret) Authenticate(r *http.Request) error {
	got := r.Header.Values(h.name)
	switch {
	case len(got) == 0:
		return mismatch("missing " + h.name + " header")
	case len(got) > 1:
		return failure("repeated " + h.name + " header")
	case got[0] == "":
		return failure("empty " + h.name + " header")
	}
	d := digest(got[0])
	ok := false
	for _, s := range h.secrets {
		// No early exit: every configured secret is compared, so timing
		// does not reveal which one (or whether the first) matched.
		if equal(d, s) {
			ok = true
		}
	}
	if !ok {
		return failure("wrong " + h.name + " secret")
	}
	return nil
}

// Basic accepts HTTP Basic credentials in the Authorization header.
type Basic struct {
	user, password [sha256.Size]byte
	// header is the digest of the header Okta sends for these credentials,
	// "Basic " and their canonical base64: what nearly every request
	// carries, checked with one hash before any decoding.
	header [sha256.Size]byte
}

// NewBasic returns an authenticator for one user and password.
func NewBasic(user, password string) *Basic {
	return &Basic{user: digest(user), password: digest(password),
		header: digest("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)))}
}

// Authenticate implements [Authenticator].
func (b *Basic) Authenticate(r *http.Request) error {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return mismatch("missing Authorization header")
	}
	if len(values) > 1 {
		return failure("repeated Authorization header")
	}
	if equal(digest(values[0]), b.header) {
		return nil
	}
	// Any other spelling (a lower-case scheme, extra spaces) is parsed and
	// compared field by field, as before.
	user, password, err := ParseBasic(values[0])
	if err != nil {
		return err
	}
	// Both are compared before either is looked at: a wrong user costs the
	// same time as a wrong password.
	userOK := equal(digest(user), b.user)
	passwordOK := equal(digest(password), b.password)
	if !(userOK && passwordOK) {
		return failure("wrong Basic credentials")
	}
	return nil
}

// ParseBasic parses an Authorization header value of the Basic scheme. The
// scheme name is case-insensitive (RFC 7617); the credentials are strict
// base64 holding "user:password".
func ParseBasic(header string) (user, password string, err error) {
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", mismatch("Authorization header is not Basic")
	}
	raw, decErr := base64.StdEncoding.Strict().DecodeString(strings.TrimLeft(rest, " "))
	if decErr != nil {
		return "", "", failure("malformed Basic credentials (bad base64)")
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", failure("malformed Basic credentials (no colon)")
	}
	return user, password, nil
}

// AnyOf accepts a request that any of its authenticators accepts. The reason
// reported on failure is the first authenticator's whose scheme the request
// uses, else the first authenticator's. An empty AnyOf accepts nothing.
type AnyOf []Authenticator

// Authenticate implements [Authenticator].
func (a AnyOf) Authenticate(r *http.Request) error {
	if len(a) == 0 {
		return failure("no authentication configured")
	}
	var first, specific error
	for _, x := range a {
		err := x.Authenticate(r)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
		var m mismatch
		if specific == nil && !errors.As(err, &m) {
			specific = err
		}
	}
	if specific != nil {
		return specific
	}
	return first
}
