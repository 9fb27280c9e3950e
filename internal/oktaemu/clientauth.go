package oktaemu

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// Client assertion rules (private_key_jwt, RFC 7523 §3 and OpenID Connect
// Core §9), as Okta documents them: exp at most an hour ahead; iat and jti
// optional, a jti single use.
const (
	// maxAssertionLifetime bounds exp − now and, with an iat, exp − iat.
	maxAssertionLifetime = time.Hour
	// assertionSkew is how far in the future an iat or nbf may be: clocks
	// differ a little.
	assertionSkew = time.Minute
)

// assertionAlgs are the algorithms a client assertion may be signed with.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// assertionError is an invalid_client for a client assertion, with its
// reason: Okta's words where known.
func assertionError(desc string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: desc}
}

// assertionClient authenticates a private_key_jwt client by its
// client_assertion: a JWT signed with one of the client's keys (by kid,
// which may be left out when the client has one key), iss = sub = the
// client id, aud = the URL of the endpoint invoked or the issuer, exp in
// the future and at most an hour ahead (and after iat), a jti not seen
// before. Nothing of the assertion is logged: only the client id of a
// configured client.
func (e *Emulator) assertionClient(r *http.Request) (*Client, *oauthError) {
	form := r.PostForm
	if form.Get("client_assertion_type") != hookcall.ClientAssertionType {
		e.logger.Info("client authentication failed", "method", AuthPrivateKeyJWT)
		return nil, assertionError("The client_assertion_type is invalid.")
	}
	raw := form.Get("client_assertion")
	if raw == "" {
		e.logger.Info("client authentication failed", "method", AuthPrivateKeyJWT)
		return nil, assertionError("The client_assertion parameter is required.")
	}
	tok, err := jwt.ParseSigned(raw, assertionAlgs)
	if err != nil || len(tok.Headers) != 1 {
		e.logger.Info("client authentication failed", "method", AuthPrivateKeyJWT)
		return nil, assertionError("The client_assertion must be a JWT signed with RS256 or ES256.")
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		e.logger.Info("client authentication failed", "method", AuthPrivateKeyJWT)
		return nil, assertionError("The client_assertion must be a JWT signed with RS256 or ES256.")
	}
	// The client: client_id when sent (RFC 7523 §3 allows it), else the
	// assertion's subject. Its signature is checked next.
	id := form.Get("client_id")
	if id == "" {
		id = claims.Subject
	}
	c := e.as.clients[id]
	if c == nil || c.TokenEndpointAuthMethod != AuthPrivateKeyJWT {
		e.logger.Info("client authentication failed", "method", AuthPrivateKeyJWT)
		return nil, errInvalidClient()
	}
	fail := func(desc string) (*Client, *oauthError) {
		e.logger.Info("client authentication failed", "client_id", c.ID, "method", AuthPrivateKeyJWT)
		return nil, assertionError(desc)
	}

	key, oe := e.assertionKey(c, tok.Headers[0])
	if oe != nil {
		return fail(oe.description)
	}
	claims = jwt.Claims{}
	if err := tok.Claims(key.key, &claims); err != nil {
		return fail("The client_assertion signature is invalid.")
	}

	if claims.Issuer != c.ID || claims.Subject != c.ID {
		return fail("The iss and sub claims of the client_assertion must both be the client_id.")
	}
	endpoint := e.as.issuer + strings.TrimPrefix(r.URL.Path, e.prefix)
	if !claims.Audience.Contains(endpoint) && !claims.Audience.Contains(e.as.issuer) {
		return fail("The audience claim for client_assertion must be the endpoint invoked for the request.")
	}
	now := e.now()
	if claims.Expiry == nil {
		return fail("The client_assertion token must have an exp claim.")
	}
	exp := claims.Expiry.Time()
	switch {
	case !now.Before(exp):
		return fail("The client_assertion token is expired.")
	case exp.Sub(now) > maxAssertionLifetime,
		claims.IssuedAt != nil && exp.Sub(claims.IssuedAt.Time()) > maxAssertionLifetime:
		return fail("The client_assertion token has an expiration too far into the future.")
	case claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(assertionSkew)):
		return fail("The client_assertion token was issued in the future.")
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(assertionSkew)):
		return fail("The client_assertion token is not valid yet.")
	}
	// A jti is single use for as long as the assertion is valid. Okta
	// makes it optional; without one an assertion can be replayed until it
	// expires.
	if claims.ID != "" && !e.assertionIDs.putNew(c.ID+"\x00"+claims.ID, struct{}{}, exp) {
		return fail("The client_assertion token has already been used.")
	}
	return c, nil
}

// assertionKey picks the client key an assertion's header names: by kid;
// without a kid, the client's only key. The key must be of the header's
// algorithm.
func (e *Emulator) assertionKey(c *Client, h jose.Header) (clientKey, *oauthError) {
	keys := e.clientKeys[c.ID]
	var k clientKey
	switch i := slices.IndexFunc(keys, func(k clientKey) bool { return k.kid == h.KeyID }); {
	case h.KeyID == "" && len(keys) == 1:
		k = keys[0]
	case h.KeyID == "" || i < 0:
		return clientKey{}, assertionError("The client_assertion JWT kid is invalid.")
	default:
		k = keys[i]
	}
	if string(k.alg) != h.Algorithm {
		return clientKey{}, assertionError("The client_assertion signature is invalid.")
	}
	return k, nil
}
