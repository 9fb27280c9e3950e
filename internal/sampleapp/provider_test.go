package sampleapp_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testProvider is a minimal OpenID Connect provider: discovery, keys, an
// /authorize that signs the user in at once, /token with PKCE and client
// authentication checks, userinfo and end-session. Its exported-style
// fields are knobs a test sets before driving a flow.
type testProvider struct {
	t            testing.TB
	srv          *httptest.Server
	issuer       string
	key          *rsa.PrivateKey
	clientID     string
	clientSecret string

	mu sync.Mutex
	// Knobs.
	signWith         *rsa.PrivateKey // signs the ID token; nil means key
	nonceOverride    string          // put this nonce in the ID token instead
	authorizeError   [2]string       // error, error_description sent to the redirect URI
	tokenError       [2]string       // error, error_description from /token
	authMethods      []string        // token_endpoint_auth_methods_supported; nil omits it
	noEndSession     bool            // no end_session_endpoint in discovery
	discoveredIssuer string          // issuer stated by discovery; "" means the real one
	// Records.
	authorizations []url.Values
	grants         map[string]grant // by code
	tokenCalls     int
	idToken        string         // the last ID token issued
	idClaims       map[string]any // its claims
	accessToken    string
	endSessions    []url.Values
}

type grant struct {
	redirectURI, nonce, challenge string
}

const (
	testClientID     = "0oa-sample-client"
	testClientSecret = "s3cret-value"
	testKeyID        = "test-key"
)

// newTestProvider starts a provider. ln, when not nil, is the listener to
// serve on (a test that starts the provider late picks its address first).
func newTestProvider(t testing.TB, ln net.Listener) *testProvider {
	t.Helper()
	p := &testProvider{
		t:            t,
		key:          newRSAKey(t),
		clientID:     testClientID,
		clientSecret: testClientSecret,
		grants:       map[string]grant{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.keys)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	mux.HandleFunc("GET /logout", p.endSession)
	p.srv = httptest.NewUnstartedServer(mux)
	if ln != nil {
		p.srv.Listener.Close()
		p.srv.Listener = ln
	}
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	p.issuer = p.srv.URL
	return p
}

func newRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (p *testProvider) discovery(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	doc := map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                p.issuer + "/authorize",
		"token_endpoint":                        p.issuer + "/token",
		"jwks_uri":                              p.issuer + "/keys",
		"userinfo_endpoint":                     p.issuer + "/userinfo",
		"response_types_supported":              []string{"code"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	}
	if p.discoveredIssuer != "" {
		doc["issuer"] = p.discoveredIssuer
	}
	if !p.noEndSession {
		doc["end_session_endpoint"] = p.issuer + "/logout"
	}
	if p.authMethods != nil {
		doc["token_endpoint_auth_methods_supported"] = p.authMethods
	}
	writeJSON(w, http.StatusOK, doc)
}

func (p *testProvider) keys(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.key.PublicKey, KeyID: testKeyID, Algorithm: "RS256", Use: "sig"},
	}})
}

// authorize signs the user in at once and redirects back with a code, or
// with the configured error.
func (p *testProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authorizations = append(p.authorizations, q)
	if q.Get("client_id") != p.clientID || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorize request", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || back.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := url.Values{"state": {q.Get("state")}}
	if p.authorizeError[0] != "" {
		v.Set("error", p.authorizeError[0])
		v.Set("error_description", p.authorizeError[1])
	} else {
		code := rand.Text()
		p.grants[code] = grant{redirectURI: back.String(), nonce: q.Get("nonce"), challenge: q.Get("code_challenge")}
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// clientAuthenticated checks the client's credentials the way discovery
// advertised.
func (p *testProvider) clientAuthenticated(r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	postOnly := p.authMethods != nil && !slices.Contains(p.authMethods, "client_secret_basic")
	if basic && !postOnly {
		return id == p.clientID && secret == p.clientSecret
	}
	if !basic && r.PostForm.Get("client_secret") != "" {
		return r.PostForm.Get("client_id") == p.clientID && r.PostForm.Get("client_secret") == p.clientSecret
	}
	return false
}

func (p *testProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenCalls++
	if !p.clientAuthenticated(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if p.tokenError[0] != "" {
		oauthError(w, http.StatusBadRequest, p.tokenError[0], p.tokenError[1])
		return
	}
	code := r.PostForm.Get("code")
	g, ok := p.grants[code]
	delete(p.grants, code) // one use
	if r.PostForm.Get("grant_type") != "authorization_code" || !ok || r.PostForm.Get("redirect_uri") != g.redirectURI {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "bad code or redirect_uri")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}
	now := time.Now()
	access := map[string]any{
		"ver": 1, "jti": "AT." + rand.Text(), "iss": p.issuer, "aud": "api://default",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "cid": p.clientID,
		"uid": "00u1abcd", "scp": []string{"openid", "profile", "email"}, "sub": "jessie.smith@example.com",
		"patientId": "1235",
	}
	p.accessToken = p.sign(p.key, access)
	atHash := sha256.Sum256([]byte(p.accessToken))
	nonce := g.nonce
	if p.nonceOverride != "" {
		nonce = p.nonceOverride
	}
	p.idClaims = map[string]any{
		"iss": p.issuer, "aud": p.clientID, "sub": "00u1abcd",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "auth_time": now.Unix(),
		"nonce": nonce, "at_hash": base64.RawURLEncoding.EncodeToString(atHash[:16]),
		"name": "Jessie Smith", "preferred_username": "jessie.smith@example.com",
		"email": "jessie.smith@example.com", "email_verified": true,
		"patientId": "1235",
		"groups":    []string{"Everyone", "Patients <&>"},
		"address":   map[string]any{"locality": "Springfield", "country": "US"},
		"big":       int64(9007199254740993), // 2^53+1: must not lose precision
	}
	signer := p.key
	if p.signWith != nil {
		signer = p.signWith
	}
	p.idToken = p.sign(signer, p.idClaims)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": p.accessToken, "token_type": "Bearer", "expires_in": 3600,
		"scope": "openid profile email", "id_token": p.idToken,
	})
}

// sign makes a compact JWS with key under the provider's key id (so a
// token signed with another key looks like ours until verified).
func (p *testProvider) sign(key *rsa.PrivateKey, claims map[string]any) string {
	p.t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: testKeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		p.t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		p.t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		p.t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		p.t.Fatal(err)
	}
	return raw
}

func (p *testProvider) userinfo(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.accessToken == "" || r.Header.Get("Authorization") != "Bearer "+p.accessToken {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sub": "00u1abcd", "name": "Jessie Smith", "email": "jessie.smith@example.com", "zoneinfo": "America/Los_Angeles",
	})
}

func (p *testProvider) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.endSessions = append(p.endSessions, q)
	p.mu.Unlock()
	target := q.Get("post_logout_redirect_uri")
	if target == "" {
		target = p.issuer
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// lastIDClaims returns a copy of the claims of the last ID token issued.
func (p *testProvider) lastIDClaims() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.idClaims)
}

// with runs f under the provider's lock: to set knobs or read records.
func (p *testProvider) with(f func(p *testProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *testProvider) tokenCallCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenCalls
}
