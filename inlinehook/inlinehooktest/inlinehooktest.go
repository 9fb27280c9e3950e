// Package inlinehooktest builds realistic Okta token inline hook requests for
// the tests of hook authors.
//
// [NewRequest] returns, for each grant type, a request shaped like the one
// Okta sends: the same envelope, context, tokens, claims and scopes, with
// deterministic identifiers, so tests and golden files are stable. With no
// options it returns exactly the fixture of the same name in the
// inlinehook package's testdata/requests directory. Options change the user,
// the scopes, the claims, which tokens are minted and so on; anything else can
// be changed on the returned value, which the caller owns.
//
// Where Okta documents no sample (every grant but implicit), the shapes follow
// the inferences of the project's contract: client credentials carry no user,
// no session and no ID token, and the access token's sub is the client id;
// refresh-token requests carry OriginalGrant and no session; password requests
// carry the user and no session; /token-triggered requests echo no form
// parameters in the request URL.
package inlinehooktest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json/v2"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// GrantType is the OAuth 2.0 flow a request is built for.
type GrantType string

// The grant types NewRequest builds. Their values are the fixture names.
const (
	// AuthorizationCode: the hook runs while /authorize is processed (GET),
	// and Okta sends no grant_type, as in a captured code-flow request.
	AuthorizationCode GrantType = "authorization_code"
	// Implicit: /authorize with response_type "token id_token", the shape
	// of Okta's only documented sample.
	Implicit GrantType = "implicit"
	// RefreshToken: POST /token with grant_type refresh_token.
	RefreshToken GrantType = "refresh_token"
	// ClientCredentials: POST /token by a service app; no user.
	ClientCredentials GrantType = "client_credentials"
	// Password: POST /token with grant_type password.
	Password GrantType = "password"
)

// Grants returns the grant types NewRequest builds.
func Grants() []GrantType {
	return []GrantType{AuthorizationCode, Implicit, RefreshToken, ClientCredentials, Password}
}

// Defaults of NewRequest.
const (
	// DefaultIssuer is the custom authorization server's issuer.
	DefaultIssuer = "https://example.okta.com/oauth2/default"
	// DefaultLogin is the user: the first patient of Okta's token hook guide.
	DefaultLogin = "jessie.smith@example.com"
	// DefaultLifetime is each token's lifetime in seconds.
	DefaultLifetime = 3600
	// DefaultAudience is the access token's aud.
	DefaultAudience = "api://default"
	// DefaultRedirectURI is the web app's redirect URI, the guide's sample
	// app's.
	DefaultRedirectURI = "http://localhost:8080/authorization-code/callback"
	// DefaultEventTime is the eventTime of requests built without
	// [WithTime].
	DefaultEventTime = "2026-03-02T15:04:05.000Z"
)

const eventTimeLayout = "2006-01-02T15:04:05.000Z"

// Option changes what NewRequest builds.
type Option func(*config)

type config struct {
	grant            GrantType
	issuer           string
	login            string
	scopes           []string
	noIdentity       bool
	noAccess         bool
	identityClaims   inlinehook.Claims
	accessClaims     inlinehook.Claims
	clientID         string
	clientName       string
	now              time.Time
	identityLifetime int
	accessLifetime   int
	refreshJTI       string
}

// WithLogin sets the user's login (and email); the user id and names derive
// from it: "kim.sato@example.com" is Kim Sato. Ignored for client
// credentials, which have no user.
func WithLogin(login string) Option { return func(c *config) { c.login = login } }

// WithScopes sets the granted scopes. An ID token is minted only when they
// include openid, a refresh token only when they include offline_access
// (and the grant issues one), and the profile and email scopes decide which
// profile claims the ID token carries.
func WithScopes(scopes ...string) Option {
	return func(c *config) { c.scopes = slices.Clone(scopes) }
}

// WithClaims sets claims in the ID token (identity) and the access token
// (access), over the ones NewRequest puts there. Either may be nil. Claims
// of a token that is not minted are ignored.
func WithClaims(identity, access inlinehook.Claims) Option {
	return func(c *config) {
		for k, v := range identity {
			if c.identityClaims == nil {
				c.identityClaims = inlinehook.Claims{}
			}
			c.identityClaims[k] = v
		}
		for k, v := range access {
			if c.accessClaims == nil {
				c.accessClaims = inlinehook.Claims{}
			}
			c.accessClaims[k] = v
		}
	}
}

// WithoutIdentity mints no ID token (data.identity is absent), as when the
// client asks for no openid scope or, in the implicit flow, for
// response_type "token".
func WithoutIdentity() Option { return func(c *config) { c.noIdentity = true } }

// WithoutAccess mints no access token (data.access is absent), as in the
// implicit flow with response_type "id_token".
func WithoutAccess() Option { return func(c *config) { c.noAccess = true } }

// WithClient sets the OAuth client's id and name.
func WithClient(id, name string) Option {
	return func(c *config) { c.clientID, c.clientName = id, name }
}

// WithIssuer sets the authorization server's issuer URI, e.g.
// "https://acme.okta.com/oauth2/aus1a2b3c4". The endpoints derive from it.
func WithIssuer(issuer string) Option {
	return func(c *config) { c.issuer = strings.TrimRight(issuer, "/") }
}

// WithLifetimes sets the ID and access tokens' lifetimes in seconds.
func WithLifetimes(identity, access int) Option {
	return func(c *config) { c.identityLifetime, c.accessLifetime = identity, access }
}

// WithTime sets the eventTime; the session and auth_time precede it.
func WithTime(t time.Time) Option { return func(c *config) { c.now = t.UTC() } }

// WithRefreshToken makes the request carry data.refresh_token with jti
// (and, for the refresh_token grant, OriginalGrant.refresh_token), whatever
// the scopes.
func WithRefreshToken(jti string) Option { return func(c *config) { c.refreshJTI = jti } }

func defaultTime() time.Time {
	t, err := time.Parse(eventTimeLayout, DefaultEventTime)
	if err != nil {
		panic(err)
	}
	return t
}

// NewRequest returns a token inline hook request for grant, as Okta would
// send it. It panics for a grant type not in [Grants].
func NewRequest(grant GrantType, opts ...Option) *inlinehook.TokenRequest {
	c := &config{
		grant:            grant,
		issuer:           DefaultIssuer,
		login:            DefaultLogin,
		now:              defaultTime(),
		identityLifetime: DefaultLifetime,
		accessLifetime:   DefaultLifetime,
	}
	switch grant {
	case AuthorizationCode, Implicit:
		c.scopes = []string{"openid", "profile", "email"}
	case RefreshToken, Password:
		c.scopes = []string{"openid", "profile", "email", "offline_access"}
	case ClientCredentials:
		c.scopes = []string{"patients.read"}
	default:
		panic("inlinehooktest: unknown grant type " + string(grant))
	}
	switch grant {
	case Implicit:
		c.clientID, c.clientName = id("0oa", 20, "client", "spa"), "Patient Portal SPA"
	case ClientCredentials:
		c.clientID, c.clientName = id("0oa", 20, "client", "service"), "Patient Records Sync"
	default:
		c.clientID, c.clientName = id("0oa", 20, "client", "web"), "Patient Portal"
	}
	for _, o := range opts {
		o(c)
	}
	return c.build()
}

func (c *config) has(scope string) bool { return slices.Contains(c.scopes, scope) }

func (c *config) build() *inlinehook.TokenRequest {
	org := c.issuer
	if u, err := url.Parse(c.issuer); err == nil && u.Host != "" {
		org = u.Scheme + "://" + u.Host
	}
	seed := string(c.grant) + "|" + c.login + "|" + c.clientID
	hasUser := c.grant != ClientCredentials
	authorize := c.grant == AuthorizationCode || c.grant == Implicit
	mintID := hasUser && c.has("openid") && !c.noIdentity
	mintAT := !c.noAccess
	refresh := c.refreshJTI != "" ||
		(c.has("offline_access") && (c.grant == AuthorizationCode || c.grant == RefreshToken || c.grant == Password))
	refreshJTI := c.refreshJTI
	if refresh && refreshJTI == "" {
		refreshJTI = id("oar", 20, "refresh", c.login, c.clientID)
	}

	orgID := id("00o", 20, "org", org)
	userID := id("00u", 20, "user", org, c.login)
	first, last := names(c.login)
	scope := strings.Join(c.scopes, " ")
	state := id("", 16, "state", seed)
	nonce := id("", 16, "nonce", seed)
	created := c.now.Add(-2 * time.Minute)
	authTime := float64(created.Unix())
	clientType := "CONFIDENTIAL"
	if c.grant == Implicit {
		clientType = "PUBLIC"
	}

	req := &inlinehook.TokenRequest{
		EventID:           b64(16, "event", seed, c.now.String()),
		EventTime:         c.now.Format(eventTimeLayout),
		EventTypeVersion:  "1.0",
		CloudEventVersion: "0.1",
		ContentType:       "application/json",
		EventType:         inlinehook.EventTypeTokenTransform,
	}
	ctx := &req.Data.Context
	ctx.Request = &inlinehook.Request{
		ID:        b64(20, "request", seed, c.now.String()),
		IPAddress: "203.0.113.24",
	}
	protoReq := &inlinehook.ProtocolRequest{ClientID: c.clientID, Scope: scope}
	if authorize {
		responseType, responseMode := "code", "query"
		if c.grant == Implicit {
			var types []string
			if mintAT {
				types = append(types, "token")
			}
			if mintID {
				types = append(types, "id_token")
			}
			responseType, responseMode = strings.Join(types, " "), "fragment"
		}
		redirect := DefaultRedirectURI
		if c.grant == Implicit {
			redirect = "http://localhost:8080/login/callback"
		}
		protoReq.RedirectURI = redirect
		protoReq.ResponseMode = responseMode
		protoReq.ResponseType = responseType
		protoReq.State = state
		q := []string{
			"client_id=" + url.QueryEscape(c.clientID),
			"response_type=" + url.QueryEscape(responseType),
			"scope=" + url.QueryEscape(scope),
			"redirect_uri=" + url.QueryEscape(redirect),
			"state=" + state,
			"nonce=" + nonce,
		}
		if c.grant == AuthorizationCode {
			q = append(q, "code_challenge="+b64(32, "pkce", seed), "code_challenge_method=S256")
		}
		req.Source = c.issuer + "/v1/authorize"
		ctx.Request.Method = http.MethodGet
		ctx.Request.URL = &inlinehook.URL{Value: req.Source + "?" + strings.Join(q, "&")}
	} else {
		protoReq.GrantType = string(c.grant)
		req.Source = c.issuer + "/v1/token"
		ctx.Request.Method = http.MethodPost
		ctx.Request.URL = &inlinehook.URL{Value: req.Source}
	}
	ctx.Protocol = &inlinehook.Protocol{
		Type:    "OAUTH2.0",
		Request: protoReq,
		Issuer:  &inlinehook.Issuer{URI: c.issuer},
		Client:  &inlinehook.Client{ID: c.clientID, Name: c.clientName, Type: clientType},
	}
	if c.grant == RefreshToken {
		og := &inlinehook.OriginalGrant{Authorization: &inlinehook.ProtocolRequest{
			ClientID:     c.clientID,
			RedirectURI:  DefaultRedirectURI,
			ResponseMode: "query",
			ResponseType: "code",
			Scope:        scope,
			State:        id("", 16, "state", "original", seed),
		}}
		if refresh {
			og.RefreshToken = &inlinehook.RefreshToken{JTI: refreshJTI}
		}
		ctx.Protocol.OriginalGrant = og
	}
	if authorize {
		f := false
		ts := created.Format(eventTimeLayout)
		ctx.Session = &inlinehook.Session{
			ID:                       id("102", 25, "session", seed),
			UserID:                   userID,
			Login:                    c.login,
			CreatedAt:                ts,
			ExpiresAt:                created.Add(2 * time.Hour).Format(eventTimeLayout),
			Status:                   "ACTIVE",
			LastPasswordVerification: ts,
			AMR:                      []string{"PASSWORD"},
			IDP:                      &inlinehook.IDP{ID: orgID, Type: "OKTA"},
			MFAActive:                &f,
		}
	}
	if hasUser {
		ctx.User = &inlinehook.User{
			ID:              userID,
			PasswordChanged: "2025-11-17T09:30:12.000Z",
			Profile: inlinehook.Profile{
				Login:     c.login,
				FirstName: first,
				LastName:  last,
				Locale:    "en_US",
				TimeZone:  "America/Los_Angeles",
			},
			Links: map[string]any{
				"groups":  map[string]any{"href": org + "/api/v1/users/" + userID + "/groups"},
				"factors": map[string]any{"href": org + "/api/v1/users/" + userID + "/factors"},
			},
		}
	}
	ctx.Policy = &inlinehook.Policy{
		ID:   id("00p", 20, "policy", c.issuer),
		Rule: &inlinehook.PolicyRule{ID: id("0pr", 20, "rule", c.issuer)},
	}

	if mintID {
		claims := inlinehook.Claims{
			"sub":       userID,
			"ver":       float64(1),
			"iss":       c.issuer,
			"aud":       c.clientID,
			"jti":       "ID." + b64(32, "id_token", seed),
			"amr":       []any{"pwd"},
			"idp":       orgID,
			"auth_time": authTime,
		}
		if c.has("profile") {
			claims["name"] = strings.TrimSpace(first + " " + last)
			claims["preferred_username"] = c.login
		}
		if c.has("email") {
			claims["email"] = c.login
		}
		if authorize {
			claims["nonce"] = nonce
		}
		for k, v := range c.identityClaims {
			claims[k] = v
		}
		req.Data.Identity = &inlinehook.Token{Claims: claims}
		req.Data.Identity.Token.Lifetime.Expiration = c.identityLifetime
	}
	if mintAT {
		claims := inlinehook.Claims{
			"ver": float64(1),
			"jti": "AT." + b64(32, "access_token", seed),
			"iss": c.issuer,
			"aud": DefaultAudience,
			"cid": c.clientID,
		}
		if hasUser {
			claims["uid"] = userID
			claims["sub"] = c.login
			claims["auth_time"] = authTime
		} else {
			claims["sub"] = c.clientID
		}
		for k, v := range c.accessClaims {
			claims[k] = v
		}
		scopes := make(map[string]inlinehook.Scope, len(c.scopes))
		for _, s := range c.scopes {
			scopes[s] = inlinehook.Scope{ID: id("scp", 20, "scope", c.issuer, s), Action: "GRANT"}
		}
		req.Data.Access = &inlinehook.Token{Claims: claims, Scopes: scopes}
		req.Data.Access.Token.Lifetime.Expiration = c.accessLifetime
	}
	if refresh {
		req.Data.RefreshToken = &inlinehook.RefreshToken{JTI: refreshJTI}
	}
	return req
}

// names derives a first and a last name from a login: "kim.sato@x" is
// "Kim", "Sato".
func names(login string) (first, last string) {
	local, _, _ := strings.Cut(login, "@")
	first, last, _ = strings.Cut(local, ".")
	return title(first), title(last)
}

func title(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// id returns a deterministic Okta-style identifier of n characters: prefix,
// then base62 digits derived from the seeds.
func id(prefix string, n int, seeds ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(seeds, "\x00")))
	v := new(big.Int).SetBytes(sum[:])
	base := big.NewInt(62)
	var b strings.Builder
	b.WriteString(prefix)
	var m big.Int
	for b.Len() < n {
		v.DivMod(v, base, &m)
		b.WriteByte(base62[m.Int64()])
	}
	return b.String()
}

// b64 returns n deterministic bytes derived from the seeds, base64url
// encoded without padding.
func b64(n int, seeds ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(seeds, "\x00")))
	return base64.RawURLEncoding.EncodeToString(sum[:n])
}

// MustJSON encodes req as compact JSON with map keys sorted, failing the
// test if it cannot.
func MustJSON(tb testing.TB, req *inlinehook.TokenRequest) []byte {
	tb.Helper()
	b, err := json.Marshal(req, json.Deterministic(true))
	if err != nil {
		tb.Fatalf("inlinehooktest: encode request: %v", err)
	}
	return b
}

// NewHTTPRequest returns an incoming server request that POSTs req to target
// the way Okta does (JSON body, Accept and Content-Type application/json),
// for use with [httptest.NewRecorder] and a hook's handler.
func NewHTTPRequest(tb testing.TB, target string, req *inlinehook.TokenRequest) *http.Request {
	tb.Helper()
	r := httptest.NewRequestWithContext(tb.Context(), http.MethodPost, target, bytes.NewReader(MustJSON(tb, req)))
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Content-Type", "application/json")
	return r
}
