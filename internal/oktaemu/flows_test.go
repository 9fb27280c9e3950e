package oktaemu_test

import (
	"encoding/json/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

// clock is a settable clock for the Now knob.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// codeParams are the authorize parameters of a code flow.
func codeParams(clientID, redirect, scope, challenge string) url.Values {
	v := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "scope": {scope},
		"redirect_uri": {redirect}, "state": {"state-123"}, "nonce": {"nonce-456"},
	}
	if challenge != "" {
		v.Set("code_challenge", challenge)
		v.Set("code_challenge_method", "S256")
	}
	return v
}

func TestCodeFlowPKCEPublicClient(t *testing.T) {
	clk := newClock()
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{Now: clk.Now})
	b := newBrowser(t)
	verifier, challenge := pkce()
	p := b.signIn(emu, codeParams(spaID, spaRedirect, "openid profile email offline_access", challenge), jessie, password)
	if p.status != http.StatusFound || !strings.HasPrefix(p.location, spaRedirect+"?") {
		t.Fatalf("want a redirect to the client, got %d %q", p.status, p.location)
	}
	got := redirectParams(t, p.location)
	if got.Get("state") != "state-123" || got.Get("code") == "" {
		t.Fatalf("redirect params %v", got)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {got.Get("code")},
		"redirect_uri": {spaRedirect}, "code_verifier": {verifier}, "client_id": {spaID}}
	status, tok, _ := tokenRequest(t, emu, form, "", "")
	if status != http.StatusOK {
		t.Fatalf("token: %d %+v", status, tok)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.Scope != "openid profile email offline_access" || tok.RefreshToken == "" {
		t.Errorf("token response %+v", tok)
	}

	idTok, id := verifyIDToken(t, emu, spaID, tok.IDToken, clk.Now)
	if err := idTok.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	if idTok.Nonce != "nonce-456" {
		t.Errorf("nonce = %q", idTok.Nonce)
	}
	// The clock knob makes iat and exp exact.
	if id["iat"] != float64(clk.Now().Unix()) || lifetime(id) != 3600 {
		t.Errorf("ID token iat %v, lifetime %d; want %d, 3600", id["iat"], lifetime(id), clk.Now().Unix())
	}
	wantID := map[string]any{
		"name": "Jessie Smith", "preferred_username": jessie, "email": jessie, "ver": float64(1),
		"amr": []any{"pwd"}, "aud": spaID, "iss": emu.Issuer, "nonce": "nonce-456",
		"auth_time":  float64(clk.Now().Unix()),
		"userGroups": []any{"Everyone", "Patients"}, "department": "Cardiology",
	}
	for k, v := range wantID {
		if diff := cmp.Diff(v, id[k]); diff != "" {
			t.Errorf("ID token %s (-want +got):\n%s", k, diff)
		}
	}
	for _, k := range []string{"sub", "jti", "idp", "at_hash"} {
		if id[k] == nil {
			t.Errorf("ID token lacks %s", k)
		}
	}
	if !strings.HasPrefix(id["jti"].(string), "ID.") || !strings.HasPrefix(id["sub"].(string), "00u") {
		t.Errorf("jti %v, sub %v", id["jti"], id["sub"])
	}

	at := verifyAccessToken(t, emu, tok.AccessToken)
	wantAT := map[string]any{
		"aud": "api://default", "cid": spaID, "uid": id["sub"], "sub": jessie, "ver": float64(1),
		"scp": []any{"openid", "profile", "email", "offline_access"}, "tier": "gold",
		"userGroups": []any{"Everyone", "Patients"}, "auth_time": float64(clk.Now().Unix()),
		"iat": float64(clk.Now().Unix()), "exp": float64(clk.Now().Unix() + 3600),
	}
	for k, v := range wantAT {
		if diff := cmp.Diff(v, at[k]); diff != "" {
			t.Errorf("access token %s (-want +got):\n%s", k, diff)
		}
	}
	if _, ok := at["department"]; ok {
		t.Error("an ID-token-only custom claim is in the access token")
	}

	// A code is single use.
	status, tok, _ = tokenRequest(t, emu, form, "", "")
	if status != http.StatusBadRequest || tok.Error != "invalid_grant" {
		t.Errorf("code reuse: %d %+v", status, tok)
	}
}

func TestCodeFlowConfidentialClients(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{})
	for _, tc := range []struct {
		name, clientID, secret string
		basic                  bool
	}{
		{"client_secret_basic", webID, webSecret, true},
		{"client_secret_post", postID, postSecret, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			p := b.signIn(emu, codeParams(tc.clientID, webRedirect, "openid profile email", ""), jessie, password)
			code := redirectParams(t, p.location).Get("code")
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect}}
			var status int
			var tok tokenJSON
			if tc.basic {
				status, tok, _ = tokenRequest(t, emu, form, tc.clientID, tc.secret)
			} else {
				form.Set("client_id", tc.clientID)
				form.Set("client_secret", tc.secret)
				status, tok, _ = tokenRequest(t, emu, form, "", "")
			}
			if status != http.StatusOK {
				t.Fatalf("token: %d %+v", status, tok)
			}
			if tok.RefreshToken != "" {
				t.Error("a refresh token without offline_access")
			}
			_, id := verifyIDToken(t, emu, tc.clientID, tok.IDToken, nil)
			if id["aud"] != tc.clientID || id["email"] != jessie {
				t.Errorf("ID token %v", id)
			}
			verifyAccessToken(t, emu, tok.AccessToken)
		})
	}

	t.Run("wrong secret", func(t *testing.T) {
		b := newBrowser(t)
		p := b.signIn(emu, codeParams(webID, webRedirect, "openid", ""), jessie, password)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {redirectParams(t, p.location).Get("code")}, "redirect_uri": {webRedirect}}
		status, tok, h := tokenRequest(t, emu, form, webID, "not-the-secret")
		if status != http.StatusUnauthorized || tok.Error != "invalid_client" || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("got %d %+v, WWW-Authenticate %q", status, tok, h.Get("WWW-Authenticate"))
		}
	})
	t.Run("method not the client's", func(t *testing.T) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {webRedirect}}
		status, tok, _ := tokenRequest(t, emu, form, postID, postSecret) // post client using basic
		if status != http.StatusUnauthorized || tok.Error != "invalid_client" {
			t.Errorf("got %d %+v", status, tok)
		}
	})
}

func TestImplicitFlow(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{})
	b := newBrowser(t)
	params := url.Values{
		"client_id": {spaID}, "response_type": {"id_token token"}, "scope": {"openid profile email"},
		"redirect_uri": {spaRedirect}, "state": {"s1"}, "nonce": {"n1"},
	}
	p := b.signIn(emu, params, jessie, password)
	if p.status != http.StatusFound || !strings.HasPrefix(p.location, spaRedirect+"#") {
		t.Fatalf("want a fragment redirect, got %d %q", p.status, p.location)
	}
	got := redirectParams(t, p.location)
	if got.Get("state") != "s1" || got.Get("token_type") != "Bearer" || got.Get("expires_in") != "3600" || got.Get("scope") != "openid profile email" {
		t.Errorf("fragment %v", got)
	}
	idTok, id := verifyIDToken(t, emu, spaID, got.Get("id_token"), nil)
	if err := idTok.VerifyAccessToken(got.Get("access_token")); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	if id["nonce"] != "n1" {
		t.Errorf("nonce %v", id["nonce"])
	}
	// With an access token the ID token is thin, as Okta's sample.
	if _, fat := id["given_name"]; fat {
		t.Error("given_name in an ID token issued with an access token")
	}
	verifyAccessToken(t, emu, got.Get("access_token"))

	t.Run("id_token alone is a full ID token", func(t *testing.T) {
		params := url.Values{
			"client_id": {spaID}, "response_type": {"id_token"}, "scope": {"openid profile email"},
			"redirect_uri": {spaRedirect}, "state": {"s2"}, "nonce": {"n2"},
		}
		p := b.get(emu.Issuer + "/v1/authorize?" + params.Encode()) // the session is still there
		got := redirectParams(t, p.location)
		if got.Get("access_token") != "" || got.Get("id_token") == "" {
			t.Fatalf("fragment %v", got)
		}
		_, id := verifyIDToken(t, emu, spaID, got.Get("id_token"), nil)
		for _, k := range []string{"given_name", "family_name", "locale", "zoneinfo", "email_verified"} {
			if id[k] == nil {
				t.Errorf("full ID token lacks %s: %v", k, id)
			}
		}
		if _, ok := id["at_hash"]; ok {
			t.Error("at_hash without an access token")
		}
	})
	t.Run("form_post", func(t *testing.T) {
		params.Set("response_mode", "form_post")
		p := b.get(emu.Issuer + "/v1/authorize?" + params.Encode())
		if p.status != http.StatusOK || !strings.Contains(p.body, `action="`+spaRedirect+`"`) ||
			!strings.Contains(p.body, `name="id_token"`) || !strings.Contains(p.body, `name="state" value="s1"`) {
			t.Fatalf("form_post page %d:\n%s", p.status, p.body)
		}
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "'nonce-") {
			t.Errorf("CSP %q has no script nonce", csp)
		}
	})
}

func TestSessionAndPrompt(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{})
	b := newBrowser(t)
	_, challenge := pkce()
	params := codeParams(spaID, spaRedirect, "openid", challenge)

	// prompt=none without a session: login_required to the client.
	none := url.Values{}
	for k, v := range params {
		none[k] = v
	}
	none.Set("prompt", "none")
	p := b.get(emu.Issuer + "/v1/authorize?" + none.Encode())
	if got := redirectParams(t, p.location); got.Get("error") != "login_required" || got.Get("state") != "state-123" {
		t.Errorf("prompt=none: %d %q", p.status, p.location)
	}

	b.signIn(emu, params, jessie, password)
	// SSO: the next authorize request needs no sign-in.
	p = b.get(emu.Issuer + "/v1/authorize?" + params.Encode())
	if p.status != http.StatusFound || redirectParams(t, p.location).Get("code") == "" {
		t.Fatalf("with a session: %d %q", p.status, p.location)
	}
	// prompt=login forces a sign-in, then completes.
	params.Set("prompt", "login")
	p = b.signIn(emu, params, jessie, password)
	if redirectParams(t, p.location).Get("code") == "" {
		t.Fatalf("prompt=login after sign-in: %q", p.location)
	}
	p = b.get(emu.Issuer + "/v1/authorize?" + params.Encode())
	if !strings.HasPrefix(p.location, "/login?") {
		t.Errorf("a second prompt=login reused the sign-in: %q", p.location)
	}
}

func TestPasswordAndRefresh(t *testing.T) {
	clk := newClock()
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{Now: clk.Now})
	form := url.Values{"grant_type": {"password"}, "username": {jessie}, "password": {password},
		"scope": {"openid profile offline_access"}}
	status, tok, _ := tokenRequest(t, emu, form, webID, webSecret)
	if status != http.StatusOK || tok.IDToken == "" || tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("password grant: %d %+v", status, tok)
	}
	_, id := verifyIDToken(t, emu, webID, tok.IDToken, clk.Now)
	if _, ok := id["nonce"]; ok {
		t.Error("nonce in a password-grant ID token")
	}

	clk.Advance(10 * time.Minute)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {"openid offline_access"}}
	status, tok2, _ := tokenRequest(t, emu, refresh, webID, webSecret)
	if status != http.StatusOK || tok2.IDToken == "" || tok2.Scope != "openid offline_access" {
		t.Fatalf("refresh: %d %+v", status, tok2)
	}
	if tok2.RefreshToken != tok.RefreshToken {
		t.Error("the refresh token was rotated; the emulator keeps it (persistent)")
	}
	_, id2 := verifyIDToken(t, emu, webID, tok2.IDToken, clk.Now)
	if id2["iat"] != float64(clk.Now().Unix()) || id2["auth_time"] != id["auth_time"] {
		t.Errorf("refreshed ID token iat %v auth_time %v", id2["iat"], id2["auth_time"])
	}

	for _, tc := range []struct {
		name   string
		form   url.Values
		client string
		secret string
		want   string
	}{
		{"unknown refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, webID, webSecret, "invalid_grant"},
		{"wider scope", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {"openid email"}}, webID, webSecret, "invalid_scope"},
		{"another client's token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {spaID}}, "", "", "invalid_grant"},
		{"wrong password", url.Values{"grant_type": {"password"}, "username": {jessie}, "password": {"nope"}, "scope": {"openid"}}, webID, webSecret, "invalid_grant"},
		{"unknown user", url.Values{"grant_type": {"password"}, "username": {"who@example.com"}, "password": {password}, "scope": {"openid"}}, webID, webSecret, "invalid_grant"},
		{"suspended user", url.Values{"grant_type": {"password"}, "username": {"sam.suspended@example.com"}, "password": {password}, "scope": {"openid"}}, webID, webSecret, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, got, _ := tokenRequest(t, emu, tc.form, tc.client, tc.secret)
			if status != http.StatusBadRequest || got.Error != tc.want {
				t.Errorf("got %d %+v, want 400 %s", status, got, tc.want)
			}
		})
	}
}

func TestClientCredentials(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{})
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"patients.read"}}
	status, tok, _ := tokenRequest(t, emu, form, svcID, svcSecret)
	if status != http.StatusOK || tok.IDToken != "" || tok.RefreshToken != "" {
		t.Fatalf("%d %+v", status, tok)
	}
	at := verifyAccessToken(t, emu, tok.AccessToken)
	if at["sub"] != svcID || at["cid"] != svcID || at["uid"] != nil || at["auth_time"] != nil {
		t.Errorf("access token %v", at)
	}
	if _, ok := at["userGroups"]; ok {
		t.Error("a user expression claim without a user")
	}
	for _, scope := range []string{"openid", "patients.read openid", "", "unknown.scope"} {
		status, got, _ := tokenRequest(t, emu, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}, svcID, svcSecret)
		if status != http.StatusBadRequest || got.Error != "invalid_scope" {
			t.Errorf("scope %q: %d %+v", scope, status, got)
		}
	}
}

func TestTokenErrors(t *testing.T) {
	clk := newClock()
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{Now: clk.Now})
	b := newBrowser(t)
	verifier, challenge := pkce()
	newCode := func() string {
		p := b.get(emu.Issuer + "/v1/authorize?" + codeParams(spaID, spaRedirect, "openid", challenge).Encode())
		if strings.HasPrefix(p.location, "/login?") {
			p = b.signIn(emu, codeParams(spaID, spaRedirect, "openid", challenge), jessie, password)
		}
		return redirectParams(t, p.location).Get("code")
	}
	exchange := func(code string, change func(url.Values)) (int, tokenJSON) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {spaRedirect}, "code_verifier": {verifier}, "client_id": {spaID}}
		if change != nil {
			change(form)
		}
		status, tok, _ := tokenRequest(t, emu, form, "", "")
		return status, tok
	}
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		before func()
		status int
		want   string
	}{
		{"wrong PKCE verifier", func(f url.Values) { f.Set("code_verifier", strings.Repeat("w", 43)) }, nil, 400, "invalid_grant"},
		{"no PKCE verifier", func(f url.Values) { f.Del("code_verifier") }, nil, 400, "invalid_grant"},
		{"redirect_uri differs", func(f url.Values) { f.Set("redirect_uri", "http://app.test/other") }, nil, 400, "invalid_grant"},
		{"expired code", nil, func() { clk.Advance(61 * time.Second) }, 400, "invalid_grant"},
		{"unknown client", func(f url.Values) { f.Set("client_id", "nobody") }, nil, 401, "invalid_client"},
		{"no client", func(f url.Values) { f.Del("client_id") }, nil, 401, "invalid_client"},
		{"unsupported grant type", func(f url.Values) { f.Set("grant_type", "urn:ietf:params:oauth:grant-type:device_code") }, nil, 400, "unsupported_grant_type"},
		{"no grant type", func(f url.Values) { f.Del("grant_type") }, nil, 400, "invalid_request"},
		{"grant not allowed", func(f url.Values) { f.Set("grant_type", "password") }, nil, 400, "unauthorized_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := newCode()
			if tc.before != nil {
				tc.before()
			}
			status, tok := exchange(code, tc.change)
			if status != tc.status || tok.Error != tc.want {
				t.Errorf("got %d %+v, want %d %s", status, tok, tc.status, tc.want)
			}
		})
	}
}

func TestAuthorizeErrors(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{})
	_, challenge := pkce()
	base := func() url.Values { return codeParams(spaID, spaRedirect, "openid", challenge) }
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		page   bool   // an error page, no redirect
		want   string // the error on the redirect URI
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "nobody") }, true, ""},
		{"no client", func(v url.Values) { v.Del("client_id") }, true, ""},
		{"redirect URI mismatch", func(v url.Values) { v.Set("redirect_uri", "http://evil.test/cb") }, true, ""},
		{"redirect URI missing", func(v url.Values) { v.Del("redirect_uri") }, true, ""},
		{"response type unsupported", func(v url.Values) { v.Set("response_type", "code token") }, false, "unsupported_response_type"},
		{"response type missing", func(v url.Values) { v.Del("response_type") }, false, "invalid_request"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, false, "invalid_request"},
		{"PKCE method missing", func(v url.Values) { v.Del("code_challenge_method") }, false, "invalid_request"},
		{"public client without PKCE", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, false, "invalid_request"},
		{"unknown scope", func(v url.Values) { v.Set("scope", "openid admin") }, false, "invalid_scope"},
		{"no scope", func(v url.Values) { v.Del("scope") }, false, "invalid_scope"},
		{"implicit without nonce", func(v url.Values) { v.Set("response_type", "id_token"); v.Del("nonce") }, false, "invalid_request"},
		{"id_token without openid", func(v url.Values) { v.Set("response_type", "id_token"); v.Set("scope", "profile") }, false, "invalid_scope"},
		{"tokens in the query", func(v url.Values) { v.Set("response_type", "token"); v.Set("response_mode", "query") }, false, "invalid_request"},
		{"unknown response mode", func(v url.Values) { v.Set("response_mode", "okta_post_message") }, false, "invalid_request"},
		{"unknown prompt", func(v url.Values) { v.Set("prompt", "select_account") }, false, "invalid_request"},
		{"grant not allowed", func(v url.Values) {
			v.Set("client_id", postID)
			v.Set("redirect_uri", webRedirect)
			v.Set("response_type", "token")
		}, false, "unauthorized_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := base()
			tc.change(params)
			p := newBrowser(t).get(emu.Issuer + "/v1/authorize?" + params.Encode())
			if tc.page {
				if p.status != http.StatusBadRequest || p.location != "" || !strings.Contains(p.body, `<p id="error-text">`) || !strings.Contains(p.body, "</html>") {
					t.Errorf("want a 400 error page, got %d %q", p.status, p.location)
				}
				return
			}
			if p.status != http.StatusFound {
				t.Fatalf("want a redirect, got %d\n%s", p.status, p.body)
			}
			got := redirectParams(t, p.location)
			if got.Get("error") != tc.want || got.Get("state") != "state-123" || got.Get("error_description") == "" {
				t.Errorf("redirect %q: want error %s with the state", p.location, tc.want)
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{})
	_, challenge := pkce()
	authorize := emu.Issuer + "/v1/authorize?" + codeParams(spaID, spaRedirect, "openid", challenge).Encode()

	open := func(t *testing.T) (*browser, string, string) {
		b := newBrowser(t)
		p := b.get(authorize)
		p = b.get(emu.URL + p.location)
		for _, id := range []string{`id="okta-signin-username"`, `id="okta-signin-password"`, `id="okta-signin-submit"`, "Patient SPA"} {
			if !strings.Contains(p.body, id) {
				t.Errorf("login page lacks %s", id)
			}
		}
		csrf, from := loginForm(t, p)
		return b, csrf, from
	}

	t.Run("wrong password and unknown user look the same", func(t *testing.T) {
		b, csrf, from := open(t)
		wrong := b.post(emu.URL+"/login", url.Values{"username": {jessie}, "password": {"nope"}, "csrf_token": {csrf}, "from": {from}})
		unknown := b.post(emu.URL+"/login", url.Values{"username": {"nobody@example.com"}, "password": {"nope"}, "csrf_token": {csrf}, "from": {from}})
		suspended := b.post(emu.URL+"/login", url.Values{"username": {"sam.suspended@example.com"}, "password": {password}, "csrf_token": {csrf}, "from": {from}})
		for name, p := range map[string]page{"wrong password": wrong, "unknown user": unknown, "suspended": suspended} {
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Sign-in failed") {
				t.Errorf("%s: %d", name, p.status)
			}
		}
		strip := func(p page) string {
			return strings.NewReplacer(jessie, "U", "nobody@example.com", "U", "sam.suspended@example.com", "U").Replace(p.body)
		}
		if strip(wrong) != strip(unknown) || strip(wrong) != strip(suspended) {
			t.Error("the failure pages differ: they reveal whether the user exists")
		}
		if b.c.Jar.Cookies(mustURL(t, emu.URL)) != nil {
			for _, c := range b.c.Jar.Cookies(mustURL(t, emu.URL)) {
				if c.Name == "oktaemu_sid" {
					t.Error("a failed sign-in set a session cookie")
				}
			}
		}
	})
	t.Run("password hash", func(t *testing.T) {
		b, csrf, from := open(t)
		p := b.post(emu.URL+"/login", url.Values{"username": {"KIM.SATO@example.com"}, "password": {"kim-secret-1"}, "csrf_token": {csrf}, "from": {from}})
		if p.status != http.StatusSeeOther || p.location != from {
			t.Errorf("got %d %q", p.status, p.location)
		}
	})
	for _, tc := range []struct {
		name   string
		csrf   func(string) string
		header map[string]string
	}{
		{"CSRF token missing", func(string) string { return "" }, nil},
		{"CSRF token wrong", func(s string) string { return s[:len(s)-2] + "xx" }, nil},
		{"cross-origin post", func(s string) string { return s }, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, csrf, from := open(t)
			form := url.Values{"username": {jessie}, "password": {password}, "csrf_token": {tc.csrf(csrf)}, "from": {from}}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, emu.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if p := b.do(req); p.status != http.StatusForbidden {
				t.Errorf("got %d, want 403", p.status)
			}
		})
	}
	t.Run("from is never another site", func(t *testing.T) {
		b, csrf, _ := open(t)
		p := b.post(emu.URL+"/login", url.Values{"username": {jessie}, "password": {password}, "csrf_token": {csrf}, "from": {"//evil.test/x"}})
		if p.status != http.StatusSeeOther || p.location != "/" {
			t.Errorf("got %d %q, want 303 /", p.status, p.location)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUserinfoIntrospectRevoke(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{})
	_, tok, _ := tokenRequest(t, emu, url.Values{"grant_type": {"password"}, "username": {jessie}, "password": {password},
		"scope": {"openid profile email offline_access"}}, webID, webSecret)

	call := func(method, path, bearer string, form url.Values, basicID, basicSecret string) (int, map[string]any, http.Header) {
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequestWithContext(t.Context(), method, emu.Issuer+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if basicID != "" {
			req.SetBasicAuth(basicID, basicSecret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.UnmarshalRead(resp.Body, &out)
		return resp.StatusCode, out, resp.Header
	}

	status, info, _ := call(http.MethodGet, "/v1/userinfo", tok.AccessToken, nil, "", "")
	if status != http.StatusOK || info["email"] != jessie || info["email_verified"] != true ||
		info["given_name"] != "Jessie" || info["department"] != "Cardiology" || info["preferred_username"] != jessie {
		t.Errorf("userinfo %d %v", status, info)
	}
	if status, _, h := call(http.MethodGet, "/v1/userinfo", "", nil, "", ""); status != 401 || h.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("userinfo without token: %d", status)
	}
	if status, _, _ := call(http.MethodGet, "/v1/userinfo", tok.IDToken, nil, "", ""); status != 401 {
		t.Errorf("userinfo with an ID token: %d", status)
	}
	_, svc, _ := tokenRequest(t, emu, url.Values{"grant_type": {"client_credentials"}, "scope": {"patients.read"}}, svcID, svcSecret)
	if status, _, h := call(http.MethodGet, "/v1/userinfo", svc.AccessToken, nil, "", ""); status != 403 || !strings.Contains(h.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Errorf("userinfo without openid: %d", status)
	}

	introspect := func(token, id, secret string) map[string]any {
		status, out, _ := call(http.MethodPost, "/v1/introspect", "", url.Values{"token": {token}}, id, secret)
		if status != http.StatusOK {
			t.Fatalf("introspect: %d %v", status, out)
		}
		return out
	}
	if got := introspect(tok.AccessToken, svcID, svcSecret); got["active"] != true || got["scope"] != "openid profile email offline_access" || got["client_id"] != webID || got["username"] != jessie {
		t.Errorf("introspect access token: %v", got)
	}
	if got := introspect(tok.RefreshToken, webID, webSecret); got["active"] != true || got["token_type"] != "refresh_token" {
		t.Errorf("introspect refresh token: %v", got)
	}
	if got := introspect(tok.RefreshToken, svcID, svcSecret); got["active"] != false {
		t.Errorf("another client introspected the refresh token: %v", got)
	}
	if got := introspect("garbage", webID, webSecret); !cmp.Equal(got, map[string]any{"active": false}) {
		t.Errorf("introspect garbage: %v", got)
	}
	if status, _, _ := call(http.MethodPost, "/v1/introspect", "", url.Values{"token": {tok.AccessToken}}, webID, "wrong"); status != 401 {
		t.Errorf("introspect with a wrong secret: %d", status)
	}

	// Revocation answers 200 for anything, and revokes only the client's own.
	if status, _, _ := call(http.MethodPost, "/v1/revoke", "", url.Values{"token": {tok.AccessToken}}, svcID, svcSecret); status != 200 {
		t.Errorf("revoke: %d", status)
	}
	if got := introspect(tok.AccessToken, webID, webSecret); got["active"] != true {
		t.Error("another client revoked the access token")
	}
	for _, token := range []string{tok.AccessToken, tok.RefreshToken, "garbage"} {
		if status, _, _ := call(http.MethodPost, "/v1/revoke", "", url.Values{"token": {token}}, webID, webSecret); status != 200 {
			t.Errorf("revoke: %d", status)
		}
	}
	if got := introspect(tok.AccessToken, webID, webSecret); got["active"] != false {
		t.Errorf("revoked access token still active: %v", got)
	}
	if status, _, _ := call(http.MethodGet, "/v1/userinfo", tok.AccessToken, nil, "", ""); status != 401 {
		t.Errorf("userinfo with a revoked token: %d", status)
	}
	if status, got, _ := tokenRequest(t, emu, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, webID, webSecret); status != 400 || got.Error != "invalid_grant" {
		t.Errorf("refresh with a revoked token: %d %+v", status, got)
	}
}

func TestLogout(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{})
	b := newBrowser(t)
	params := codeParams(webID, webRedirect, "openid", "")
	p := b.signIn(emu, params, jessie, password)
	_, tok, _ := tokenRequest(t, emu, url.Values{"grant_type": {"authorization_code"},
		"code": {redirectParams(t, p.location).Get("code")}, "redirect_uri": {webRedirect}}, webID, webSecret)

	bad := b.get(emu.Issuer + "/v1/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"http://evil.test/"}}.Encode())
	if bad.status != http.StatusBadRequest || bad.location != "" {
		t.Errorf("unregistered post-logout URI: %d %q", bad.status, bad.location)
	}
	if p := b.get(emu.Issuer + "/v1/logout?" + url.Values{"id_token_hint": {"garbage"}}.Encode()); p.status != http.StatusBadRequest {
		t.Errorf("garbage hint: %d", p.status)
	}
	p = b.get(emu.Issuer + "/v1/logout?" + url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {webLogout}, "state": {"bye"}}.Encode())
	if p.status != http.StatusFound || p.location != webLogout+"?state=bye" {
		t.Fatalf("logout: %d %q", p.status, p.location)
	}
	if p := b.get(emu.Issuer + "/v1/authorize?" + params.Encode()); !strings.HasPrefix(p.location, "/login?") {
		t.Errorf("the session survived logout: %q", p.location)
	}
	if p := b.get(emu.Issuer + "/v1/logout"); p.status != http.StatusOK || !strings.Contains(p.body, "Signed out") {
		t.Errorf("logout without a redirect: %d\n%s", p.status, p.body)
	}
}

func TestDiscoveryAndKeys(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{})
	b := newBrowser(t)
	var doc map[string]any
	p := b.get(emu.Issuer + "/.well-known/openid-configuration")
	if err := json.Unmarshal([]byte(p.body), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                                emu.Issuer,
		"authorization_endpoint":                emu.Issuer + "/v1/authorize",
		"token_endpoint":                        emu.Issuer + "/v1/token",
		"userinfo_endpoint":                     emu.Issuer + "/v1/userinfo",
		"jwks_uri":                              emu.Issuer + "/v1/keys",
		"end_session_endpoint":                  emu.Issuer + "/v1/logout",
		"response_types_supported":              []any{"code", "id_token", "token", "id_token token"},
		"code_challenge_methods_supported":      []any{"S256"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"scopes_supported":                      []any{"openid", "profile", "email", "address", "phone", "offline_access", "patients.read"},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, doc[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	p = b.get(emu.Issuer + "/.well-known/oauth-authorization-server")
	var meta map[string]any
	if err := json.Unmarshal([]byte(p.body), &meta); err != nil || meta["issuer"] != emu.Issuer || meta["userinfo_endpoint"] != nil {
		t.Errorf("authorization server metadata: %v %v", err, meta)
	}
	var keys struct {
		Keys []map[string]any `json:"keys"`
	}
	p = b.get(emu.Issuer + "/v1/keys")
	if err := json.Unmarshal([]byte(p.body), &keys); err != nil || len(keys.Keys) != 1 {
		t.Fatalf("keys: %v %s", err, p.body)
	}
	k := keys.Keys[0]
	if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["kid"] == "" || k["d"] != nil {
		t.Errorf("JWK %v", k)
	}
}

func TestPages(t *testing.T) {
	cfg := testConfig(t)
	emu := newTestEmu(t, cfg, oktaemu.Options{})
	b := newBrowser(t)
	p := b.get(emu.URL + "/")
	if p.status != http.StatusOK || !strings.Contains(p.body, emu.Issuer) || !strings.Contains(p.body, jessie) || !strings.Contains(p.body, "kim.sato@example.com") {
		t.Fatalf("home %d:\n%s", p.status, p.body)
	}
	// The demo password is shown (it is documented); a hash never is.
	if !strings.Contains(p.body, oktaemu.DemoPassword) || strings.Contains(p.body, kimHash()) || strings.Contains(p.body, webSecret) {
		t.Error("home shows the wrong secrets")
	}
	if h := p.header.Get("X-Frame-Options"); h != "DENY" {
		t.Errorf("X-Frame-Options %q", h)
	}
	p = b.get(emu.URL + "/system-log.json")
	if p.status != http.StatusOK || strings.TrimSpace(p.body) != "[]" {
		t.Errorf("empty system log: %d %q", p.status, p.body)
	}
	if p = b.get(emu.URL + "/system-log"); p.status != http.StatusOK || !strings.Contains(p.body, "No hook calls yet") {
		t.Errorf("system log page: %d", p.status)
	}
	if p = b.get(emu.URL + "/nope"); p.status != http.StatusNotFound {
		t.Errorf("unknown path: %d", p.status)
	}
	if slices.Contains([]int{200}, b.get(emu.Issuer+"/v1/token").status) {
		t.Error("GET /v1/token answered 200")
	}
}

// TestConcurrentFlows runs grants in parallel: with -race it checks the
// stores and the hook caller are safe for concurrent use.
func TestConcurrentFlows(t *testing.T) {
	hook := newTestHook(t, patients)
	emu := newTestEmu(t, withHook(testConfig(t), hook.URL), oktaemu.Options{})
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for i := range 8 {
		wg.Go(func() {
			form := url.Values{"grant_type": {"password"}, "username": {jessie}, "password": {password}, "scope": {"openid offline_access"}}
			status, tok, _ := tokenRequest(t, emu, form, webID, webSecret)
			if status != http.StatusOK {
				errs <- "password grant failed"
				return
			}
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
			if status, _, _ := tokenRequest(t, emu, refresh, webID, webSecret); status != http.StatusOK {
				errs <- "refresh failed"
			}
			if i%2 == 0 {
				b := newBrowser(t)
				p := b.signIn(emu, codeParams(webID, webRedirect, "openid", ""), jessie, password)
				if redirectParams(t, p.location).Get("code") == "" {
					errs <- "code flow failed"
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := len(emu.Events()); n != 20 {
		t.Errorf("%d System Log events, want 20 (8 password, 8 refresh, 4 code)", n)
	}
}
