package preview_test

import (
	"bytes"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/inlinehook/inlinehooktest"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
	"github.com/tokenhook/tokenhook/internal/preview"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// hook is a test hook that answers status with body and keeps the last
// request body it got.
type hook struct {
	*httptest.Server
	mu   sync.Mutex
	body []byte
}

func newHook(t *testing.T, status int, body string) *hook {
	t.Helper()
	h := &hook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.body = b
		h.mu.Unlock()
		if status == 0 { // hang until the caller gives up
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) received() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.body
}

// fixedClock makes durations zero and timestamps fixed.
func fixedClock() time.Time { return time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC) }

func caller(t *testing.T, url string) *hookcall.Caller {
	t.Helper()
	h, err := preview.Target{URL: url}.Hook()
	if err != nil {
		t.Fatal(err)
	}
	return &hookcall.Caller{Hook: h, Now: fixedClock}
}

func text(t *testing.T, r *preview.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

const patientResponse = `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"}]}]}`

func TestRunVerdicts(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		timeout  time.Duration
		want     hookcall.Verdict
		exit     int
		contains []string // lines of the text report
	}{
		{
			name: "applied shows the added claim", status: 200, body: patientResponse,
			want: hookcall.Applied, exit: 0,
			contains: []string{
				`Verdict    APPLIED: Okta mints the tokens with the hook's changes.`,
				"ID token\n  + extPatientId: \"1235\"\n",
				"Access token\n  no change (lifetime 3600 s, 8 claims)\n",
				"  inline_hook.response.processed SUCCESS\n",
			},
		},
		{
			name: "applied lifetime and changes", status: 200,
			body: `{"commands":[{"type":"com.okta.identity.patch","value":[` +
				`{"op":"replace","path":"/claims/name","value":"Jessie S."},` +
				`{"op":"remove","path":"/claims/email"},` +
				`{"op":"replace","path":"/token/lifetime/expiration","value":300}]}]}`,
			want: hookcall.Applied, exit: 0,
			contains: []string{
				"ID token\n  - email: \"jessie.smith@example.com\"\n  ~ name: \"Jessie Smith\" → \"Jessie S.\"\n  ~ lifetime: 3600 s → 300 s\n",
			},
		},
		{
			name: "discarded lists every reason", status: 200,
			body: `{"commands":[{"type":"com.okta.identity.patch","value":[` +
				`{"op":"add","path":"/claims/iss","value":"x"},` +
				`{"op":"replace","path":"/token/lifetime/expiration","value":299}]}]}`,
			want: hookcall.Discarded, exit: 1,
			contains: []string{
				"Verdict    DISCARDED: Okta drops every command and mints the tokens unmodified, because:\n" +
					"           - Claim is reserved(op=add, path=/claims/iss)\n" +
					"           - Lifetime must be between 300 and 86400 seconds(op=replace, path=/token/lifetime/expiration)\n",
				"ID token\n  no change",
				"inline_hook.response.processed FAILURE: Claim is reserved(op=add, path=/claims/iss); Lifetime must be",
			},
		},
		{
			name: "denied shows the OAuth error", status: 200, body: `{"error":{"errorSummary":"Patient record locked"}}`,
			want: hookcall.Denied, exit: 1,
			contains: []string{
				"Verdict    DENIED: Okta mints no token; the requester gets the OAuth error\n" +
					"           error=server_error\n           error_description=Patient record locked\n",
				"ID token\n  not minted\n",
			},
		},
		{
			name: "500 fails", status: 500, body: `{"message":"store down"}`,
			want: hookcall.Failed, exit: 1,
			contains: []string{
				"Answer     500 Internal Server Error in 0 ms (24 bytes)\n",
				`"message": "store down"`,
				"Verdict    FAILED: The hook responded with status 500. Okta mints the tokens unmodified.\n",
				"inline_hook.executed FAILURE: The hook responded with status 500",
			},
		},
		{
			name: "timeout fails", status: 0, timeout: 200 * time.Millisecond,
			want: hookcall.Failed, exit: 1,
			contains: []string{
				"Answer     none, after 0 ms\n",
				"Verdict    FAILED: Timed out after 200ms. Okta mints the tokens unmodified.\n",
			},
		},
		{
			name: "not JSON fails", status: 200, body: "<html>hello</html>",
			want: hookcall.Failed, exit: 1,
			contains: []string{
				"           <html>hello</html>\n",
				"Verdict    FAILED: Could not deserialize inline hook response due to error at Line 1 Column 1.",
			},
		},
		{
			name: "204 is no change", status: 204,
			want: hookcall.NoOp, exit: 0,
			contains: []string{
				"Answer     204 No Content in 0 ms (0 bytes)\n",
				"Verdict    NO CHANGE: the hook asked for nothing; Okta mints the tokens as they were.\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHook(t, tt.status, tt.body)
			c := caller(t, h.URL+"/tokenHook")
			c.Hook.Timeout = tt.timeout
			r := preview.Run(t.Context(), c, inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))
			if r.Verdict != tt.want || r.ExitCode() != tt.exit {
				t.Fatalf("verdict %s exit %d, want %s %d (cause %q)", r.Verdict, r.ExitCode(), tt.want, tt.exit, r.Cause)
			}
			out := text(t, r)
			for _, want := range tt.contains {
				if !strings.Contains(out, want) {
					t.Errorf("the report lacks %q:\n%s", want, out)
				}
			}
			if c.Record != nil {
				t.Error("Run left its recorder on the caller")
			}
		})
	}
}

// normalize replaces what changes between runs: the hook's port and the
// events' UUIDs.
func normalize(s, hookURL string) string {
	s = strings.ReplaceAll(s, hookURL, "http://127.0.0.1:PORT")
	return regexp.MustCompile(`"uuid": "[0-9a-f-]{36}"`).ReplaceAllString(s, `"uuid": "UUID"`)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); run with -update and review:\n%s", path, diff)
	}
}

func TestReportGolden(t *testing.T) {
	h := newHook(t, 200, `{"commands":[`+
		`{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"}]},`+
		`{"type":"com.okta.access.patch","value":[{"op":"add","path":"/claims/clinics","value":["north"]},`+
		`{"op":"replace","path":"/token/lifetime/expiration","value":900}]}],`+
		`"debugContext":{"lookup":"hit"}}`)
	c := caller(t, h.URL+"/tokenHook?key=not-shown")
	c.Hook.Auth.Header = &hookcall.Header{Name: "Authorization", Value: "Basic YWRtaW46c3VwZXJzZWNyZXQ="}
	r := preview.Run(t.Context(), c, inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))

	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !jsontext.Value(js.Bytes()).IsValid() {
		t.Fatalf("not JSON:\n%s", js.String())
	}
	for _, secret := range []string{"YWRtaW46c3VwZXJzZWNyZXQ", "not-shown"} {
		if strings.Contains(js.String()+text(t, r), secret) {
			t.Errorf("the report shows %q", secret)
		}
	}
	golden(t, "report.json.golden", normalize(js.String(), h.URL))
	golden(t, "report.txt.golden", normalize(text(t, r), h.URL))

	// The documented fields, as a script would read them.
	var doc struct {
		Verdict string `json:"verdict"`
		Status  int    `json:"status"`
		Request struct {
			GrantType string   `json:"grantType"`
			User      string   `json:"user"`
			Minted    []string `json:"minted"`
		} `json:"request"`
		Tokens []struct {
			Token         string `json:"token"`
			LifetimeAfter int    `json:"lifetimeAfter"`
			Changes       []struct {
				Kind  string         `json:"kind"`
				Claim string         `json:"claim"`
				After jsontext.Value `json:"after"`
			} `json:"changes"`
			After map[string]any `json:"after"`
		} `json:"tokens"`
		Events []hookcall.Event `json:"events"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Verdict != "applied" || doc.Status != 200 || doc.Request.GrantType != "authorization_code" ||
		doc.Request.User != inlinehooktest.DefaultLogin || len(doc.Tokens) != 2 ||
		doc.Tokens[0].After["extPatientId"] != "1235" || doc.Tokens[1].LifetimeAfter != 900 ||
		string(doc.Tokens[0].Changes[0].After) != `"1235"` || len(doc.Events) != 1 {
		t.Errorf("JSON report: %+v", doc)
	}
}

// Okta's own preview output, with members we do not know, goes to the hook
// whole.
func TestRequestWithUnknownMembers(t *testing.T) {
	req, err := preview.ReadRequestFile(filepath.Join("testdata", "okta_preview_request.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHook(t, 204, "")
	r := preview.Run(t.Context(), caller(t, h.URL), req)
	if r.Verdict != hookcall.NoOp {
		t.Fatalf("verdict %s: %s", r.Verdict, r.Cause)
	}
	sent := string(h.received())
	for _, member := range []string{`"x-okta-trace"`, `"hookVersion":2`, `"audienceDetails":[]`, `"geo":`, `"consent":"IMPLICIT"`} {
		if !strings.Contains(sent, member) {
			t.Errorf("the hook did not get %s:\n%s", member, sent)
		}
	}
	if r.Request.GrantType != "authorization_code" || r.Request.User != "jessie.smith@example.com" ||
		!cmp.Equal(r.Request.Minted, []string{"id_token", "access_token", "refresh_token"}) {
		t.Errorf("summary %+v", r.Request)
	}

	// From standard input too.
	data, err := os.ReadFile(filepath.Join("testdata", "okta_preview_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := preview.ReadRequestFile("-", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := preview.ReadRequestFile("-", strings.NewReader(`{"data": []}`)); err == nil ||
		!strings.Contains(err.Error(), "standard input") {
		t.Errorf("bad request from stdin: %v", err)
	}
}

func TestEdits(t *testing.T) {
	tests := []struct {
		name  string
		sets  []string
		check func(t *testing.T, req *inlinehook.TokenRequest)
		err   string
	}{
		{
			name: "a claim, as JSON",
			sets: []string{`/data/identity/claims/preferred_username="kim.sato@example.com"`},
			check: func(t *testing.T, req *inlinehook.TokenRequest) {
				if got := req.Data.Identity.Claims["preferred_username"]; got != "kim.sato@example.com" {
					t.Errorf("preferred_username %v", got)
				}
			},
		},
		{
			name: "a bare word is a string; numbers and objects are JSON",
			sets: []string{
				"/data/context/user/profile/login=kim.sato@example.com",
				"/data/identity/claims/level=3",
				`/data/identity/claims/profile={"a":[1,true]}`,
				"/data/identity/claims/amr/-=mfa",
				"/data/identity/claims/amr/0=otp",
				"/data/identity/claims/https:~1~1example.com~1plan=gold",
				"/data/identity/token/lifetime/expiration=600",
			},
			check: func(t *testing.T, req *inlinehook.TokenRequest) {
				c := req.Data.Identity.Claims
				want := inlinehook.Claims{
					"level": 3.0, "profile": map[string]any{"a": []any{1.0, true}},
					"amr": []any{"otp", "mfa"}, "https://example.com/plan": "gold",
				}
				for k, v := range want {
					if diff := cmp.Diff(v, c[k]); diff != "" {
						t.Errorf("%s (-want +got):\n%s", k, diff)
					}
				}
				if req.Login() != "kim.sato@example.com" || req.Data.Identity.Token.Lifetime.Expiration != 600 {
					t.Errorf("login %q, lifetime %d", req.Login(), req.Data.Identity.Token.Lifetime.Expiration)
				}
			},
		},
		{
			name: "objects on the way are created",
			sets: []string{`/data/identity/claims/preferred_username="kim.sato@example.com"`},
			check: func(t *testing.T, req *inlinehook.TokenRequest) {
				if req.Data.Identity == nil || req.Data.Identity.Claims["preferred_username"] != "kim.sato@example.com" {
					t.Errorf("identity %+v", req.Data.Identity)
				}
			},
		},
		{name: "not a pointer", sets: []string{"data/x=1"}, err: `"data/x" is not a JSON Pointer`},
		{name: "no value", sets: []string{"/data/x"}, err: "want PATH=VALUE"},
		{name: "into a string", sets: []string{"/eventId/x=1"}, err: "/eventId/x: /eventId is neither an object nor an array"},
		{name: "index out of range", sets: []string{"/data/identity/claims/amr/5=x"}, err: "not an index of the array at /data/identity/claims/amr (length 1)"},
		{name: "wrong type for the request", sets: []string{"/data/identity/claims=[1]"}, err: "/data/identity/claims has the wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode)
			if tt.name == "objects on the way are created" {
				req = inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode, inlinehooktest.WithScopes("okta.myAccount.read"))
				if req.Data.Identity != nil {
					t.Fatal("the request has an ID token")
				}
			}
			orig := string(inlinehooktest.MustJSON(t, req))
			var edits []preview.Edit
			var err error
			for _, s := range tt.sets {
				var e preview.Edit
				if e, err = preview.ParseEdit(s); err != nil {
					break
				}
				edits = append(edits, e)
			}
			var got *inlinehook.TokenRequest
			if err == nil {
				got, err = preview.ApplyEdits(req, edits)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
			if string(inlinehooktest.MustJSON(t, req)) != orig {
				t.Error("ApplyEdits modified its input")
			}
		})
	}
}

func TestSetLogin(t *testing.T) {
	req := inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode)
	preview.SetLogin(req, "kim.sato@example.com")
	if req.Data.Context.User.Profile.Login != "kim.sato@example.com" ||
		req.Data.Context.Session.Login != "kim.sato@example.com" ||
		req.Data.Identity.Claims["preferred_username"] != "kim.sato@example.com" ||
		req.Data.Access.Claims["sub"] != "kim.sato@example.com" {
		t.Errorf("login not set everywhere: %s", inlinehooktest.MustJSON(t, req))
	}
	// Without profile scope there is no preferred_username: none is added.
	req = inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode, inlinehooktest.WithScopes("openid"))
	preview.SetLogin(req, "kim.sato@example.com")
	if _, ok := req.Data.Identity.Claims["preferred_username"]; ok {
		t.Error("preferred_username added")
	}
	// Client credentials: no user, nothing to set.
	req = inlinehooktest.NewRequest(inlinehooktest.ClientCredentials)
	preview.SetLogin(req, "kim.sato@example.com")
	if req.Login() != "" || req.Data.Access.Claims["sub"] == "kim.sato@example.com" {
		t.Errorf("client credentials request changed: %s", inlinehooktest.MustJSON(t, req))
	}
}

func TestTargetHook(t *testing.T) {
	tests := []struct {
		name   string
		target preview.Target
		err    string
		check  func(t *testing.T, h hookcall.Hook)
	}{
		{
			name:   "headers",
			target: preview.Target{URL: "https://h.example.com/", Headers: []string{"X-A: 1", "X-B:two words "}, AuthHeader: "Authorization: Basic abc"},
			check: func(t *testing.T, h hookcall.Hook) {
				want := []hookcall.Header{{Name: "X-A", Value: "1"}, {Name: "X-B", Value: "two words"}}
				if diff := cmp.Diff(want, h.Headers); diff != "" || h.Auth.Header.Value != "Basic abc" {
					t.Errorf("headers (-want +got):\n%s auth %+v", diff, h.Auth.Header)
				}
			},
		},
		{name: "http to loopback is fine", target: preview.Target{URL: "http://localhost:8082/tokenHook"}},
		{name: "http elsewhere needs --allow-http", target: preview.Target{URL: "http://hook:8082/"}, err: "loopback host only"},
		{name: "http elsewhere with --allow-http", target: preview.Target{URL: "http://hook:8082/", AllowHTTPAnyHost: true}},
		{name: "bad header", target: preview.Target{URL: "https://h.example.com/", AuthHeader: "Basic secret-value"}, err: `--auth-header: want "Name: value"`},
		{
			name:   "reserved table and DPoP",
			target: preview.Target{URL: "https://h.example.com/", Reserved: "union", DPoP: true},
			check: func(t *testing.T, h hookcall.Hook) {
				if h.Rules != (inlinehook.Rules{ReservedClaims: inlinehook.ReservedUnion, DPoP: true}) {
					t.Errorf("rules %+v", h.Rules)
				}
			},
		},
		{name: "unknown table", target: preview.Target{URL: "https://h.example.com/", Reserved: "2020"}, err: `--reserved "2020"`},
		{
			name:   "oauth secret",
			target: preview.Target{URL: "https://h.example.com/", OAuthTokenURL: "https://org/v1/token", OAuthClientID: "c", OAuthClientSecret: "s"},
			check: func(t *testing.T, h hookcall.Hook) {
				if h.Auth.OAuth.AuthType != hookcall.ClientSecretPost {
					t.Errorf("auth %+v", h.Auth.OAuth)
				}
			},
		},
		{name: "oauth without credentials", target: preview.Target{URL: "https://h.example.com/", OAuthTokenURL: "https://org/v1/token", OAuthClientID: "c"}, err: "a client secret"},
		{name: "oauth key file missing", target: preview.Target{URL: "https://h.example.com/", OAuthTokenURL: "https://org/v1/token", OAuthClientID: "c", OAuthPrivateKeyFile: "/nonexistent/key.pem"}, err: "--oauth-private-key"},
		{name: "header and oauth", target: preview.Target{URL: "https://h.example.com/", AuthHeader: "A: b", OAuthTokenURL: "https://org/v1/token", OAuthClientID: "c", OAuthClientSecret: "s"}, err: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := tt.target.Hook()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "secret-value") {
					t.Errorf("the error quotes the header: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
}
