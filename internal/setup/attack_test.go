package setup_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/logtest"
	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
)

// The secrets of the attack table: a header secret, Basic credentials and
// the issuer of bearer tokens. None may ever show in a response or a log.
const (
	attackHeader   = "X-Okta-Secret"
	attackSecret   = "s3cret-header-value-0123456789"
	attackUser     = "okta"
	attackPassword = "basic-passw0rd-0123456789"
	attackAudience = "api://tokenhook"
	attackScope    = "tokenhook.hook"
	attackKid      = "k1"
)

// countingStore counts the lookups that reach the store.
type countingStore struct {
	user.Store
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, key string) (*user.User, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

type attackRig struct {
	handler http.Handler
	store   *countingStore
	logs    *logtest.Buffer
	key     *rsa.PrivateKey
	issuer  string
	cfg     config.Config
}

// newAttackRig wires the real handler, with all three authentication
// schemes, over a memory store holding the guide's patient.
func newAttackRig(t *testing.T) *attackRig {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: attackKid, Use: "sig", Algorithm: "RS256"}}})
	}))
	t.Cleanup(jwks.Close)
	issuer := "http://127.0.0.1/oauth2/aus1hook"
	cfg, err := setup.LoadConfig("", []string{
		"TOKENHOOK_AUTH_REQUIRE=true",
		"TOKENHOOK_AUTH_HEADER_NAME=" + attackHeader, "TOKENHOOK_AUTH_HEADER_VALUES=" + attackSecret,
		"TOKENHOOK_AUTH_BASIC_USERNAME=" + attackUser, "TOKENHOOK_AUTH_BASIC_PASSWORD=" + attackPassword,
		"TOKENHOOK_AUTH_BEARER_ISSUER=" + issuer, "TOKENHOOK_AUTH_BEARER_JWKS_URI=" + jwks.URL,
		"TOKENHOOK_AUTH_BEARER_AUDIENCE=" + attackAudience, "TOKENHOOK_AUTH_BEARER_SCOPE=" + attackScope,
		"TOKENHOOK_MAX_BODY_BYTES=65536", "TOKENHOOK_STORE=memory:",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := setup.OpenStore(t.Context(), "memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	if err := mem.Put(t.Context(), &user.User{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235"}}); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: mem}
	auth, _, err := setup.Authenticator(cfg.Auth)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	logger := setup.NewLogger(logs, cfg.Log)
	finder, _ := setup.Finder(cfg, store)
	tr, err := setup.Transformer(cfg, finder, logger)
	if err != nil {
		t.Fatal(err)
	}
	return &attackRig{handler: setup.Handler(cfg, auth, tr, logger), store: store, logs: logs, key: key, issuer: issuer, cfg: cfg}
}

// token signs claims (over the valid defaults) with alg and the rig's key.
func (r *attackRig) token(t *testing.T, mod func(map[string]any)) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"iss": r.issuer, "aud": attackAudience, "scp": []string{attackScope}, "cid": "0oahook",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "AT.x", "sub": "0oahook"}
	if mod != nil {
		mod(claims)
	}
	payload, _ := json.Marshal(claims)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: r.key}, (&jose.SignerOptions{}).WithHeader("kid", attackKid).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hs256WithPublicKey forges a token "signed" with HMAC keyed by the RSA
// public key, the classic algorithm-confusion attack.
func (r *attackRig) hs256WithPublicKey(t *testing.T) string {
	t.Helper()
	der, _ := x509.MarshalPKIXPublicKey(&r.key.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{"iss": r.issuer, "aud": attackAudience, "scp": []string{attackScope}, "exp": now.Add(time.Hour).Unix()})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pub}, (&jose.SignerOptions{}).WithHeader("kid", attackKid))
	if err != nil {
		t.Fatal(err)
	}
	jws, _ := signer.Sign(payload)
	s, _ := jws.CompactSerialize()
	return s
}

type attack struct {
	name    string
	method  string
	header  []string // name, value pairs
	body    []byte
	status  int
	logWant string // a substring of the call's log line
	// reaches is true for requests that pass authentication and may look
	// the user up.
	reaches bool
}

func (r *attackRig) attacks(t *testing.T) []attack {
	body := []byte(fixture(t))
	ct := []string{"Content-Type", "application/json"}
	hdr := func(kv ...string) []string { return append(append([]string{}, ct...), kv...) }
	bearer := func(tok string) []string { return hdr("Authorization", "Bearer "+tok) }
	deep := []byte(strings.Replace(string(body), `"data"`, `"deep":`+strings.Repeat("[", 200)+strings.Repeat("]", 200)+`,"data"`, 1))
	badUTF8 := bytes.Replace(body, []byte("Jessie"), []byte("Jes\xffsie"), 1)
	long := []byte(strings.Replace(string(body), `"data"`, `"pad":"`+strings.Repeat("x", 70<<10)+`","data"`, 1))
	expired := r.token(t, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
	good := r.token(t, nil)
	return []attack{
		{name: "valid header secret", header: hdr(attackHeader, attackSecret), body: body, status: 200, logWant: "outcome=applied", reaches: true},
		{name: "valid Basic", header: hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(attackUser+":"+attackPassword))), body: body, status: 200, reaches: true},
		{name: "valid bearer", header: bearer(good), body: body, status: 200, reaches: true},
		{name: "no credentials", header: hdr(), body: body, status: 401, logWant: "missing"},
		{name: "empty secret", header: hdr(attackHeader, ""), body: body, status: 401, logWant: "empty X-Okta-Secret header"},
		{name: "wrong-case secret", header: hdr(attackHeader, strings.ToUpper(attackSecret)), body: body, status: 401, logWant: "wrong X-Okta-Secret secret"},
		{name: "wrong secret", header: hdr(attackHeader, "guess"), body: body, status: 401, logWant: "wrong X-Okta-Secret secret"},
		{name: "Basic, bad base64", header: hdr("Authorization", "Basic !!!"), body: body, status: 401, logWant: "bad base64"},
		{name: "Basic, wrong password", header: hdr("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(attackUser+":nope"))), body: body, status: 401, logWant: "wrong Basic credentials"},
		{name: "JWT alg none", header: bearer(b64(`{"alg":"none","kid":"k1"}`) + "." + b64(`{"iss":"`+r.issuer+`"}`) + "."), body: body, status: 401, logWant: "alg none not allowed"},
		{name: "JWT HS256 signed with the public key", header: bearer(r.hs256WithPublicKey(t)), body: body, status: 401, logWant: "alg HS256 not allowed"},
		{name: "JWT expired", header: bearer(expired), body: body, status: 401, logWant: "expired token"},
		{name: "JWT not yet valid", header: bearer(r.token(t, func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), body: body, status: 401, logWant: "not yet valid"},
		{name: "JWT wrong iss", header: bearer(r.token(t, func(c map[string]any) { c["iss"] = "https://evil.example.com" })), body: body, status: 401, logWant: "wrong issuer"},
		{name: "JWT wrong aud", header: bearer(r.token(t, func(c map[string]any) { c["aud"] = "api://other" })), body: body, status: 401, logWant: "wrong audience"},
		{name: "JWT missing scope", header: bearer(r.token(t, func(c map[string]any) { c["scp"] = []string{"openid"} })), body: body, status: 401, logWant: "missing scope"},
		{name: "JWT unknown kid", header: bearer(strings.Replace(good, good[:strings.IndexByte(good, '.')], b64(`{"alg":"RS256","kid":"k9"}`), 1)), body: body, status: 401, logWant: "unknown key id"},
		{name: "JWT truncated", header: bearer(good[:strings.LastIndexByte(good, '.')]), body: body, status: 401, logWant: "malformed JWT"},
		{name: "oversized body", header: hdr(attackHeader, attackSecret), body: bytes.Repeat([]byte("x"), 70<<10), status: 413, logWant: "outcome=bad_request"},
		{name: "deep nesting", header: hdr(attackHeader, attackSecret), body: deep, status: 400, logWant: "outcome=bad_request"},
		{name: "over-long string", header: hdr(attackHeader, attackSecret), body: long, status: 413, logWant: "outcome=bad_request"},
		{name: "invalid UTF-8", header: hdr(attackHeader, attackSecret), body: badUTF8, status: 400, logWant: "outcome=bad_request"},
		{name: "not JSON", header: hdr(attackHeader, attackSecret), body: []byte(`{"data":`), status: 400, logWant: "outcome=bad_request"},
		{name: "wrong method", method: "GET", header: hdr(attackHeader, attackSecret), status: 405},
		{name: "wrong content type", header: []string{attackHeader, attackSecret, "Content-Type", "text/plain"}, body: body, status: 415, logWant: "outcome=bad_request"},
		// Unauthenticated garbage is refused before it is even read.
		{name: "no credentials, oversized body", header: hdr(), body: bytes.Repeat([]byte("{"), 200<<10), status: 401, logWant: "missing"},
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestAttacks runs the attack table through the real wiring: each case
// gets its status, its log line, and none panics, leaks a secret, a token
// or a claim value, or reaches the store unless it passed authentication.
func TestAttacks(t *testing.T) {
	r := newAttackRig(t)
	for _, a := range r.attacks(t) {
		t.Run(a.name, func(t *testing.T) {
			method := a.method
			if method == "" {
				method = "POST"
			}
			req := httptest.NewRequest(method, "/hooks/okta/token", bytes.NewReader(a.body))
			for i := 0; i+1 < len(a.header); i += 2 {
				req.Header.Set(a.header[i], a.header[i+1])
			}
			before := r.store.gets.Load()
			w := httptest.NewRecorder()
			r.handler.ServeHTTP(w, req)
			logs := scrubLatency(r.logs.Take())
			if w.Code != a.status {
				t.Errorf("status %d, want %d: %s\nlog: %s", w.Code, a.status, w.Body, logs)
			}
			if w.Code >= 400 && !strings.HasPrefix(w.Body.String(), `{"error":`) {
				t.Errorf("not a JSON error: %s", w.Body)
			}
			if !strings.Contains(logs, a.logWant) {
				t.Errorf("log lacks %q:\n%s", a.logWant, logs)
			}
			if reached := r.store.gets.Load() > before; reached && !a.reaches {
				t.Error("a refused request reached the store")
			}
			leaks := []string{attackSecret, attackPassword, base64.StdEncoding.EncodeToString([]byte(attackUser + ":" + attackPassword)), "jessie.smith@example.com"}
			if auth := req.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") && len(auth) > 40 {
				leaks = append(leaks, auth[len(auth)-30:])
			}
			for _, leak := range leaks {
				if strings.Contains(logs, leak) {
					t.Errorf("the log shows %q:\n%s", leak, logs)
				}
				if w.Code != 200 && strings.Contains(w.Body.String(), leak) {
					t.Errorf("the response shows %q: %s", leak, w.Body)
				}
			}
			if strings.Contains(logs, "1235") {
				t.Errorf("the log shows a claim value:\n%s", logs)
			}
		})
	}
}

// TestSlowHeaders: a client that trickles its headers (slowloris) is cut
// off after server.read_header_timeout, on a real listener.
func TestSlowHeaders(t *testing.T) {
	r := newAttackRig(t)
	cfg := r.cfg
	cfg.Server.ReadHeaderTimeout = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- setup.ServeListener(ctx, ln, cfg, r.handler, setup.NewLogger(r.logs, cfg.Log)) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("POST /hooks/okta/token HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	// One more header byte a while later, never the end of the headers.
	time.Sleep(100 * time.Millisecond)
	_, _ = conn.Write([]byte("X"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	for {
		if _, err := conn.Read(buf); err != nil {
			break // the server closed the connection
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the slow client was held %s", took)
	}
	if r.store.gets.Load() != 0 {
		t.Error("a slow client reached the store")
	}
}

// TestSecretComparisonTiming is a coarse check that a wrong secret costs
// the same whether it differs at its first byte or its last (both sides
// are hashed before a constant-time compare). Generous bounds: it catches
// an early-exit compare, not nanoseconds.
func TestSecretComparisonTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing check")
	}
	r := newAttackRig(t)
	near := attackSecret[:len(attackSecret)-1] + "X"
	far := "X" + attackSecret[1:]
	batch := func(secret string) time.Duration {
		start := time.Now()
		for range 300 {
			req := httptest.NewRequest("POST", "/hooks/okta/token", nil)
			req.Header.Set(attackHeader, secret)
			req.Header.Set("Content-Type", "application/json")
			r.handler.ServeHTTP(httptest.NewRecorder(), req)
		}
		return time.Since(start)
	}
	// Batches of the two alternate, so that a change of the machine's load
	// hits both; the fastest batch of each is the least disturbed one.
	var a, b time.Duration
	for i := range 9 {
		na, nb := batch(near), batch(far)
		if i == 0 || na < a {
			a = na
		}
		if i == 0 || nb < b {
			b = nb
		}
	}
	r.logs.Take()
	if ratio := float64(a) / float64(b); ratio < 0.5 || ratio > 2 {
		t.Errorf("wrong at the last byte: %s, at the first: %s (ratio %.2f)", a, b, ratio)
	}
}
