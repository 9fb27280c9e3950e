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
	"strings"
	"testing"

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
			for _, secret := range []string{"supersecret", "YWRtaW46", "s3cr3t-v4lue", "1235", "6789"} {
				if strings.Contains(logs.String(), secret) {
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
