package hookcall

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ClientAssertionType is the client_assertion_type of private_key_jwt
// (RFC 7523).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how long a private_key_jwt client assertion is
// valid. Okta documents nothing; its own rules for such assertions allow at
// most an hour, and a short one limits replay.
const AssertionLifetime = 5 * time.Minute

// maxTokenResponseSize caps what is read from the token endpoint.
const maxTokenResponseSize = 64 << 10

// tokenReuseMargin is how long before its expiry a cached access token is
// no longer used: enough for one hook call within Okta's budget, plus skew.
const tokenReuseMargin = 30 * time.Second

// tokenCache keeps the OAuth access token between calls, as Okta does (its
// release notes mention expired cached tokens being sent, and token answers
// without expiry being refused). A token without expires_in is not kept.
// Concurrent calls that find no token each fetch one; the last one kept
// wins, which is harmless.
type tokenCache struct {
	mu      sync.Mutex
	key     oauthKey
	token   string
	expires time.Time
}

// oauthKey identifies the OAuth configuration a cached token belongs to, so
// a changed Hook never gets a token fetched for the old one.
type oauthKey struct{ authType, tokenURL, clientID, clientSecret, keyID, scope string }

func keyOf(o *OAuth) oauthKey {
	return oauthKey{o.AuthType, o.TokenURL, o.ClientID, o.ClientSecret, o.KeyID, o.Scope}
}

func (c *tokenCache) get(o *OAuth, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == "" || c.key != keyOf(o) || !now.Before(c.expires.Add(-tokenReuseMargin)) {
		return "", false
	}
	return c.token, true
}

func (c *tokenCache) put(o *OAuth, token string, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key, c.token, c.expires = keyOf(o), token, expires
}

// drop forgets token if it is still the cached one: the hook refused it.
func (c *tokenCache) drop(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == token {
		c.token = ""
	}
}

// tokenError is a failure of the token endpoint itself (as opposed to the
// transport). Its message is safe for the System Log: a status and the
// OAuth error code at most, never the body, the secret or a token.
type tokenError struct{ msg string }

func (e *tokenError) Error() string { return e.msg }

// accessToken returns a bearer token for the hook's OAuth scheme, from the
// cache or from the token endpoint.
func (c *Caller) accessToken(ctx context.Context, client *http.Client, o *OAuth) (string, error) {
	now := c.now()
	if tok, ok := c.tokens.get(o, now); ok {
		return tok, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if o.Scope != "" {
		form.Set("scope", o.Scope)
	}
	switch o.AuthType {
	case ClientSecretPost:
		form.Set("client_id", o.ClientID)
		form.Set("client_secret", o.ClientSecret)
	case PrivateKeyJWT:
		assertion, err := ClientAssertion(o, now)
		if err != nil {
			return "", &tokenError{"cannot sign the client assertion: " + err.Error()}
		}
		form.Set("client_assertion_type", ClientAssertionType)
		form.Set("client_assertion", assertion)
	default:
		return "", &tokenError{"unknown OAuth authType"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &tokenError{"invalid token URL"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponseSize))
	if err != nil {
		return "", err
	}
	var answer struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   any    `json:"expires_in"`
		Error       string `json:"error"`
	}
	jsonErr := json.Unmarshal(body, &answer)
	if resp.StatusCode != http.StatusOK {
		msg := "the token endpoint answered status " + strconv.Itoa(resp.StatusCode)
		if jsonErr == nil && isOAuthErrorCode(answer.Error) {
			msg += " (" + answer.Error + ")"
		}
		return "", &tokenError{msg}
	}
	if jsonErr != nil {
		return "", &tokenError{"the token endpoint's answer is not JSON"}
	}
	if answer.AccessToken == "" {
		return "", &tokenError{"the token endpoint's answer has no access_token"}
	}
	if secs, ok := expiresIn(answer.ExpiresIn); ok {
		c.tokens.put(o, answer.AccessToken, now.Add(time.Duration(secs)*time.Second))
	}
	return answer.AccessToken, nil
}

// expiresIn reads expires_in, a number (or, from lax servers, a string).
func expiresIn(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x > 0
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil && n > 0
	}
	return 0, false
}

// isOAuthErrorCode reports whether s looks like an OAuth error code
// (invalid_client, ...), so that quoting it cannot leak anything else.
func isOAuthErrorCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	return true
}

// ClientAssertion returns the private_key_jwt client assertion for o: a
// JWT signed RS256 with o.Key, header kid o.KeyID, claims iss = sub = the
// client id, aud = the token URL, iat = now, exp = now + AssertionLifetime
// and a random jti. Okta documents none of this; it follows Okta's own
// rules for private_key_jwt clients.
func ClientAssertion(o *OAuth, now time.Time) (string, error) {
	if o.Key == nil {
		return "", errors.New("no key")
	}
	var key any = o.Key
	if _, ok := o.Key.(*rsa.PrivateKey); !ok {
		key = cryptosigner.Opaque(o.Key) // an HSM or KMS key, say
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: o.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	claims := jwt.Claims{
		Issuer:   o.ClientID,
		Subject:  o.ClientID,
		Audience: jwt.Audience{o.TokenURL},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(AssertionLifetime)),
		ID:       randomID(),
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// randomID returns 16 random bytes, base64url encoded.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
