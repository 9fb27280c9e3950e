package server_test

import (
	"bytes"
	"context"
	"encoding/json/v2"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/hookauth"
	"github.com/tokenhook/tokenhook/internal/server"
)

const (
	guideBasic = "Basic YWRtaW46c3VwZXJzZWNyZXQ=" // admin:supersecret, as in Okta's guide
	hookPath   = "/hooks/okta/token"
)

// transformFunc adapts a function to tokenhook.Transformer.
type transformFunc func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error)

func (f transformFunc) Transform(ctx context.Context, r *inlinehook.TokenRequest) (*inlinehook.Response, error) {
	return f(ctx, r)
}

// patients answers like the guide's service: patientId for known logins.
var patients = transformFunc(func(_ context.Context, r *inlinehook.TokenRequest) (*inlinehook.Response, error) {
	ids := map[string]string{"jessie.smith@example.com": "1235", "kim.sato@example.com": "6789"}
	id, ok := ids[r.Login()]
	if !ok {
		return nil, nil
	}
	return &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity(inlinehook.AddClaim("patientId", id))}}, nil
})

func newTestServer(t testing.TB, update func(*server.Config)) (*server.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	cfg := server.Config{
		Auth:        hookauth.NewBasic("admin", "supersecret"),
		Transformer: patients,
		Logger:      slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	if update != nil {
		update(&cfg)
	}
	return server.New(cfg), &logs
}

func tokenRequest(login string, identity bool) string {
	r := inlinehook.TokenRequest{
		EventID:   "3OWo4oo-QQ-rBWfRyTmQYw",
		EventType: inlinehook.EventTypeTokenTransform,
		Data: inlinehook.TokenData{
			Context: inlinehook.Context{User: &inlinehook.User{ID: "00u1", Profile: inlinehook.Profile{Login: login}}},
			Access:  &inlinehook.Token{Claims: inlinehook.Claims{"sub": login}, Token: inlinehook.TokenLifetime{Lifetime: inlinehook.Lifetime{Expiration: 3600}}},
		},
	}
	if identity {
		r.Data.Identity = &inlinehook.Token{Claims: inlinehook.Claims{"sub": "00u1", "secret_claim": "s3cr3t-v4lue"},
			Token: inlinehook.TokenLifetime{Lifetime: inlinehook.Lifetime{Expiration: 3600}}}
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func do(h http.Handler, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestHook(t *testing.T) {
	okHeaders := []string{"Authorization", guideBasic, "Content-Type", "application/json"}
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		headers   []string
		status    int
		wantBody  string // substring
		wantError string // error code of a JSON error body
		outcome   string
	}{
		{name: "patient gets patientId", method: "POST", path: hookPath, body: tokenRequest("jessie.smith@example.com", true), headers: okHeaders,
			status: 200, wantBody: `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/patientId","value":"1235"}]}]}`, outcome: "applied"},
		{name: "unknown user: 204", method: "POST", path: hookPath, body: tokenRequest("nobody@example.com", true), headers: okHeaders, status: 204, outcome: "noop"},
		// The guard: an ID-token command when no ID token is minted would make
		// Okta discard the whole answer, so it is dropped and 204 is sent.
		{name: "guard drops command for token not minted", method: "POST", path: hookPath, body: tokenRequest("jessie.smith@example.com", false), headers: okHeaders, status: 204, outcome: "noop"},
		{name: "charset parameter accepted", method: "POST", path: hookPath, body: tokenRequest("kim.sato@example.com", true),
			headers: []string{"Authorization", guideBasic, "Content-Type", "application/json; charset=utf-8"}, status: 200, outcome: "applied"},
		{name: "missing auth", method: "POST", path: hookPath, body: tokenRequest("jessie.smith@example.com", true),
			headers: []string{"Content-Type", "application/json"}, status: 401, wantError: "unauthorized", outcome: "unauthorized"},
		{name: "wrong password", method: "POST", path: hookPath, body: tokenRequest("jessie.smith@example.com", true),
			headers: []string{"Authorization", "Basic YWRtaW46d3Jvbmc=", "Content-Type", "application/json"}, status: 401, wantError: "unauthorized", outcome: "unauthorized"},
		// Auth comes first: an unauthenticated caller learns nothing else.
		{name: "unauthenticated bad content type still 401", method: "POST", path: hookPath, body: "x", headers: []string{"Content-Type", "text/plain"}, status: 401, wantError: "unauthorized"},
		{name: "wrong content type", method: "POST", path: hookPath, body: tokenRequest("jessie.smith@example.com", true),
			headers: []string{"Authorization", guideBasic, "Content-Type", "text/plain"}, status: 415, wantError: "unsupported_media_type", outcome: "bad_request"},
		{name: "no content type", method: "POST", path: hookPath, body: "{}", headers: []string{"Authorization", guideBasic}, status: 415, wantError: "unsupported_media_type"},
		{name: "malformed JSON", method: "POST", path: hookPath, body: `{"data": {`, headers: okHeaders, status: 400, wantError: "malformed_request", wantBody: "unexpected EOF (line 1, column 11)", outcome: "bad_request"},
		{name: "wrong type", method: "POST", path: hookPath, body: `{"data": {"identity": {"token": {"lifetime": {"expiration": "s3cr3t-v4lue"}}}}}`, headers: okHeaders, status: 400, wantError: "malformed_request", wantBody: `unexpected JSON string at /data/identity/token/lifetime/expiration, want a number`},
		{name: "empty body", method: "POST", path: hookPath, body: "", headers: okHeaders, status: 400, wantError: "malformed_request"},
		{name: "invalid UTF-8", method: "POST", path: hookPath, body: "{\"eventId\": \"\xff\"}", headers: okHeaders, status: 400, wantError: "malformed_request"},
		{name: "unknown fields tolerated", method: "POST", path: hookPath, body: `{"eventId":"e","futureField":{"x":1},"data":{"context":{"newThing":true}}}`, headers: okHeaders, status: 204},
		{name: "too large", method: "POST", path: hookPath, body: `{"x":"` + strings.Repeat("a", 1<<20) + `"}`, headers: okHeaders, status: 413, wantError: "request_too_large", outcome: "bad_request"},
		{name: "GET on hook", method: "GET", path: hookPath, status: 405, wantError: "method_not_allowed"},
		{name: "PUT on hook", method: "PUT", path: hookPath, body: "{}", headers: okHeaders, status: 405, wantError: "method_not_allowed"},
		{name: "healthz", method: "GET", path: "/healthz", status: 200, wantBody: `{"status":"ok"}`},
		{name: "POST healthz", method: "POST", path: "/healthz", status: 405, wantError: "method_not_allowed"},
		{name: "unknown path", method: "POST", path: "/tokenHook", body: "{}", headers: okHeaders, status: 404, wantError: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, logs := newTestServer(t, nil)
			w := do(srv, tt.method, tt.path, tt.body, tt.headers...)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if tt.wantBody != "" && !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body = %s, want it to contain %s", w.Body, tt.wantBody)
			}
			if tt.status == 204 && w.Body.Len() != 0 {
				t.Errorf("204 with a body: %q", w.Body)
			}
			if tt.wantError != "" {
				var e struct {
					Error   string `json:"error"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
					t.Fatalf("error body is not JSON: %q", w.Body)
				}
				if e.Error != tt.wantError || e.Message == "" {
					t.Errorf("error = %+v, want code %q and a message", e, tt.wantError)
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
			}
			if tt.status == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			// The latency is a number of nanoseconds: any digits, patient ids included.
			logged := latencyRE.ReplaceAllString(logs.String(), `"latency":0`)
			for _, secret := range []string{"supersecret", "YWRtaW46", "s3cr3t-v4lue", "1235", "6789"} {
				if strings.Contains(logged, secret) {
					t.Errorf("log leaks %q: %s", secret, logs)
				}
			}
			// Decode errors say where, never what: request values are personal data.
			if w.Code >= 400 && strings.Contains(w.Body.String(), "s3cr3t-v4lue") {
				t.Errorf("error response quotes a request value: %s", w.Body)
			}
			if tt.outcome != "" {
				line := logLine(t, logs)
				if line["outcome"] != tt.outcome || line["msg"] != "hook call" {
					t.Errorf("log line = %v, want outcome %q", line, tt.outcome)
				}
			}
		})
	}
}

func logLine(t *testing.T, logs *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want exactly one log line per hook call, got %d:\n%s", len(lines), logs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHookLogLine(t *testing.T) {
	srv, logs := newTestServer(t, nil)
	w := do(srv, "POST", hookPath, tokenRequest("jessie.smith@example.com", true), "Authorization", guideBasic, "Content-Type", "application/json")
	if w.Code != 200 {
		t.Fatal(w.Code)
	}
	line := logLine(t, logs)
	if line["event_id"] != "3OWo4oo-QQ-rBWfRyTmQYw" || line["status"] != float64(200) {
		t.Errorf("log line = %v", line)
	}
	if claims, _ := line["claims"].([]any); len(claims) != 1 || claims[0] != "id:add:patientId" {
		t.Errorf("claims logged = %v, want the claim's name", line["claims"])
	}
	if _, ok := line["latency"]; !ok {
		t.Error("no latency")
	}
}

func TestGuardKeepsValidOps(t *testing.T) {
	mixed := transformFunc(func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		return &inlinehook.Response{Commands: []inlinehook.Command{
			inlinehook.PatchIdentity(inlinehook.AddClaim("patientId", "1235"), inlinehook.AddClaim("iss", "https://evil.example")),
		}}, nil
	})
	srv, logs := newTestServer(t, func(c *server.Config) { c.Transformer = mixed })
	w := do(srv, "POST", hookPath, tokenRequest("jessie.smith@example.com", true), "Authorization", guideBasic, "Content-Type", "application/json")
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if strings.Contains(w.Body.String(), "iss") || !strings.Contains(w.Body.String(), "patientId") {
		t.Errorf("body = %s, want patientId kept and iss dropped", w.Body)
	}
	line := logLine(t, logs)
	if dropped, _ := line["dropped"].([]any); len(dropped) != 1 || !strings.Contains(dropped[0].(string), "/claims/iss") {
		t.Errorf("dropped = %v", line["dropped"])
	}
	if strings.Contains(logs.String(), "evil.example") {
		t.Error("log leaks a claim value")
	}
}

func TestDeny(t *testing.T) {
	deny := transformFunc(func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		return inlinehook.Deny("account suspended"), nil
	})
	srv, logs := newTestServer(t, func(c *server.Config) { c.Transformer = deny })
	w := do(srv, "POST", hookPath, tokenRequest("jessie.smith@example.com", true), "Authorization", guideBasic, "Content-Type", "application/json")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"errorSummary":"account suspended"`) {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if line := logLine(t, logs); line["outcome"] != "denied" {
		t.Errorf("outcome = %v", line["outcome"])
	}
}

func TestTransformFailure(t *testing.T) {
	failing := transformFunc(func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		return nil, errors.New("store: connection refused")
	})
	srv, logs := newTestServer(t, func(c *server.Config) { c.Transformer = failing })
	w := do(srv, "POST", hookPath, tokenRequest("jessie.smith@example.com", true), "Authorization", guideBasic, "Content-Type", "application/json")
	if w.Code != 500 || strings.Contains(w.Body.String(), "connection refused") {
		t.Fatalf("got %d %s; want 500 without internals", w.Code, w.Body)
	}
	if line := logLine(t, logs); line["outcome"] != "error" || !strings.Contains(line["reason"].(string), "connection refused") {
		t.Errorf("log line = %v, want the cause for the operator", line)
	}
}

// TestPanicDoesNotReachClient pins that a panic in the core becomes a JSON 500.
func TestPanicDoesNotReachClient(t *testing.T) {
	panicking := transformFunc(func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		panic("boom")
	})
	srv, _ := newTestServer(t, func(c *server.Config) { c.Transformer = panicking })
	w := do(srv, "POST", hookPath, tokenRequest("jessie.smith@example.com", true), "Authorization", guideBasic, "Content-Type", "application/json")
	if w.Code != 500 || !strings.Contains(w.Body.String(), "internal_error") || strings.Contains(w.Body.String(), "boom") {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}

func TestCustomPathAndLimit(t *testing.T) {
	srv, _ := newTestServer(t, func(c *server.Config) { c.HookPath = "/tokenHook"; c.MaxBodyBytes = 8192 })
	body := tokenRequest("jessie.smith@example.com", true)
	if w := do(srv, "POST", "/tokenHook", body, "Authorization", guideBasic, "Content-Type", "application/json"); w.Code != 200 {
		t.Fatalf("custom path: %d %s", w.Code, w.Body)
	}
	if w := do(srv, "POST", hookPath, body, "Authorization", guideBasic, "Content-Type", "application/json"); w.Code != 404 {
		t.Fatalf("default path still served: %d", w.Code)
	}
	big := `{"eventId":"` + strings.Repeat("x", 9000) + `"}`
	if w := do(srv, "POST", "/tokenHook", big, "Authorization", guideBasic, "Content-Type", "application/json"); w.Code != 413 {
		t.Fatalf("over the limit: %d", w.Code)
	}
}

// TestChunkedTooLarge pins the cap for bodies without Content-Length.
func TestChunkedTooLarge(t *testing.T) {
	srv, _ := newTestServer(t, func(c *server.Config) { c.MaxBodyBytes = 8192 })
	req := httptest.NewRequest("POST", hookPath, io.MultiReader(strings.NewReader(`{"x":"`), strings.NewReader(strings.Repeat("a", 10000))))
	req.ContentLength = -1
	req.Header.Set("Authorization", guideBasic)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != 413 {
		t.Fatalf("status %d", w.Code)
	}
}

func BenchmarkHook(b *testing.B) {
	srv, _ := newTestServer(b, func(c *server.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	body := tokenRequest("jessie.smith@example.com", true)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest("POST", hookPath, strings.NewReader(body))
		req.Header.Set("Authorization", guideBasic)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// decodingTransformer reads part of the request, and says so.
type decodingTransformer struct {
	transformFunc
	decoded int
}

func (d *decodingTransformer) DecodeRequest(body []byte) (*inlinehook.TokenRequest, error) {
	d.decoded++
	return inlinehook.NewPartialDecoder(inlinehook.Parts{User: true}).Decode(body)
}

func TestServerUsesTransformersDecoder(t *testing.T) {
	tr := &decodingTransformer{transformFunc: patients}
	srv, _ := newTestServer(t, func(c *server.Config) { c.Transformer = tr })
	w := do(srv, "POST", hookPath, tokenRequest("jessie.smith@example.com", true), "Authorization", guideBasic, "Content-Type", "application/json")
	if w.Code != 200 || tr.decoded != 1 {
		t.Fatalf("status %d, decoder called %d times", w.Code, tr.decoded)
	}
	// Its decode errors are reported like any other.
	if w := do(srv, "POST", hookPath, `{"data":`, "Authorization", guideBasic, "Content-Type", "application/json"); w.Code != 400 {
		t.Fatalf("malformed: %d", w.Code)
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// countingAuth counts the calls it authenticates.
type countingAuth struct {
	hookauth.Authenticator
	calls int
}

func (a *countingAuth) Authenticate(r *http.Request) error {
	a.calls++
	return a.Authenticator.Authenticate(r)
}

// hookFrom posts body to the hook from remote with the guide's credentials
// (or none), and extra headers.
func hookFrom(h http.Handler, remote, body string, auth bool, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", hookPath, strings.NewReader(body))
	req.RemoteAddr = remote
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", guideBasic)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// jsonError decodes an error response's body, failing unless it is one.
func jsonError(t *testing.T, w *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Header().Get("Content-Type") != "application/json" || e.Message == "" {
		t.Fatalf("not a JSON error: %q (%v)", w.Body, err)
	}
	return e.Error, e.Message
}

// outcomes returns the outcome of every hook call logged.
func outcomes(t *testing.T, logs *bytes.Buffer) []string {
	t.Helper()
	var out []string
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["msg"] == "hook call" {
			out = append(out, m["outcome"].(string))
		}
	}
	return out
}

func TestRateLimitPerSource(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	auth := &countingAuth{Authenticator: hookauth.NewBasic("admin", "supersecret")}
	srv, logs := newTestServer(t, func(c *server.Config) {
		c.RatePerSource, c.RateBurst, c.Now, c.Auth = 1, 2, clock.now, auth
	})
	body := tokenRequest("jessie.smith@example.com", true)
	const a, b = "192.0.2.1:40000", "192.0.2.2:40000"
	for i := range 2 {
		if w := hookFrom(srv, a, body, true); w.Code != 200 {
			t.Fatalf("call %d of the burst: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := hookFrom(srv, "192.0.2.1:40001", body, true) // another port: the same source
	if w.Code != 429 {
		t.Fatalf("over the burst: %d %s", w.Code, w.Body)
	}
	if code, _ := jsonError(t, w); code != "rate_limited" || w.Header().Get("Retry-After") != "1" {
		t.Errorf("429: code %q, Retry-After %q", code, w.Header().Get("Retry-After"))
	}
	// Before authentication: a flood costs no credential check, and an
	// unauthenticated caller is limited too.
	calls := auth.calls
	if w := hookFrom(srv, a, body, false); w.Code != 429 || auth.calls != calls {
		t.Errorf("unauthenticated over the rate: %d, authenticator called %d times", w.Code, auth.calls-calls)
	}
	// X-Forwarded-For is not a source.
	if w := hookFrom(srv, a, body, true, "X-Forwarded-For", "198.51.100.7", "X-Real-IP", "198.51.100.8"); w.Code != 429 {
		t.Errorf("with X-Forwarded-For: %d, want 429", w.Code)
	}
	// Another source has its own bucket; the first gets a token a second later.
	if w := hookFrom(srv, b, body, true); w.Code != 200 {
		t.Errorf("another source: %d", w.Code)
	}
	clock.t = clock.t.Add(time.Second)
	if w := hookFrom(srv, a, body, true); w.Code != 200 {
		t.Errorf("a second later: %d", w.Code)
	}
	// Health checks are not limited.
	for range 5 {
		if w := do(srv, "GET", "/healthz", ""); w.Code != 200 {
			t.Fatalf("healthz: %d", w.Code)
		}
	}
	want := []string{"applied", "applied", "rate_limited", "rate_limited", "rate_limited", "applied", "applied"}
	if got := outcomes(t, logs); !slices.Equal(got, want) {
		t.Errorf("logged outcomes %v, want %v", got, want)
	}
}

func TestRateLimitIPv6Prefix(t *testing.T) {
	srv, _ := newTestServer(t, func(c *server.Config) { c.RatePerSource, c.RateBurst = 1, 1 })
	body := tokenRequest("jessie.smith@example.com", true)
	if w := hookFrom(srv, "[2001:db8:1:2::1]:5000", body, true); w.Code != 200 {
		t.Fatalf("first: %d", w.Code)
	}
	if w := hookFrom(srv, "[2001:db8:1:2::99]:5000", body, true); w.Code != 429 {
		t.Errorf("same /64: %d, want 429", w.Code)
	}
	if w := hookFrom(srv, "[2001:db8:1:3::1]:5000", body, true); w.Code != 200 {
		t.Errorf("another /64: %d, want 200", w.Code)
	}
}

func TestRateLimitOff(t *testing.T) {
	srv, _ := newTestServer(t, nil)
	body := tokenRequest("jessie.smith@example.com", true)
	for i := range 200 {
		if w := hookFrom(srv, "192.0.2.1:1", body, true); w.Code != 200 {
			t.Fatalf("call %d: %d", i, w.Code)
		}
	}
}

func TestReplayGuard(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv, logs := newTestServer(t, func(c *server.Config) { c.ReplayWindow, c.Now = 5*time.Minute, clock.now })
	body := tokenRequest("jessie.smith@example.com", true) // eventId 3OWo4oo-QQ-rBWfRyTmQYw
	if w := hookFrom(srv, "192.0.2.1:1", body, true); w.Code != 200 {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	clock.t = clock.t.Add(4 * time.Minute)
	w := hookFrom(srv, "192.0.2.9:1", body, true) // from anywhere
	if w.Code != 409 {
		t.Fatalf("replayed: %d %s", w.Code, w.Body)
	}
	if code, msg := jsonError(t, w); code != "replay" || strings.Contains(msg, "3OWo4oo") {
		t.Errorf("409: %q %q", code, msg)
	}
	other := strings.Replace(body, "3OWo4oo-QQ-rBWfRyTmQYw", "another-event-id", 1)
	if w := hookFrom(srv, "192.0.2.1:1", other, true); w.Code != 200 {
		t.Errorf("another eventId: %d", w.Code)
	}
	// Past the window (counted from the first call), the id is new again.
	clock.t = clock.t.Add(time.Minute)
	if w := hookFrom(srv, "192.0.2.1:1", body, true); w.Code != 200 {
		t.Errorf("after the window: %d", w.Code)
	}
	// No eventId is no replay.
	noID := `{"eventType":"com.okta.oauth2.tokens.transform","data":{}}`
	for range 3 {
		if w := hookFrom(srv, "192.0.2.1:1", noID, true); w.Code != 204 {
			t.Errorf("without an eventId: %d", w.Code)
		}
	}
	// Unauthenticated calls record nothing: they cannot burn Okta's ids.
	fresh := strings.Replace(body, "3OWo4oo-QQ-rBWfRyTmQYw", "fresh-event-id", 1)
	if w := hookFrom(srv, "192.0.2.1:1", fresh, false); w.Code != 401 {
		t.Fatalf("unauthenticated: %d", w.Code)
	}
	if w := hookFrom(srv, "192.0.2.1:1", fresh, true); w.Code != 200 {
		t.Errorf("after an unauthenticated call with its id: %d", w.Code)
	}
	want := []string{"applied", "replay", "applied", "applied", "noop", "noop", "noop", "unauthorized", "applied"}
	if got := outcomes(t, logs); !slices.Equal(got, want) {
		t.Errorf("logged outcomes %v, want %v", got, want)
	}
	if !strings.Contains(logs.String(), `"event_id":"3OWo4oo-QQ-rBWfRyTmQYw","outcome":"replay","status":409`) {
		t.Errorf("the replay's log line lacks its event id:\n%s", logs)
	}
}

func TestReplayGuardOff(t *testing.T) {
	srv, _ := newTestServer(t, nil)
	body := tokenRequest("jessie.smith@example.com", true)
	for range 3 {
		if w := hookFrom(srv, "192.0.2.1:1", body, true); w.Code != 200 {
			t.Fatalf("%d", w.Code)
		}
	}
}

// limitedDecoder decodes with limits, as tokenhook.Engine does with
// tokenhook.Config.Limits.
type limitedDecoder struct {
	transformFunc
	d *inlinehook.PartialDecoder
}

func (l limitedDecoder) DecodeRequest(body []byte) (*inlinehook.TokenRequest, error) {
	return l.d.Decode(body)
}

func TestDecodeLimits(t *testing.T) {
	tr := limitedDecoder{transformFunc: patients,
		d: inlinehook.NewPartialDecoder(inlinehook.Parts{User: true}).WithLimits(inlinehook.Limits{MaxDepth: 8, MaxStringBytes: 1024})}
	long := strings.Repeat("s3cr3t-v4lue", 100)
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
		message    string
	}{
		{"within", tokenRequest("jessie.smith@example.com", true), 200, "", ""},
		{"long string", strings.Replace(tokenRequest("jessie.smith@example.com", true), "jessie.smith@example.com", long, 1),
			413, "string_too_long", "a string longer than 1024 bytes at /data/context/user/profile/login"},
		{"long name", `{"data":{"` + long + `":1}}`, 413, "string_too_long", "a member name longer than 1024 bytes in /data"},
		{"too deep", `{"data":{"context":{"x":[[[[[[[1]]]]]]]}}}`, 400, "nesting_too_deep", "nested deeper than 8 levels at /data/context/x/0/0/0/0/0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, logs := newTestServer(t, func(c *server.Config) { c.Transformer = tr })
			w := hookFrom(srv, "192.0.2.1:1", tt.body, true)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.code == "" {
				return
			}
			if code, msg := jsonError(t, w); code != tt.code || !strings.Contains(msg, tt.message) {
				t.Errorf("error %q %q, want %q with %q", code, msg, tt.code, tt.message)
			}
			if strings.Contains(w.Body.String(), "s3cr3t") || strings.Contains(logs.String(), "s3cr3t") {
				t.Errorf("a value is quoted: %s\n%s", w.Body, logs)
			}
			if got := outcomes(t, logs); !slices.Equal(got, []string{"bad_request"}) {
				t.Errorf("outcomes %v", got)
			}
		})
	}
}

// countingObserver records the outcomes it hears of.
type countingObserver struct {
	mu       sync.Mutex
	outcomes []server.Outcome
}

func (o *countingObserver) ObserveCall(c *server.Call) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, c.Outcome)
}

// TestObserverHearsEveryOutcome: the observer (the metrics) hears of the
// outcomes the telemetry test cannot easily cause: a panic (error) and the
// rate limit, besides an ordinary call.
func TestObserverHearsEveryOutcome(t *testing.T) {
	obs := &countingObserver{}
	panicking := transformFunc(func(_ context.Context, r *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		if r.EventID == "panic" {
			panic("boom")
		}
		return nil, nil
	})
	srv, _ := newTestServer(t, func(c *server.Config) {
		c.Transformer, c.Observer, c.RatePerSource, c.RateBurst = panicking, obs, 0.001, 2
	})
	ok := tokenRequest("jessie.smith@example.com", true)
	for _, body := range []string{ok, strings.Replace(ok, "3OWo4oo-QQ-rBWfRyTmQYw", "panic", 1), ok} {
		do(srv, "POST", hookPath, body, "Authorization", guideBasic, "Content-Type", "application/json")
	}
	want := []server.Outcome{server.OutcomeNoop, server.OutcomeError, server.OutcomeRateLimited}
	if !slices.Equal(obs.outcomes, want) {
		t.Errorf("outcomes %v, want %v", obs.outcomes, want)
	}
}

// latencyRE matches a JSON log line's latency, which leak checks skip.
var latencyRE = regexp.MustCompile(`"latency":\d+`)
