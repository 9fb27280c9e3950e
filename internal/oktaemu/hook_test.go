package oktaemu_test

import (
	"encoding/json/v2"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/inlinehook/inlinehooktest"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// codeFlowTokens runs a code flow for a confidential web client and
// returns the token response.
func codeFlowTokens(t *testing.T, emu *testEmu, login, scope string) (page, tokenJSON) {
	t.Helper()
	b := newBrowser(t)
	p := b.signIn(emu, codeParams(webID, webRedirect, scope, ""), login, password)
	code := redirectParams(t, p.location).Get("code")
	if code == "" {
		return p, tokenJSON{}
	}
	status, tok, _ := tokenRequest(t, emu, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}}, webID, webSecret)
	if status != http.StatusOK {
		t.Fatalf("token: %d %+v", status, tok)
	}
	return p, tok
}

func TestHookAddsPatientID(t *testing.T) {
	hook := newTestHook(t, patients)
	cfg := withHook(testConfig(t), hook.URL)
	cfg.Hook.Auth = oktaemu.HookAuth{Type: oktaemu.HookAuthHeader, Key: "Authorization", Value: "Basic YWRtaW46c3VwZXJzZWNyZXQ="}
	cfg.Hook.Headers = []oktaemu.HookHeader{{Key: "X-Env", Value: "test"}}
	emu := newTestEmu(t, cfg, oktaemu.Options{})
	for _, tc := range []struct{ login, patientID string }{
		{jessie, "1235"},
		{"kim.sato@example.com", "6789"},
		{"pat.doe@example.com", ""},
	} {
		t.Run(tc.login, func(t *testing.T) {
			pw := password
			if strings.HasPrefix(tc.login, "kim") {
				pw = "kim-secret-1"
			}
			b := newBrowser(t)
			p := b.signIn(emu, codeParams(webID, webRedirect, "openid profile email", ""), tc.login, pw)
			_, tok, _ := tokenRequest(t, emu, url.Values{"grant_type": {"authorization_code"},
				"code": {redirectParams(t, p.location).Get("code")}, "redirect_uri": {webRedirect}}, webID, webSecret)
			_, id := verifyIDToken(t, emu, webID, tok.IDToken, nil)
			got, _ := id["patientId"].(string)
			if got != tc.patientID {
				t.Errorf("patientId = %q, want %q", got, tc.patientID)
			}
			if id["iss"] != emu.Issuer || lifetime(id) != 3600 {
				t.Errorf("iss %v lifetime %d", id["iss"], lifetime(id))
			}
		})
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if len(hook.headers) != 3 {
		t.Fatalf("%d hook calls, want 3", len(hook.headers))
	}
	h := hook.headers[0]
	if h.Get("Authorization") != "Basic YWRtaW46c3VwZXJzZWNyZXQ=" || h.Get("X-Env") != "test" ||
		h.Get("Accept") != "application/json" || h.Get("Content-Type") != "application/json" {
		t.Errorf("hook call headers %v", h)
	}
	events := emu.Events()
	if len(events) != 3 || events[0].Outcome.Result != hookcall.ResultSuccess {
		t.Errorf("events %+v", events)
	}
}

func TestHookDenied(t *testing.T) {
	for _, tc := range []struct {
		name, summary, want string
		deniedStatus        int
	}{
		{"with summary", "Patient record locked", "Patient record locked", 0},
		{"default summary", "", inlinehook.DefaultErrorSummary, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := newTestHook(t, func(*inlinehook.TokenRequest) *inlinehook.Response { return inlinehook.Deny(tc.summary) })
			cfg := withHook(testConfig(t), hook.URL)
			cfg.Hook.DeniedStatus = tc.deniedStatus
			emu := newTestEmu(t, cfg, oktaemu.Options{})

			// Code flow: the hook runs at /authorize, the error goes to the
			// redirect URI.
			b := newBrowser(t)
			p := b.signIn(emu, codeParams(webID, webRedirect, "openid", ""), jessie, password)
			got := redirectParams(t, p.location)
			want := url.Values{"error": {"server_error"}, "error_description": {tc.want}, "state": {"state-123"}}
			if diff := cmp.Diff(want, got); diff != "" || !strings.HasPrefix(p.location, webRedirect+"?") {
				t.Errorf("code flow redirect %q (-want +got):\n%s", p.location, diff)
			}

			// Implicit: in the fragment.
			p = b.get(emu.Issuer + "/v1/authorize?" + url.Values{"client_id": {spaID}, "response_type": {"id_token"},
				"scope": {"openid"}, "redirect_uri": {spaRedirect}, "state": {"s"}, "nonce": {"n"}}.Encode())
			if !strings.HasPrefix(p.location, spaRedirect+"#") || redirectParams(t, p.location).Get("error") != "server_error" {
				t.Errorf("implicit redirect %q", p.location)
			}

			// /token: JSON, 400 unless configured otherwise.
			status, tok, _ := tokenRequest(t, emu, url.Values{"grant_type": {"password"}, "username": {jessie},
				"password": {password}, "scope": {"openid"}}, webID, webSecret)
			wantStatus := http.StatusBadRequest
			if tc.deniedStatus == 500 {
				wantStatus = http.StatusInternalServerError
			}
			if status != wantStatus || tok.Error != "server_error" || tok.ErrorDescription != tc.want || tok.AccessToken != "" {
				t.Errorf("token: %d %+v, want %d", status, tok, wantStatus)
			}
		})
	}
}

func TestHookDiscarded(t *testing.T) {
	hook := newTestHook(t, func(*inlinehook.TokenRequest) *inlinehook.Response {
		return &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity(
			inlinehook.AddClaim("patientId", "1235"), // valid, but discarded with the rest
			inlinehook.ReplaceClaim("iss", "https://evil.test"),
		)}}
	})
	emu := newTestEmu(t, withHook(testConfig(t), hook.URL), oktaemu.Options{})
	_, tok := codeFlowTokens(t, emu, jessie, "openid profile")
	_, id := verifyIDToken(t, emu, webID, tok.IDToken, nil)
	if _, ok := id["patientId"]; ok || id["iss"] != emu.Issuer {
		t.Errorf("discarded answer applied: %v", id)
	}

	var events []hookcall.Event
	p := newBrowser(t).get(emu.URL + "/system-log.json")
	if err := json.Unmarshal([]byte(p.body), &events); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d events, want 1", len(events))
	}
	ev := events[0]
	msg, _ := ev.DebugContext.DebugData[hookcall.DebugErrorMessage].(string)
	if ev.EventType != hookcall.EventResponseProcessed || ev.Outcome.Result != hookcall.ResultFailure || !strings.Contains(msg, "/claims/iss") {
		t.Errorf("event %+v", ev)
	}
	if strings.Contains(p.body, "1235") || strings.Contains(p.body, "evil.test") {
		t.Error("the System Log holds claim values")
	}
	page := newBrowser(t).get(emu.URL + "/system-log")
	if !strings.Contains(page.body, "FAILURE") || !strings.Contains(page.body, "/claims/iss") {
		t.Errorf("system log page lacks the failure:\n%s", page.body)
	}
}

func TestHookGrantTypes(t *testing.T) {
	hook := newTestHook(t, patients)
	emu := newTestEmu(t, withHook(testConfig(t), hook.URL, "password"), oktaemu.Options{})
	_, tok := codeFlowTokens(t, emu, jessie, "openid")
	if n := len(hook.requests()); n != 0 {
		t.Errorf("the code flow called a password-only hook %d times", n)
	}
	_, id := verifyIDToken(t, emu, webID, tok.IDToken, nil)
	if _, ok := id["patientId"]; ok {
		t.Error("patientId without a hook call")
	}
	status, ptok, _ := tokenRequest(t, emu, url.Values{"grant_type": {"password"}, "username": {jessie},
		"password": {password}, "scope": {"openid"}}, webID, webSecret)
	if status != http.StatusOK || len(hook.requests()) != 1 {
		t.Fatalf("password grant: %d, %d hook calls", status, len(hook.requests()))
	}
	if _, id := verifyIDToken(t, emu, webID, ptok.IDToken, nil); id["patientId"] != "1235" {
		t.Errorf("password grant ID token %v", id)
	}
}

func TestHookLifetimes(t *testing.T) {
	clk := newClock()
	hook := newTestHook(t, func(*inlinehook.TokenRequest) *inlinehook.Response {
		return &inlinehook.Response{Commands: []inlinehook.Command{
			inlinehook.PatchIdentity(inlinehook.SetLifetime(600)),
			inlinehook.PatchAccess(inlinehook.SetLifetime(7200), inlinehook.AddClaim("plan", "premium")),
		}}
	})
	emu := newTestEmu(t, withHook(testConfig(t), hook.URL), oktaemu.Options{Now: clk.Now})
	status, tok, _ := tokenRequest(t, emu, url.Values{"grant_type": {"password"}, "username": {jessie},
		"password": {password}, "scope": {"openid"}}, webID, webSecret)
	if status != http.StatusOK || tok.ExpiresIn != 7200 {
		t.Fatalf("%d %+v", status, tok)
	}
	_, id := verifyIDToken(t, emu, webID, tok.IDToken, clk.Now)
	at := verifyAccessToken(t, emu, tok.AccessToken)
	if lifetime(id) != 600 || lifetime(at) != 7200 || at["plan"] != "premium" || at["iat"] != float64(clk.Now().Unix()) {
		t.Errorf("ID lifetime %d, access lifetime %d, access %v", lifetime(id), lifetime(at), at)
	}
}

func TestHookFailureKnobs(t *testing.T) {
	hook := newTestHook(t, patients)
	cfg := withHook(testConfig(t), hook.URL)
	cfg.Hook.Timeout = 100 * time.Millisecond
	// The delay knob eats the whole budget: Okta gives up and mints the
	// tokens unmodified.
	emu := newTestEmu(t, cfg, oktaemu.Options{HookDelay: 300 * time.Millisecond})
	status, tok, _ := tokenRequest(t, emu, url.Values{"grant_type": {"password"}, "username": {jessie},
		"password": {password}, "scope": {"openid"}}, webID, webSecret)
	if status != http.StatusOK {
		t.Fatalf("%d %+v", status, tok)
	}
	if _, id := verifyIDToken(t, emu, webID, tok.IDToken, nil); id["patientId"] != nil {
		t.Error("patientId despite the timeout")
	}
	events := emu.Events()
	if len(events) != 1 || events[0].EventType != hookcall.EventExecuted || events[0].Outcome.Result != hookcall.ResultFailure {
		t.Errorf("events %+v", events)
	}
}

// shape lists the JSON paths of a request's object members: what members
// exist, not their values. Scope names (map keys) are left out.
func shape(t *testing.T, req *inlinehook.TokenRequest) []string {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var paths []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, child := range m {
			if strings.HasSuffix(prefix, "/scopes") {
				paths = append(paths, prefix+"/*")
				walk(prefix+"/*", child)
				continue
			}
			paths = append(paths, prefix+"/"+k)
			if !strings.HasSuffix(prefix, "/claims") {
				walk(prefix+"/"+k, child)
			}
		}
	}
	walk("", v)
	sort.Strings(paths)
	return slices.Compact(paths)
}

// TestHookPayloadPerGrant checks the request the hook receives for each
// grant: the shape inlinehooktest (the contract's inferences) builds, and
// the values that differ per grant.
func TestHookPayloadPerGrant(t *testing.T) {
	hook := newTestHook(t, func(*inlinehook.TokenRequest) *inlinehook.Response { return nil })
	cfg := withHook(testConfig(t), hook.URL)
	cfg.Claims = nil // inlinehooktest's tokens carry no custom claims
	emu := newTestEmu(t, cfg, oktaemu.Options{})
	last := func() *inlinehook.TokenRequest {
		reqs := hook.requests()
		if len(reqs) == 0 {
			t.Fatal("the hook was not called")
		}
		return reqs[len(reqs)-1]
	}
	webOpt := inlinehooktest.WithClient(webID, "Patient Portal")

	t.Run("authorization_code", func(t *testing.T) {
		params := codeParams(webID, webRedirect, "openid profile email", "")
		newBrowser(t).signIn(emu, params, jessie, password)
		req := last()
		if diff := cmp.Diff(shape(t, inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode, webOpt)), shape(t, req)); diff != "" {
			t.Errorf("shape (-inlinehooktest +emulator):\n%s", diff)
		}
		ctx := req.Data.Context
		if req.Source != emu.Issuer+"/v1/authorize" || ctx.Request.Method != "GET" ||
			ctx.Request.URL.Value != emu.Issuer+"/v1/authorize?"+params.Encode() || ctx.Request.IPAddress != "127.0.0.1" {
			t.Errorf("source %q, request %+v", req.Source, ctx.Request)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", req.EventTime); err != nil || len(req.EventID) != 22 {
			t.Errorf("eventTime %q, eventId %q", req.EventTime, req.EventID)
		}
		want := inlinehook.ProtocolRequest{ClientID: webID, RedirectURI: webRedirect, ResponseMode: "query",
			ResponseType: "code", Scope: "openid profile email", State: "state-123"}
		if diff := cmp.Diff(want, *ctx.Protocol.Request, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Unknown" }, cmp.Ignore())); diff != "" {
			t.Errorf("protocol.request (-want +got):\n%s", diff)
		}
		if ctx.Protocol.Client.Type != "CONFIDENTIAL" || ctx.Session.Login != jessie || ctx.Session.UserID != ctx.User.ID ||
			req.Data.Identity.Claims["nonce"] != "nonce-456" || req.Data.Access.Scopes["openid"].Action != "GRANT" {
			t.Errorf("context %+v", ctx)
		}
		for _, c := range []string{"iat", "exp", "at_hash"} {
			if _, ok := req.Data.Identity.Claims[c]; ok {
				t.Errorf("identity claims carry %s", c)
			}
		}
		if _, ok := req.Data.Access.Claims["scp"]; ok {
			t.Error("access claims carry scp")
		}
	})
	t.Run("no openid, no identity", func(t *testing.T) {
		newBrowser(t).signIn(emu, codeParams(webID, webRedirect, "profile", ""), jessie, password)
		if req := last(); req.Data.Identity != nil || req.Data.Access == nil {
			t.Errorf("identity %v access %v", req.Data.Identity, req.Data.Access)
		}
	})
	t.Run("implicit", func(t *testing.T) {
		newBrowser(t).signIn(emu, url.Values{"client_id": {spaID}, "response_type": {"id_token token"}, "scope": {"openid profile email"},
			"redirect_uri": {spaRedirect}, "state": {"s"}, "nonce": {"n"}}, jessie, password)
		req := last()
		if diff := cmp.Diff(shape(t, inlinehooktest.NewRequest(inlinehooktest.Implicit)), shape(t, req)); diff != "" {
			t.Errorf("shape (-inlinehooktest +emulator):\n%s", diff)
		}
		if req.Data.Context.Protocol.Request.ResponseMode != "fragment" || req.Data.Context.Protocol.Client.Type != "PUBLIC" {
			t.Errorf("protocol %+v", req.Data.Context.Protocol)
		}
	})
	t.Run("implicit id_token only", func(t *testing.T) {
		newBrowser(t).signIn(emu, url.Values{"client_id": {spaID}, "response_type": {"id_token"}, "scope": {"openid"},
			"redirect_uri": {spaRedirect}, "state": {"s"}, "nonce": {"n"}}, jessie, password)
		if req := last(); req.Data.Access != nil || req.Data.Identity == nil {
			t.Error("want identity only")
		}
	})
	t.Run("password", func(t *testing.T) {
		tokenRequest(t, emu, url.Values{"grant_type": {"password"}, "username": {jessie}, "password": {password},
			"scope": {"openid profile email offline_access"}}, webID, webSecret)
		req := last()
		if diff := cmp.Diff(shape(t, inlinehooktest.NewRequest(inlinehooktest.Password, webOpt)), shape(t, req)); diff != "" {
			t.Errorf("shape (-inlinehooktest +emulator):\n%s", diff)
		}
		if req.Source != emu.Issuer+"/v1/token" || req.Data.Context.Request.Method != "POST" ||
			req.Data.Context.Request.URL.Value != emu.Issuer+"/v1/token" || req.GrantType() != "password" {
			t.Errorf("source %q request %+v", req.Source, req.Data.Context.Request)
		}
	})
	t.Run("client_credentials", func(t *testing.T) {
		tokenRequest(t, emu, url.Values{"grant_type": {"client_credentials"}, "scope": {"patients.read"}}, svcID, svcSecret)
		req := last()
		if diff := cmp.Diff(shape(t, inlinehooktest.NewRequest(inlinehooktest.ClientCredentials)), shape(t, req)); diff != "" {
			t.Errorf("shape (-inlinehooktest +emulator):\n%s", diff)
		}
		ctx := req.Data.Context
		if ctx.User != nil || ctx.Session != nil || req.Data.Identity != nil || req.Data.Access.Claims["sub"] != svcID ||
			req.GrantType() != "client_credentials" || req.Source != emu.Issuer+"/v1/token" {
			t.Errorf("client credentials request %+v", req.Data)
		}
	})
	t.Run("refresh_token", func(t *testing.T) {
		_, tok := codeFlowTokens(t, emu, jessie, "openid profile email offline_access")
		issued := last()
		if issued.Data.RefreshToken == nil || issued.Data.RefreshToken.JTI == "" {
			t.Fatal("no refresh_token.jti when the code flow issues one")
		}
		// Extra query parameters on /token reach the hook (KB-params).
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, emu.Issuer+"/v1/token?trace=abc",
			strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(webID, webSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh: %d", resp.StatusCode)
		}
		refreshed := last()
		if diff := cmp.Diff(shape(t, inlinehooktest.NewRequest(inlinehooktest.RefreshToken, webOpt)), shape(t, refreshed)); diff != "" {
			t.Errorf("shape (-inlinehooktest +emulator):\n%s", diff)
		}
		og := refreshed.Data.Context.Protocol.OriginalGrant
		jti := issued.Data.RefreshToken.JTI
		if og == nil || og.RefreshToken.JTI != jti || refreshed.Data.RefreshToken.JTI != jti {
			t.Fatalf("OriginalGrant %+v, refresh_token %+v, want jti %s", og, refreshed.Data.RefreshToken, jti)
		}
		if diff := cmp.Diff(issued.Data.Context.Protocol.Request, og.Authorization); diff != "" {
			t.Errorf("OriginalGrant.authorization is not the original request (-want +got):\n%s", diff)
		}
		ctx := refreshed.Data.Context
		if ctx.Session != nil || ctx.User.Profile.Login != jessie || refreshed.GrantType() != "refresh_token" ||
			ctx.Request.URL.Value != emu.Issuer+"/v1/token?trace=abc" {
			t.Errorf("refresh context %+v", ctx)
		}
	})
}
