package hookauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokenhook/tokenhook/internal/hookauth"
)

// The hook's authorization server, as Okta's guide sets it up: a custom
// scope, a service app as the client.
const (
	testAudience = "api://tokenhook"
	testScope    = "tokenhook.invoke"
	testClient   = "0oa1hookclient"
	issuerPath   = "/oauth2/aus1hook"
	jwksPath     = issuerPath + "/v1/keys"
)

// testNow is the fake clock's time in the tests that do not run in a
// synctest bubble.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testKeyring struct {
	rsa1, rsa2, evil, small *rsa.PrivateKey
	ec1                     *ecdsa.PrivateKey
}

// keyring generates the test keys once per process: k1 and e1 are the
// issuer's, k2 its next key, evil the attacker's, small too short to trust.
var keyring = sync.OnceValue(func() testKeyring {
	gen := func(bits int) *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		return k
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return testKeyring{rsa1: gen(2048), rsa2: gen(2048), evil: gen(2048), small: gen(1024), ec1: ec}
})

func publicJWK(key any, kid string) jose.JSONWebKey {
	var pub any
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	default:
		pub = key
	}
	return jose.JSONWebKey{Key: pub, KeyID: kid, Use: "sig"}
}

// testIssuer is a fake authorization server: discovery documents and a
// JWKS, with switches for outages and slowness and counters of hits.
type testIssuer struct {
	base   string // the issuer, e.g. https://issuer.test/oauth2/aus1hook
	client *http.Client

	mu        sync.Mutex
	jwks      []byte
	down      bool          // every answer is 503
	delay     time.Duration // before every answer
	oidc      bool          // serve /.well-known/openid-configuration
	oauth     bool          // serve /.well-known/oauth-authorization-server
	docIssuer string        // issuer named in the documents; "" for base
	redirect  string        // if set, the JWKS path redirects there

	jwksHits, oidcHits, oauthHits, otherHits atomic.Int64
}

func newTestIssuer() *testIssuer {
	kr := keyring()
	is := &testIssuer{oidc: true, oauth: true}
	is.setKeys(publicJWK(kr.rsa1, "k1"), publicJWK(kr.ec1, "e1"))
	return is
}

// newMemIssuer serves through an in-memory transport: no sockets, so it
// works inside a synctest bubble.
func newMemIssuer() *testIssuer {
	is := newTestIssuer()
	is.base = "https://issuer.test" + issuerPath
	is.client = &http.Client{Transport: is}
	return is
}

// newHTTPIssuer serves on a real local socket.
func newHTTPIssuer(t testing.TB) *testIssuer {
	is := newTestIssuer()
	srv := httptest.NewServer(is)
	t.Cleanup(srv.Close)
	is.base = srv.URL + issuerPath
	is.client = srv.Client()
	return is
}

func (is *testIssuer) setKeys(keys ...any) {
	set := map[string][]any{"keys": keys}
	b, err := json.Marshal(set)
	if err != nil {
		panic(err)
	}
	is.setJWKS(b)
}

func (is *testIssuer) setJWKS(b []byte) {
	is.mu.Lock()
	is.jwks = b
	is.mu.Unlock()
}

func (is *testIssuer) setDown(down bool) {
	is.mu.Lock()
	is.down = down
	is.mu.Unlock()
}

func (is *testIssuer) setDelay(d time.Duration) {
	is.mu.Lock()
	is.delay = d
	is.mu.Unlock()
}

func (is *testIssuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	is.mu.Lock()
	down, delay, jwks, oidc, oauth, redirect := is.down, is.delay, is.jwks, is.oidc, is.oauth, is.redirect
	docIssuer := is.docIssuer
	is.mu.Unlock()
	if docIssuer == "" {
		docIssuer = is.base
	}
	switch r.URL.Path {
	case jwksPath:
		is.jwksHits.Add(1)
	case issuerPath + "/.well-known/openid-configuration":
		is.oidcHits.Add(1)
		if !oidc {
			http.NotFound(w, r)
			return
		}
	case issuerPath + "/.well-known/oauth-authorization-server":
		is.oauthHits.Add(1)
		if !oauth {
			http.NotFound(w, r)
			return
		}
	default:
		is.otherHits.Add(1)
		http.NotFound(w, r)
		return
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path == jwksPath {
		if redirect != "" {
			http.Redirect(w, r, redirect, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"issuer": docIssuer, "jwks_uri": is.base + "/v1/keys"})
}

// RoundTrip serves a request in memory. It honours the request's context,
// as a real transport would.
func (is *testIssuer) RoundTrip(r *http.Request) (*http.Response, error) {
	done := make(chan *http.Response, 1)
	go func() {
		rec := httptest.NewRecorder()
		is.ServeHTTP(rec, r)
		done <- rec.Result()
	}()
	select {
	case resp := <-done:
		return resp, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// config is the bearer configuration the tests start from.
func (is *testIssuer) config() hookauth.BearerConfig {
	return hookauth.BearerConfig{
		Issuer:         is.base,
		JWKSURI:        is.base + "/v1/keys",
		Audience:       []string{"api://other", testAudience},
		Scope:          testScope,
		ClientIDs:      []string{testClient},
		Algorithms:     []string{"RS256", "ES256"},
		Leeway:         30 * time.Second,
		KeysRefreshMin: 30 * time.Second,
		HTTPClient:     is.client,
	}
}

func (is *testIssuer) bearer(t testing.TB, mod func(*hookauth.BearerConfig)) *hookauth.Bearer {
	t.Helper()
	cfg := is.config()
	if mod != nil {
		mod(&cfg)
	}
	b, err := hookauth.NewBearer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// claims are those of an Okta access token minted at now.
func (is *testIssuer) claims(now time.Time) map[string]any {
	return map[string]any{
		"ver": 1, "jti": "AT.test", "iss": is.base, "aud": testAudience,
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(59 * time.Minute).Unix(),
		"cid": testClient, "sub": testClient, "scp": []string{testScope},
	}
}

// with returns a copy of m with key set to v, or removed if v is nil.
func with(m map[string]any, key string, v any) map[string]any {
	m = maps.Clone(m)
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
	return m
}

// sign signs payload with go-jose, adding headers to the protected header.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, payload []byte, headers map[jose.HeaderKey]any, embedJWK bool) string {
	t.Helper()
	opts := &jose.SignerOptions{EmbedJWK: embedJWK}
	for k, v := range headers {
		opts.WithHeader(k, v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// token signs claims with key under kid ("" for none).
func token(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	var headers map[jose.HeaderKey]any
	if kid != "" {
		headers = map[jose.HeaderKey]any{"kid": kid}
	}
	return sign(t, alg, key, payload, headers, false)
}

// valid is a good token of k1 minted at now.
func (is *testIssuer) valid(t testing.TB, now time.Time) string {
	return token(t, jose.RS256, keyring().rsa1, "k1", is.claims(now))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func bearerRequest(tok string) *http.Request { return request("Authorization", "Bearer "+tok) }

// fakeClock is a settable clock for the tests outside synctest.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// attack is one Authorization header (or none, or two) and what the
// authenticator must make of it.
type attack struct {
	name    string
	headers []string // name/value pairs for request
	reason  string   // part of the logged reason; "" for accepted
	fetches int64    // JWKS fetches it causes once the keys are cached
}

// attacks lists the cases of TestBearerAttacks for a clock at now; the
// fuzzers are seeded with them.
func (is *testIssuer) attacks(t testing.TB, now time.Time) []attack {
	kr := keyring()
	c := is.claims(now)
	good := token(t, jose.RS256, kr.rsa1, "k1", c)
	auth := func(v string) []string { return []string{"Authorization", v} }
	bearer := func(tok string) []string { return auth("Bearer " + tok) }
	rs := func(claims map[string]any) []string { return bearer(token(t, jose.RS256, kr.rsa1, "k1", claims)) }
	parts := strings.Split(good, ".")

	pubDER, err := x509.MarshalPKIXPublicKey(&kr.rsa1.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	enc, err := jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: &kr.rsa1.PublicKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jwe, err := enc.Encrypt(payload)
	if err != nil {
		t.Fatal(err)
	}
	jweCompact, err := jwe.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: kr.rsa1}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	jsonSerialized := jws.FullSerialize()

	// The last digit of an unpadded base64 group carries bits the decoder
	// drops; flipping them spells the same signature differently.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	sig := []byte(parts[2]) // 256 bytes: 342 digits, the last one carrying 4 spare bits
	sig[len(sig)-1] = alphabet[strings.IndexByte(alphabet, sig[len(sig)-1])|1]
	nonCanonical := parts[0] + "." + parts[1] + "." + string(sig)

	dupIss := fmt.Sprintf(`{"iss":%q,"iss":"https://attacker.test","aud":%q,"exp":%d,"scp":[%q],"cid":%q}`,
		is.base, testAudience, now.Add(time.Hour).Unix(), testScope, testClient)
	upperIss := fmt.Sprintf(`{"ISS":%q,"aud":%q,"exp":%d,"scp":[%q],"cid":%q}`,
		is.base, testAudience, now.Add(time.Hour).Unix(), testScope, testClient)
	kid := func(k string) map[jose.HeaderKey]any { return map[jose.HeaderKey]any{"kid": k} }

	return []attack{
		{name: "valid RS256", headers: bearer(good)},
		{name: "valid ES256", headers: bearer(token(t, jose.ES256, kr.ec1, "e1", c))},
		{name: "valid, scheme in lower case", headers: auth("bearer " + good)},
		{name: "valid, aud array", headers: rs(with(c, "aud", []string{"api://x", testAudience}))},
		{name: "valid, scp as a string", headers: rs(with(c, "scp", "openid "+testScope))},
		{name: "valid, space-separated scope claim", headers: rs(with(with(c, "scp", nil), "scope", "openid "+testScope))},
		{name: "valid, no iat nor nbf", headers: rs(with(with(c, "iat", nil), "nbf", nil))},

		{name: "missing header", reason: "missing Authorization header"},
		{name: "empty header", headers: auth(""), reason: "empty Authorization header"},
		{name: "wrong scheme", headers: auth("Basic YWRtaW46c3VwZXJzZWNyZXQ="), reason: "not Bearer"},
		{name: "token without scheme", headers: auth(good), reason: "not Bearer"},
		{name: "scheme only", headers: auth("Bearer"), reason: "empty bearer token"},
		{name: "scheme and space", headers: auth("Bearer "), reason: "empty bearer token"},
		{name: "two Authorization headers", headers: append(bearer(good), bearer(good)...), reason: "repeated Authorization header"},
		{name: "two tokens", headers: bearer(good + " " + good), reason: "more than one token"},
		{name: "too long", headers: bearer(good + strings.Repeat("A", 16<<10)), reason: "too long"},
		{name: "truncated mid-payload", headers: bearer(parts[0] + "." + parts[1][:len(parts[1])/2]), reason: "want 3 parts"},
		// Two digits less keeps the base64 canonical: the signature is
		// merely a byte short.
		{name: "truncated signature", headers: bearer(good[:len(good)-2]), reason: "bad signature"},
		{name: "signature of another token", headers: bearer(parts[0] + "." + parts[1] + "." + strings.Split(is.valid(t, now.Add(time.Second)), ".")[2]), reason: "bad signature"},
		{name: "empty signature", headers: bearer(parts[0] + "." + parts[1] + "."), reason: "bad signature"},
		{name: "two parts", headers: bearer(parts[0] + "." + parts[1]), reason: "want 3 parts"},
		{name: "four parts", headers: bearer(good + ".AAAA"), reason: "want 3 parts"},
		{name: "non-base64", headers: bearer("e30!.e30.e30"), reason: "not base64url"},
		{name: "padded base64", headers: bearer(parts[0] + "==." + parts[1] + "." + parts[2]), reason: "not base64url"},
		{name: "non-canonical base64", headers: bearer(nonCanonical), reason: "bad base64url"},
		{name: "header not JSON", headers: bearer(b64("nope") + "." + parts[1] + "." + parts[2]), reason: "malformed JWT header"},
		{name: "JSON serialization", headers: bearer(jsonSerialized), reason: "JSON serialization not accepted"},
		{name: "JWE", headers: bearer(jweCompact), reason: "encrypted token (JWE) not accepted"},
		{name: "alg none", headers: bearer(b64(`{"alg":"none","kid":"k1"}`) + "." + parts[1] + "."), reason: "alg none not allowed"},
		{name: "alg missing", headers: bearer(b64(`{"kid":"k1"}`) + "." + parts[1] + "." + parts[2]), reason: "missing alg"},
		{name: "alg unknown", headers: bearer(b64(`{"alg":"XS999","kid":"k1"}`) + "." + parts[1] + "." + parts[2]), reason: "alg not allowed (unknown algorithm)"},
		// The classic confusion: HMAC keyed with the public key, which a
		// verifier that let the token pick the algorithm would accept.
		{name: "HS256 keyed with the RSA public key", headers: bearer(sign(t, jose.HS256, pubPEM, payload, kid("k1"), false)), reason: "alg HS256 not allowed"},
		{name: "HS256 keyed with the DER public key", headers: bearer(sign(t, jose.HS256, pubDER, payload, kid("k1"), false)), reason: "alg HS256 not allowed"},
		{name: "PS256 not configured", headers: bearer(token(t, jose.PS256, kr.rsa1, "k1", c)), reason: "alg PS256 not allowed"},
		{name: "missing kid", headers: bearer(token(t, jose.RS256, kr.rsa1, "", c)), reason: "missing key id"},
		{name: "foreign key, known kid", headers: bearer(token(t, jose.RS256, kr.evil, "k1", c)), reason: "bad signature"},
		{name: "foreign key, own kid", headers: bearer(token(t, jose.RS256, kr.evil, "evil", c)), reason: "unknown key id", fetches: 1},
		{name: "foreign key embedded as jwk", headers: bearer(sign(t, jose.RS256, kr.evil, payload, kid("k1"), true)), reason: "bad signature"},
		{name: "foreign key behind jku", headers: bearer(sign(t, jose.RS256, kr.evil, payload,
			map[jose.HeaderKey]any{"kid": "evil", "jku": is.base + "/evil"}, false)), reason: "unknown key id", fetches: 1},
		{name: "ES256 header naming an RSA key", headers: bearer(token(t, jose.ES256, kr.ec1, "k1", c)), reason: "key not usable for alg ES256"},
		{name: "RS256 header naming an EC key", headers: bearer(token(t, jose.RS256, kr.rsa1, "e1", c)), reason: "key not usable for alg RS256"},
		{name: "critical header", headers: bearer(sign(t, jose.RS256, kr.rsa1, payload,
			map[jose.HeaderKey]any{"kid": "k1", "crit": []string{"exp"}, "exp": 1}, false)), reason: "critical header not supported"},
		{name: "claims not JSON", headers: bearer(sign(t, jose.RS256, kr.rsa1, []byte("not json"), kid("k1"), false)), reason: "malformed claims"},
		{name: "duplicate iss", headers: bearer(sign(t, jose.RS256, kr.rsa1, []byte(dupIss), kid("k1"), false)), reason: "malformed claims"},
		{name: "iss in upper case", headers: bearer(sign(t, jose.RS256, kr.rsa1, []byte(upperIss), kid("k1"), false)), reason: "wrong issuer"},
		{name: "exp a string", headers: rs(with(c, "exp", "tomorrow")), reason: "malformed claims"},
		{name: "expired", headers: rs(with(c, "exp", now.Add(-time.Hour).Unix())), reason: "expired token"},
		{name: "missing exp", headers: rs(with(c, "exp", nil)), reason: "missing exp"},
		{name: "not yet valid", headers: rs(with(c, "nbf", now.Add(time.Hour).Unix())), reason: "token not yet valid (nbf)"},
		{name: "iat in the future", headers: rs(with(c, "iat", now.Add(time.Hour).Unix())), reason: "token issued in the future (iat)"},
		{name: "wrong iss", headers: rs(with(c, "iss", "https://attacker.test/oauth2/default")), reason: "wrong issuer"},
		{name: "iss with a trailing slash", headers: rs(with(c, "iss", is.base+"/")), reason: "wrong issuer"},
		{name: "missing iss", headers: rs(with(c, "iss", nil)), reason: "wrong issuer"},
		{name: "wrong aud", headers: rs(with(c, "aud", "api://default")), reason: "wrong audience"},
		{name: "missing aud", headers: rs(with(c, "aud", nil)), reason: "wrong audience"},
		{name: "empty aud", headers: rs(with(c, "aud", "")), reason: "wrong audience"},
		{name: "missing scope", headers: rs(with(c, "scp", nil)), reason: "missing scope"},
		{name: "other scopes only", headers: rs(with(c, "scp", []string{"openid", testScope + "x"})), reason: "missing scope"},
		{name: "wrong cid", headers: rs(with(c, "cid", "0oaotherclient")), reason: "client id not allowed"},
		{name: "missing cid", headers: rs(with(c, "cid", nil)), reason: "client id not allowed"},
	}
}

// leaks are strings a reason must never contain: claim values.
func (is *testIssuer) leaks() []string {
	return []string{testAudience, testScope, testClient, "0oaotherclient", "api://default", "attacker.test", is.base, "evil", "k1", "e1"}
}

func TestBearerAttacks(t *testing.T) {
	is := newHTTPIssuer(t)
	for _, tt := range is.attacks(t, testNow) {
		t.Run(tt.name, func(t *testing.T) {
			// Each case gets an authenticator whose keys were fetched a
			// minute ago, so one refetch is allowed.
			clock := &fakeClock{t: testNow.Add(-time.Minute)}
			b := is.bearer(t, func(c *hookauth.BearerConfig) { c.Now = clock.Now })
			if err := b.Authenticate(bearerRequest(is.valid(t, clock.Now()))); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
			clock.Set(testNow)
			before := is.jwksHits.Load()
			err := b.Authenticate(request(tt.headers...))
			if fetches := is.jwksHits.Load() - before; fetches != tt.fetches {
				t.Errorf("%d JWKS fetches, want %d", fetches, tt.fetches)
			}
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Authenticate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, hookauth.ErrUnauthorized) {
				t.Fatalf("Authenticate = %v, want ErrUnauthorized", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("reason %q does not mention %q", err, tt.reason)
			}
			for _, leak := range is.leaks() {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("reason %q leaks %q", err, leak)
				}
			}
			for i := 1; i < len(tt.headers); i += 2 {
				if v := tt.headers[i]; len(v) > 20 && strings.Contains(err.Error(), v[7:20]) {
					t.Errorf("reason %q quotes the token", err)
				}
			}
		})
	}
	if n := is.otherHits.Load(); n != 0 {
		t.Errorf("%d requests to URLs other than the JWKS (a jku followed?)", n)
	}
}

func TestBearerLeeway(t *testing.T) {
	is := newMemIssuer()
	c := is.claims(testNow)
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	tests := []struct {
		name   string
		leeway time.Duration
		claims map[string]any
		reason string
	}{
		{"exp within leeway", 30 * time.Second, with(c, "exp", at(-29*time.Second)), ""},
		// RFC 7519: valid only before exp, so exp + leeway == now is out.
		{"exp at leeway", 30 * time.Second, with(c, "exp", at(-30*time.Second)), "expired token"},
		{"exp past leeway", 30 * time.Second, with(c, "exp", at(-31*time.Second)), "expired token"},
		{"nbf at leeway", 30 * time.Second, with(c, "nbf", at(30*time.Second)), ""},
		{"nbf past leeway", 30 * time.Second, with(c, "nbf", at(31*time.Second)), "token not yet valid (nbf)"},
		{"iat at leeway", 30 * time.Second, with(c, "iat", at(30*time.Second)), ""},
		{"iat past leeway", 30 * time.Second, with(c, "iat", at(31*time.Second)), "token issued in the future (iat)"},
		{"no leeway, exp now", 0, with(c, "exp", at(0)), "expired token"},
		{"no leeway, exp in 1s", 0, with(c, "exp", at(time.Second)), ""},
		{"no leeway, nbf now", 0, with(c, "nbf", at(0)), ""},
		{"no leeway, nbf in 1s", 0, with(c, "nbf", at(time.Second)), "token not yet valid (nbf)"},
		{"no leeway, iat in 1s", 0, with(c, "iat", at(time.Second)), "token issued in the future (iat)"},
		{"fractional exp", 0, with(c, "exp", float64(at(time.Second))+0.5), ""},
		{"exp out of range", 0, with(c, "exp", 1e300), "malformed claims"},
		{"nbf far future", 5 * time.Minute, with(c, "nbf", float64(1<<61)), "token not yet valid (nbf)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := is.bearer(t, func(cfg *hookauth.BearerConfig) {
				cfg.Leeway = tt.leeway
				cfg.Now = func() time.Time { return testNow }
			})
			err := b.Authenticate(bearerRequest(token(t, jose.RS256, keyring().rsa1, "k1", tt.claims)))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Authenticate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Authenticate = %v, want %q", err, tt.reason)
			}
		})
	}
}

func TestNewBearer(t *testing.T) {
	base := hookauth.BearerConfig{Issuer: "https://example.okta.com/oauth2/aus1hook", Audience: []string{testAudience}}
	tests := []struct {
		name string
		mod  func(*hookauth.BearerConfig)
		want string // part of the error; "" for none
	}{
		{"minimal", func(*hookauth.BearerConfig) {}, ""},
		{"all algorithms", func(c *hookauth.BearerConfig) {
			c.Algorithms = []string{"RS256", "rs384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
		}, ""},
		{"no issuer", func(c *hookauth.BearerConfig) { c.Issuer = "" }, "issuer"},
		{"relative issuer", func(c *hookauth.BearerConfig) { c.Issuer = "example.okta.com" }, "issuer"},
		{"issuer with query", func(c *hookauth.BearerConfig) { c.Issuer += "?x=1" }, "issuer"},
		{"bad jwks_uri", func(c *hookauth.BearerConfig) { c.JWKSURI = "ftp://example.okta.com/keys" }, "jwks_uri"},
		{"no audience", func(c *hookauth.BearerConfig) { c.Audience = nil }, "audience"},
		{"empty audience", func(c *hookauth.BearerConfig) { c.Audience = []string{testAudience, ""} }, "audience"},
		{"empty client id", func(c *hookauth.BearerConfig) { c.ClientIDs = []string{""} }, "client id"},
		{"two scopes", func(c *hookauth.BearerConfig) { c.Scope = "a b" }, "scope"},
		{"HS256", func(c *hookauth.BearerConfig) { c.Algorithms = []string{"RS256", "HS256"} }, "refused"},
		{"hs512", func(c *hookauth.BearerConfig) { c.Algorithms = []string{"hs512"} }, "refused"},
		{"none", func(c *hookauth.BearerConfig) { c.Algorithms = []string{"None"} }, "refused"},
		{"EdDSA", func(c *hookauth.BearerConfig) { c.Algorithms = []string{"EdDSA"} }, "not supported"},
		{"unknown", func(c *hookauth.BearerConfig) { c.Algorithms = []string{"RS1"} }, "not supported"},
		{"negative leeway", func(c *hookauth.BearerConfig) { c.Leeway = -time.Second }, "negative"},
		{"negative refresh", func(c *hookauth.BearerConfig) { c.KeysRefreshMin = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.mod(&cfg)
			_, err := hookauth.NewBearer(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewBearer = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// TestNewBearerOffline: construction does not contact the issuer, and the
// caller's client is not modified.
func TestNewBearerOffline(t *testing.T) {
	is := newHTTPIssuer(t)
	client := is.client
	is.bearer(t, nil)
	if n := is.jwksHits.Load() + is.oidcHits.Load() + is.oauthHits.Load(); n != 0 {
		t.Errorf("NewBearer made %d requests", n)
	}
	if client.CheckRedirect != nil {
		t.Error("NewBearer changed the caller's client")
	}
}

func TestBearerDefaultAlgorithm(t *testing.T) {
	is := newMemIssuer()
	b := is.bearer(t, func(c *hookauth.BearerConfig) { c.Algorithms = nil; c.Now = func() time.Time { return testNow } })
	if err := b.Authenticate(bearerRequest(is.valid(t, testNow))); err != nil {
		t.Fatalf("RS256: %v", err)
	}
	err := b.Authenticate(bearerRequest(token(t, jose.ES256, keyring().ec1, "e1", is.claims(testNow))))
	if err == nil || !strings.Contains(err.Error(), "alg ES256 not allowed") {
		t.Fatalf("ES256 with the default allow-list: %v", err)
	}
}

// The bearer scheme sits next to the static ones: AnyOf accepts a good
// token and still refuses everything else.
func TestBearerInAnyOf(t *testing.T) {
	is := newMemIssuer()
	b := is.bearer(t, func(c *hookauth.BearerConfig) { c.Now = func() time.Time { return testNow } })
	auth := hookauth.AnyOf{b, hookauth.NewBasic("admin", "supersecret")}
	if err := auth.Authenticate(bearerRequest(is.valid(t, testNow))); err != nil {
		t.Fatalf("bearer: %v", err)
	}
	if err := auth.Authenticate(request("Authorization", guideBasic)); err != nil {
		t.Fatalf("basic: %v", err)
	}
	if err := auth.Authenticate(bearerRequest(token(t, jose.RS256, keyring().evil, "k1", is.claims(testNow)))); err == nil {
		t.Fatal("forged token accepted")
	}
}

func BenchmarkBearer(b *testing.B) {
	is := newMemIssuer()
	auth := is.bearer(b, func(c *hookauth.BearerConfig) { c.Now = func() time.Time { return testNow } })
	r := bearerRequest(is.valid(b, testNow))
	if err := auth.Authenticate(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := auth.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBearerES256(b *testing.B) {
	is := newMemIssuer()
	auth := is.bearer(b, func(c *hookauth.BearerConfig) { c.Now = func() time.Time { return testNow } })
	r := bearerRequest(token(b, jose.ES256, keyring().ec1, "e1", is.claims(testNow)))
	if err := auth.Authenticate(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := auth.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
