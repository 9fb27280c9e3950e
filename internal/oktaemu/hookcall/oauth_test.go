package hookcall_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tokenhook/tokenhook/inlinehook/inlinehooktest"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

const (
	testClientID     = "0oahookclient"
	testClientSecret = "client-secret-3b9f"
	testScope        = "tokenhook.invoke"
	testKeyID        = "hook-key-1"
)

// tokenServer is an OAuth token endpoint that checks each request with
// check and, when it passes, issues a new access token.
type tokenServer struct {
	*httptest.Server
	calls  atomic.Int32
	mu     sync.Mutex
	issued []string
	errs   []string
}

func newTokenServer(t *testing.T, check func(form url.Values) string, answer func(w http.ResponseWriter, token string)) *tokenServer {
	t.Helper()
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.calls.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if problem := check(r.PostForm); problem != "" {
			ts.mu.Lock()
			ts.errs = append(ts.errs, problem)
			ts.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"` + problem + `"}`))
			return
		}
		token := "access-token-" + string(rune('a'+n))
		ts.mu.Lock()
		ts.issued = append(ts.issued, token)
		ts.mu.Unlock()
		answer(w, token)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) problems() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.errs...)
}

func bearerAnswer(expiresIn int) func(http.ResponseWriter, string) {
	return func(w http.ResponseWriter, token string) {
		w.Header().Set("Content-Type", "application/json")
		body := map[string]any{"access_token": token, "token_type": "Bearer", "scope": testScope}
		if expiresIn > 0 {
			body["expires_in"] = expiresIn
		}
		_ = json.MarshalWrite(w, body)
	}
}

// bearerHook is a hook that accepts only a bearer token the token server
// issued.
func bearerHook(t *testing.T, ts *tokenServer) *testHook {
	return newTestHook(t, func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		ts.mu.Lock()
		known := false
		for _, i := range ts.issued {
			known = known || i == tok
		}
		ts.mu.Unlock()
		if !ok || !known {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func checkSecretPost(form url.Values) string {
	want := url.Values{
		"grant_type":    {"client_credentials"},
		"scope":         {testScope},
		"client_id":     {testClientID},
		"client_secret": {testClientSecret},
	}
	if form.Encode() != want.Encode() {
		return "unexpected form"
	}
	return ""
}

func TestOAuthClientSecretPost(t *testing.T) {
	ts := newTokenServer(t, checkSecretPost, bearerAnswer(3600))
	hook := bearerHook(t, ts)
	clock := &fakeClock{t: time.Now()}
	var rec recorder
	caller := newCaller(hook.URL, &rec)
	caller.Now = clock.Now
	caller.Hook.Auth.OAuth = &hookcall.OAuth{
		AuthType: hookcall.ClientSecretPost, TokenURL: ts.URL + "/oauth2/default/v1/token",
		ClientID: testClientID, ClientSecret: testClientSecret, Scope: testScope,
	}
	req := inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode)
	call := func(wantTokenCalls int32) {
		t.Helper()
		out := caller.Call(t.Context(), req)
		if out.Verdict != hookcall.NoOp {
			t.Fatalf("verdict %s, cause %q, status %d; token server: %v", out.Verdict, out.Cause, out.Status, ts.problems())
		}
		if n := ts.calls.Load(); n != wantTokenCalls {
			t.Errorf("token endpoint called %d times, want %d", n, wantTokenCalls)
		}
	}
	call(1)
	call(1) // cached
	clock.Advance(3600*time.Second - 20*time.Second)
	call(2) // about to expire: fetched again
	if n := hook.calls.Load(); n != 3 {
		t.Errorf("hook called %d times, want 3", n)
	}
	ts.mu.Lock()
	issued := ts.issued
	ts.mu.Unlock()
	assertNoLeak(t, rec.all(), append(issued, testClientSecret)...)
}

// Without expires_in a token is fetched for every call.
func TestOAuthNoExpiryNotCached(t *testing.T) {
	ts := newTokenServer(t, checkSecretPost, bearerAnswer(0))
	hook := bearerHook(t, ts)
	caller := newCaller(hook.URL, &recorder{})
	caller.Hook.Auth.OAuth = &hookcall.OAuth{
		AuthType: hookcall.ClientSecretPost, TokenURL: ts.URL,
		ClientID: testClientID, ClientSecret: testClientSecret, Scope: testScope,
	}
	for range 2 {
		if out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.Password)); out.Verdict != hookcall.NoOp {
			t.Fatalf("verdict %s: %s", out.Verdict, out.Cause)
		}
	}
	if n := ts.calls.Load(); n != 2 {
		t.Errorf("token endpoint called %d times, want 2", n)
	}
}

// A 401 from the hook drops the cached token (no retry: the next call
// fetches a new one).
func TestOAuthRejectedTokenDropped(t *testing.T) {
	ts := newTokenServer(t, checkSecretPost, bearerAnswer(3600))
	var reject atomic.Bool
	reject.Store(true)
	hook := newTestHook(t, func(w http.ResponseWriter, r *http.Request) {
		if reject.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	caller := newCaller(hook.URL, &recorder{})
	caller.Hook.Auth.OAuth = &hookcall.OAuth{
		AuthType: hookcall.ClientSecretPost, TokenURL: ts.URL,
		ClientID: testClientID, ClientSecret: testClientSecret, Scope: testScope,
	}
	out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.Password))
	if out.Verdict != hookcall.Failed || out.Cause != "The hook responded with status 401" || hook.calls.Load() != 1 {
		t.Fatalf("verdict %s, cause %q, hook calls %d", out.Verdict, out.Cause, hook.calls.Load())
	}
	reject.Store(false)
	if out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.Password)); out.Verdict != hookcall.NoOp {
		t.Fatalf("verdict %s", out.Verdict)
	}
	if n := ts.calls.Load(); n != 2 {
		t.Errorf("token endpoint called %d times, want 2", n)
	}
}

func TestOAuthPrivateKeyJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var tokenURL string
	jtis := map[string]bool{}
	check := func(form url.Values) string {
		if form.Get("grant_type") != "client_credentials" || form.Get("scope") != testScope ||
			form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
			form.Has("client_secret") || len(form) != 4 {
			return "unexpected form " + form.Encode()
		}
		tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			return "assertion: " + err.Error()
		}
		if kid := tok.Headers[0].KeyID; kid != testKeyID {
			return "kid " + kid
		}
		if typ := tok.Headers[0].ExtraHeaders["typ"]; typ != "JWT" {
			return "typ not JWT"
		}
		var claims jwt.Claims
		if err := tok.Claims(&key.PublicKey, &claims); err != nil {
			return "signature: " + err.Error()
		}
		if err := claims.Validate(jwt.Expected{
			Issuer: testClientID, Subject: testClientID, AnyAudience: jwt.Audience{tokenURL}, Time: time.Now(),
		}); err != nil {
			return "claims: " + err.Error()
		}
		if claims.IssuedAt == nil || claims.Expiry == nil || claims.Expiry.Time().Sub(claims.IssuedAt.Time()) != 5*time.Minute {
			return "lifetime not 5 minutes"
		}
		if claims.ID == "" || jtis[claims.ID] {
			return "jti missing or reused"
		}
		jtis[claims.ID] = true
		return ""
	}
	ts := newTokenServer(t, check, bearerAnswer(0))
	tokenURL = ts.URL + "/oauth2/aus1/v1/token"
	hook := bearerHook(t, ts)
	var rec recorder
	caller := newCaller(hook.URL, &rec)
	caller.Hook.Auth.OAuth = &hookcall.OAuth{
		AuthType: hookcall.PrivateKeyJWT, TokenURL: tokenURL,
		ClientID: testClientID, Key: key, KeyID: testKeyID, Scope: testScope,
	}
	for range 2 { // two assertions, two jtis
		out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))
		if out.Verdict != hookcall.NoOp {
			t.Fatalf("verdict %s, cause %q; token server: %v", out.Verdict, out.Cause, ts.problems())
		}
	}
	if len(jtis) != 2 {
		t.Errorf("%d distinct jtis, want 2", len(jtis))
	}
	ts.mu.Lock()
	issued := ts.issued
	ts.mu.Unlock()
	assertNoLeak(t, rec.all(), issued...)
}

func TestOAuthFailures(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		// Read the form first: only then does the server notice the
		// caller hanging up, and cancel r.Context().
		_ = r.ParseForm()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		cause   string
	}{
		{
			name: "invalid client",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"secret ` + testClientSecret + ` is wrong"}`))
			},
			cause: "Fetching the OAuth access token failed: the token endpoint answered status 401 (invalid_client)",
		},
		{
			name:    "server error without JSON",
			handler: func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusServiceUnavailable) },
			cause:   "Fetching the OAuth access token failed: the token endpoint answered status 503",
		},
		{
			name: "no access_token",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3600}`))
			},
			cause: "Fetching the OAuth access token failed: the token endpoint's answer has no access_token",
		},
		{
			name: "not JSON",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(`access_token=leaked-token-1`))
			},
			cause: "Fetching the OAuth access token failed: the token endpoint's answer is not JSON",
		},
		{
			name: "redirect",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
			},
			cause: "Fetching the OAuth access token failed: the token endpoint answered status 307",
		},
		{
			name:    "slow enough to eat the budget",
			handler: slow,
			cause:   "Fetching the OAuth access token failed: Timed out after 200ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(tt.handler)
			t.Cleanup(ts.Close)
			hook := newTestHook(t, answer(204, ""))
			var rec recorder
			caller := newCaller(hook.URL, &rec)
			caller.Hook.Timeout = 200 * time.Millisecond
			caller.Hook.Auth.OAuth = &hookcall.OAuth{
				AuthType: hookcall.ClientSecretPost, TokenURL: ts.URL,
				ClientID: testClientID, ClientSecret: testClientSecret,
			}
			out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))
			if out.Verdict != hookcall.Failed || out.Cause != tt.cause {
				t.Fatalf("verdict %s, cause %q; want failed, %q", out.Verdict, out.Cause, tt.cause)
			}
			if n := hook.calls.Load(); n != 0 {
				t.Errorf("hook called %d times, want 0", n)
			}
			events := rec.all()
			if len(events) != 1 || events[0].EventType != hookcall.EventExecuted || events[0].Outcome.Result != hookcall.ResultFailure {
				t.Fatalf("events %+v", events)
			}
			assertNoLeak(t, events, testClientSecret, "leaked-token-1")
		})
	}
}

// Concurrent calls share the cached token safely (run with -race).
func TestOAuthConcurrentCalls(t *testing.T) {
	ts := newTokenServer(t, checkSecretPost, bearerAnswer(3600))
	hook := bearerHook(t, ts)
	var log recorder
	caller := newCaller(hook.URL, &log)
	caller.Hook.Auth.OAuth = &hookcall.OAuth{
		AuthType: hookcall.ClientSecretPost, TokenURL: ts.URL,
		ClientID: testClientID, ClientSecret: testClientSecret, Scope: testScope,
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.Password)); out.Verdict != hookcall.NoOp {
				t.Errorf("verdict %s: %s", out.Verdict, out.Cause)
			}
		})
	}
	wg.Wait()
	if n := hook.calls.Load(); n != 8 {
		t.Errorf("hook called %d times, want 8", n)
	}
	if len(log.all()) != 8 {
		t.Errorf("%d events, want 8", len(log.all()))
	}
}
