package inlinehook_test

import (
	"context"
	"encoding/json/v2"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

func TestHandlerFunc(t *testing.T) {
	fixture := string(mustReadFile(t, "requests", "authorization_code.json"))
	patient := func(_ context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		if req.Login() != "jessie.smith@example.com" {
			return nil, nil
		}
		return &inlinehook.Response{Commands: []inlinehook.Command{
			inlinehook.PatchIdentity(inlinehook.AddClaim("extPatientId", "1235")),
		}}, nil
	}
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		fn          inlinehook.HandlerFunc
		status      int
		wantBody    string // JSON; "" for no body
		allow       string
	}{
		{name: "patch", body: fixture, fn: patient, status: 200,
			wantBody: `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"}]}]}`},
		{name: "charset parameter accepted", contentType: "application/json; charset=utf-8", body: fixture, fn: patient, status: 200,
			wantBody: `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"}]}]}`},
		// The guide's service answers 204 for users it does not know.
		{name: "nil response is 204", body: `{"data":{}}`, fn: patient, status: 204},
		{name: "empty response is 204", body: fixture, status: 204,
			fn: func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
				return &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity()}}, nil
			}},
		{name: "debugContext alone is sent", body: fixture, status: 200, wantBody: `{"debugContext":{"why":"no patient"}}`,
			fn: func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
				return &inlinehook.Response{DebugContext: map[string]any{"why": "no patient"}}, nil
			}},
		{name: "deny is 200", body: fixture, status: 200, wantBody: `{"error":{"errorSummary":"locked"}}`,
			fn: func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
				return inlinehook.Deny("locked"), nil
			}},
		{name: "GET", method: "GET", fn: patient, status: 405, allow: "POST",
			wantBody: `{"error":"method GET not allowed: use POST"}`},
		{name: "PUT", method: "PUT", body: fixture, fn: patient, status: 405, allow: "POST",
			wantBody: `{"error":"method PUT not allowed: use POST"}`},
		{name: "no content type", contentType: "-", body: fixture, fn: patient, status: 415,
			wantBody: `{"error":"Content-Type must be application/json, not \"\""}`},
		{name: "form content type", contentType: "application/x-www-form-urlencoded", body: fixture, fn: patient, status: 415,
			wantBody: `{"error":"Content-Type must be application/json, not \"application/x-www-form-urlencoded\""}`},
		{name: "malformed content type", contentType: "application/json; =", body: fixture, fn: patient, status: 415,
			wantBody: `{"error":"Content-Type must be application/json, not \"application/json; =\""}`},
		{name: "too large", body: `{"data":{},"pad":"` + strings.Repeat("x", inlinehook.MaxRequestSize) + `"}`, fn: patient, status: 413,
			wantBody: `{"error":"request body larger than 1048576 bytes"}`},
		{name: "empty body", body: "", fn: patient, status: 400, wantBody: `{"error":"request body is empty"}`},
		{name: "syntax error", body: "{\n  \"data\": {\n    \"context\": }\n}", fn: patient, status: 400,
			wantBody: `{"error":"invalid token inline hook request: invalid JSON: missing value after object name (line 3, column 16)"}`},
		{name: "wrong type", body: `{"data":{"identity":{"claims":[]}}}`, fn: patient, status: 400,
			wantBody: `{"error":"invalid token inline hook request: unexpected JSON array at /data/identity/claims, want an object (line 1, column 31)"}`},
		{name: "null body", body: `null`, fn: patient, status: 400,
			wantBody: `{"error":"invalid token inline hook request: invalid JSON: not a JSON object (line 1, column 1)"}`},
		{name: "function error is 500 without details", body: fixture, status: 500, wantBody: `{"error":"internal error"}`,
			fn: func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
				return nil, errors.New("db password is hunter2")
			}},
		{name: "unencodable response is 500", body: fixture, status: 500, wantBody: `{"error":"internal error"}`,
			fn: func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
				return &inlinehook.Response{DebugContext: map[string]any{"c": make(chan int)}}, nil
			}},
		{name: "response Okta would refuse for size is 500", body: fixture, status: 500, wantBody: `{"error":"internal error"}`,
			fn: func(context.Context, *inlinehook.TokenRequest) (*inlinehook.Response, error) {
				return &inlinehook.Response{DebugContext: map[string]any{"pad": strings.Repeat("x", inlinehook.MaxResponseSize)}}, nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			r := httptest.NewRequestWithContext(t.Context(), method, "/tokenHook", strings.NewReader(tt.body))
			switch tt.contentType {
			case "":
				r.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			tt.fn.ServeHTTP(w, r)
			res := w.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", res.StatusCode, tt.status, body)
			}
			if got := res.Header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			if tt.wantBody == "" {
				if len(body) != 0 {
					t.Errorf("body %q, want none", body)
				}
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !jsonEqual(t, body, []byte(tt.wantBody)) {
				t.Errorf("body\n got %s\nwant %s", body, tt.wantBody)
			}
		})
	}
}

// TestHandlerFuncContext: the function gets the request's context.
func TestHandlerFuncContext(t *testing.T) {
	type key struct{}
	var got any
	h := inlinehook.HandlerFunc(func(ctx context.Context, _ *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		got = ctx.Value(key{})
		return nil, nil
	})
	ctx := context.WithValue(t.Context(), key{}, "v")
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got != "v" {
		t.Errorf("context value = %v", got)
	}
}

// TestHandlerFuncOverHTTP runs the handler on a real loopback server, as
// Okta calls it, and parses the answer the way Okta does.
func TestHandlerFuncOverHTTP(t *testing.T) {
	srv := httptest.NewServer(inlinehook.HandlerFunc(func(_ context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		return &inlinehook.Response{Commands: []inlinehook.Command{
			inlinehook.PatchAccess(inlinehook.AddClaim("client", req.ClientID())),
		}}, nil
	}))
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(string(mustReadFile(t, "requests", "client_credentials.json"))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	resp, err := inlinehook.ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	result, err := inlinehook.Apply(mustRequest(t, "client_credentials"), resp)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(result.Access.Claims["client"]); string(got) != `"0oaY3ahE825uDNBoisiL"` {
		t.Errorf("client claim = %s", got)
	}
}
