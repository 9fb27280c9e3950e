package sampleapp_test

import (
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/internal/logtest"
	"github.com/tokenhook/tokenhook/internal/sampleapp"
)

type testApp struct {
	url  string
	app  *sampleapp.App
	logs *logtest.Buffer
}

// newTestApp serves the app on loopback against issuer. update adjusts
// the base config.
func newTestApp(t testing.TB, issuer string, update func(*sampleapp.Config)) *testApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	logs := &logtest.Buffer{}
	cfg := sampleapp.Config{
		Issuer:       issuer,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		BaseURL:      base,
		Logger:       slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if update != nil {
		update(&cfg)
	}
	app, err := sampleapp.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = app.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &testApp{url: base, app: app, logs: logs}
}

// newBrowser is a client with a cookie jar that follows redirects.
func newBrowser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// noFollow is c, stopping at each redirect.
func noFollow(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

type page struct {
	status int
	url    *url.URL // after redirects
	header http.Header
	body   string
}

func do(t testing.TB, c *http.Client, method, target string, header ...string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{resp.StatusCode, resp.Request.URL, resp.Header, string(body)}
}

func get(t testing.TB, c *http.Client, target string) page {
	t.Helper()
	return do(t, c, "GET", target)
}

// login drives home → /login → provider → callback and returns the page
// the browser lands on.
func login(t testing.TB, c *http.Client, a *testApp) page {
	t.Helper()
	return get(t, c, a.url+"/login")
}

var rowPattern = regexp.MustCompile(`<tr data-claim="([^"]*)"><th scope="row"><code>[^<]*</code></th><td class="claim-value[^"]*">([^<]*)</td>`)

// claimTable returns the claim names of table#id in page order and their
// rendered values; ok is false when the page has no such table.
func claimTable(body, id string) (names []string, values map[string]string, ok bool) {
	start := strings.Index(body, `<table id="`+id+`"`)
	if start < 0 {
		return nil, nil, false
	}
	end := strings.Index(body[start:], "</table>")
	values = map[string]string{}
	for _, m := range rowPattern.FindAllStringSubmatch(body[start:start+end], -1) {
		name := html.UnescapeString(m[1])
		names = append(names, name)
		values[name] = html.UnescapeString(m[2])
	}
	return names, values, true
}

func mustContain(t testing.TB, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, body)
		}
	}
}

// TestLoginFlow drives the whole guide flow with a cookie jar: home, login
// through the provider, the profile's claim tables, logout through the
// provider's end-session endpoint.
func TestLoginFlow(t *testing.T) {
	p := newTestProvider(t, nil)
	a := newTestApp(t, p.issuer, nil)
	c := newBrowser(t)

	home := get(t, c, a.url+"/")
	if home.status != http.StatusOK {
		t.Fatalf("home: %d", home.status)
	}
	mustContain(t, "logged-out home", home.body, `<title>tokenhook sample app</title>`, `id="login"`, `href="/login"`)

	landed := login(t, c, a)
	if landed.status != http.StatusOK || landed.url.Path != "/" {
		t.Fatalf("after login: %d at %s\n%s", landed.status, landed.url, landed.body)
	}
	mustContain(t, "logged-in home", landed.body, "Welcome back, Jessie Smith!", `id="profile-link"`, `id="logout"`)

	// What the provider saw: PKCE S256, fresh state and nonce, the guide's
	// redirect URI and the default scopes.
	var auth url.Values
	p.with(func(p *testProvider) { auth = p.authorizations[0] })
	if auth.Get("code_challenge_method") != "S256" || len(auth.Get("code_challenge")) != 43 ||
		len(auth.Get("state")) < 20 || len(auth.Get("nonce")) < 20 || auth.Get("state") == auth.Get("nonce") {
		t.Errorf("authorize request: %v", auth)
	}
	if got, want := auth.Get("redirect_uri"), a.url+"/authorization-code/callback"; got != want {
		t.Errorf("redirect_uri = %q, want %q", got, want)
	}
	if got := auth.Get("scope"); got != "openid profile email" {
		t.Errorf("scope = %q", got)
	}

	profile := get(t, c, a.url+"/profile")
	if profile.status != http.StatusOK || profile.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("profile: %d %v", profile.status, profile.header)
	}
	names, values, ok := claimTable(profile.body, "id-token-claims")
	if !ok {
		t.Fatalf("no table#id-token-claims:\n%s", profile.body)
	}
	issued := p.lastIDClaims()
	var wantNames []string
	for k := range issued {
		wantNames = append(wantNames, k)
	}
	slices.Sort(wantNames)
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("ID token claim rows, sorted by name (-want +got):\n%s", diff)
	}
	wantValues := map[string]string{
		"patientId":      "1235",
		"name":           "Jessie Smith",
		"aud":            testClientID,
		"email_verified": "true",
		"big":            "9007199254740993",
		"groups":         "[\n  \"Everyone\",\n  \"Patients <&>\"\n]",
		"address":        "{\n  \"country\": \"US\",\n  \"locality\": \"Springfield\"\n}",
	}
	for k, want := range wantValues {
		if values[k] != want {
			t.Errorf("claim %s = %q, want %q", k, values[k], want)
		}
	}
	mustContain(t, "profile", profile.body, `<tr data-claim="patientId">`, `not verified by this app; the resource server verifies it`)
	if names, values, ok := claimTable(profile.body, "access-token-claims"); !ok || !slices.Contains(names, "scp") || values["cid"] != testClientID {
		t.Errorf("access token table: %v %v", names, values)
	}
	if _, values, ok := claimTable(profile.body, "userinfo-claims"); !ok || values["zoneinfo"] != "America/Los_Angeles" {
		t.Errorf("userinfo table: %v", values)
	}

	out := do(t, c, "POST", a.url+"/logout")
	if out.status != http.StatusOK || strings.TrimSuffix(out.url.String(), "/") != a.url || !strings.Contains(out.body, `id="login"`) {
		t.Fatalf("after logout: %d at %s\n%s", out.status, out.url, out.body)
	}
	var endSessions []url.Values
	var idToken, accessToken string
	p.with(func(p *testProvider) { endSessions, idToken, accessToken = p.endSessions, p.idToken, p.accessToken })
	if len(endSessions) != 1 {
		t.Fatalf("end-session calls: %v", endSessions)
	}
	if es := endSessions[0]; es.Get("id_token_hint") != idToken || es.Get("post_logout_redirect_uri") != a.url {
		t.Errorf("end-session request: %v", es)
	}
	if r := get(t, noFollow(c), a.url+"/profile"); r.status != http.StatusFound {
		t.Errorf("profile after logout: %d", r.status)
	}

	// The logs say what happened and carry no token, code or claim value.
	logs := a.logs.String()
	mustContain(t, "logs", logs, "login started", "login completed", "logout")
	for _, secret := range []string{idToken, accessToken, "1235", "Jessie", "jessie.smith", testClientSecret, auth.Get("state"), auth.Get("nonce")} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

// TestProfileRequiresLogin pins that /profile sends a logged-out browser to
// log in and back to the profile.
func TestProfileRequiresLogin(t *testing.T) {
	p := newTestProvider(t, nil)
	a := newTestApp(t, p.issuer, nil)
	c := newBrowser(t)
	r := get(t, noFollow(c), a.url+"/profile")
	if r.status != http.StatusFound || r.header.Get("Location") != "/login?return=%2Fprofile" {
		t.Fatalf("profile logged out: %d Location %q", r.status, r.header.Get("Location"))
	}
	landed := get(t, c, a.url+"/profile")
	if landed.status != http.StatusOK || landed.url.Path != "/profile" || !strings.Contains(landed.body, `id="id-token-claims"`) {
		t.Fatalf("after login: %d at %s", landed.status, landed.url)
	}
	// An off-site return target is ignored: no open redirect.
	landed = get(t, newBrowser(t), a.url+"/login?return=//evil.example/x")
	if landed.url.Host != strings.TrimPrefix(a.url, "http://") || landed.url.Path != "/" {
		t.Fatalf("return=//evil.example landed at %s", landed.url)
	}
}

// startLogin runs /login and the provider's /authorize without following
// the redirect back, and returns the callback URL the provider chose.
func startLogin(t testing.TB, c *http.Client, a *testApp) *url.URL {
	t.Helper()
	nc := noFollow(c)
	r := get(t, nc, a.url+"/login")
	if r.status != http.StatusFound {
		t.Fatalf("/login: %d\n%s", r.status, r.body)
	}
	r = get(t, nc, r.header.Get("Location"))
	if r.status != http.StatusFound {
		t.Fatalf("/authorize: %d\n%s", r.status, r.body)
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCallbackRejects(t *testing.T) {
	p := newTestProvider(t, nil)
	a := newTestApp(t, p.issuer, nil)
	tests := []struct {
		name   string
		tamper func(t *testing.T, c *http.Client, callback *url.URL) string // returns the URL to GET
		want   string
		// signedIn: the browser holds a session anyway (from an earlier, good callback).
		signedIn bool
	}{
		{"state mismatch", func(_ *testing.T, _ *http.Client, cb *url.URL) string {
			q := cb.Query()
			q.Set("state", "forged")
			cb.RawQuery = q.Encode()
			return cb.String()
		}, "state parameter does not match", false},
		{"no state", func(_ *testing.T, _ *http.Client, cb *url.URL) string {
			q := cb.Query()
			q.Del("state")
			cb.RawQuery = q.Encode()
			return cb.String()
		}, "state parameter does not match", false},
		{"no login cookie (another browser)", func(t *testing.T, c *http.Client, cb *url.URL) string {
			c.Jar, _ = cookiejar.New(nil)
			return cb.String()
		}, "No sign-in was started from this browser", false},
		{"tampered login cookie", func(t *testing.T, c *http.Client, cb *url.URL) string {
			cookieURL, _ := url.Parse(a.url + "/authorization-code/callback")
			for _, ck := range c.Jar.Cookies(cookieURL) {
				if ck.Name == "sampleapp_login" {
					v := []byte(ck.Value)
					v[len(v)/2] ^= 1
					c.Jar.SetCookies(cookieURL, []*http.Cookie{{Name: ck.Name, Value: string(v), Path: "/authorization-code/callback"}})
				}
			}
			return cb.String()
		}, "sign-in state is", false},
		{"replayed callback", func(t *testing.T, c *http.Client, cb *url.URL) string {
			if r := get(t, c, cb.String()); r.status != http.StatusOK {
				t.Fatalf("first callback: %d\n%s", r.status, r.body)
			}
			return cb.String()
		}, "No sign-in was started from this browser", true},
		{"no code", func(_ *testing.T, _ *http.Client, cb *url.URL) string {
			q := cb.Query()
			q.Del("code")
			cb.RawQuery = q.Encode()
			return cb.String()
		}, "neither a code nor an error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newBrowser(t)
			target := tt.tamper(t, c, startLogin(t, c, a))
			r := get(t, c, target)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400\n%s", r.status, r.body)
			}
			mustContain(t, "error page", r.body, `id="error-status">400 Bad Request`, tt.want)
			if signedIn := get(t, noFollow(c), a.url+"/profile").status == http.StatusOK; signedIn != tt.signedIn {
				t.Errorf("signed in = %v after the rejected callback, want %v", signedIn, tt.signedIn)
			}
		})
	}
}

// TestExpiredLogin pins that a login left at the provider for more than
// ten minutes is refused.
func TestExpiredLogin(t *testing.T) {
	p := newTestProvider(t, nil)
	var mu sync.Mutex
	now := time.Now()
	a := newTestApp(t, p.issuer, func(c *sampleapp.Config) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	c := newBrowser(t)
	cb := startLogin(t, c, a)
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	r := get(t, c, cb.String())
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "expired") {
		t.Fatalf("%d\n%s", r.status, r.body)
	}
}

// TestProviderErrors pins what the user sees when the provider refuses:
// a hook's denial reaches the app as server_error with the hook's summary,
// at the redirect (Okta, code flow) or at the token endpoint.
func TestProviderErrors(t *testing.T) {
	const summary = `Patient record is locked <call the front desk>`
	tests := []struct {
		name     string
		knob     func(p *testProvider)
		status   int
		want     []string
		tokCalls int
	}{
		{"authorize error", func(p *testProvider) { p.authorizeError = [2]string{"server_error", summary} },
			http.StatusBadRequest, []string{`<code id="error-code">server_error</code>`, `<dd id="error-description">Patient record is locked &lt;call the front desk&gt;</dd>`}, 0},
		{"token endpoint error", func(p *testProvider) { p.tokenError = [2]string{"server_error", summary} },
			http.StatusBadRequest, []string{`<code id="error-code">server_error</code>`, `Patient record is locked &lt;call the front desk&gt;`, "refused to issue tokens"}, 1},
		{"access denied without description", func(p *testProvider) { p.authorizeError = [2]string{"access_denied", ""} },
			http.StatusBadRequest, []string{`<code id="error-code">access_denied</code>`}, 0},
		{"nonce mismatch", func(p *testProvider) { p.nonceOverride = "someone-elses-nonce" },
			http.StatusBadGateway, []string{"nonce does not match"}, 1},
		{"ID token signed by another key", func(p *testProvider) { p.signWith = newRSAKey(t) },
			http.StatusBadGateway, []string{"ID token failed verification"}, 1},
		{"wrong client secret", func(p *testProvider) { p.clientSecret = "rotated" },
			http.StatusBadRequest, []string{`<code id="error-code">invalid_client</code>`}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t, nil)
			p.with(tt.knob)
			a := newTestApp(t, p.issuer, nil)
			c := newBrowser(t)
			r := login(t, c, a)
			if r.status != tt.status || r.url.Path != "/authorization-code/callback" {
				t.Fatalf("status %d at %s, want %d\n%s", r.status, r.url, tt.status, r.body)
			}
			mustContain(t, "error page", r.body, tt.want...)
			if calls := p.tokenCallCount(); calls != tt.tokCalls {
				// One call: a failed exchange must not be retried with another
				// client auth style (the code is spent; the real error would be lost).
				t.Errorf("token endpoint called %d times, want %d", calls, tt.tokCalls)
			}
			if get(t, noFollow(c), a.url+"/profile").status != http.StatusFound {
				t.Error("signed in after a refused login")
			}
			if strings.Contains(a.logs.String(), "Patient record") {
				t.Error("logs carry the error description")
			}
		})
	}
}

func TestClientSecretPost(t *testing.T) {
	p := newTestProvider(t, nil)
	p.with(func(p *testProvider) { p.authMethods = []string{"client_secret_post"} })
	a := newTestApp(t, p.issuer, nil)
	if r := login(t, newBrowser(t), a); r.status != http.StatusOK || !strings.Contains(r.body, "Welcome back") {
		t.Fatalf("%d\n%s", r.status, r.body)
	}
	if calls := p.tokenCallCount(); calls != 1 {
		t.Errorf("token calls %d, want 1", calls)
	}
}

// TestLogoutCrossOrigin pins the CSRF protection of POST /logout.
func TestLogoutCrossOrigin(t *testing.T) {
	p := newTestProvider(t, nil)
	a := newTestApp(t, p.issuer, nil)
	c := newBrowser(t)
	login(t, c, a)
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "same-site"},
	} {
		r := do(t, noFollow(c), "POST", a.url+"/logout", h...)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "Cross-origin") {
			t.Errorf("%v: status %d\n%s", h, r.status, r.body)
		}
	}
	if r := get(t, noFollow(c), a.url+"/profile"); r.status != http.StatusOK {
		t.Fatalf("session gone after refused logouts: %d", r.status)
	}
	// A same-origin browser form post passes.
	r := do(t, noFollow(c), "POST", a.url+"/logout", "Sec-Fetch-Site", "same-origin", "Origin", a.url)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), p.issuer+"/logout?") {
		t.Fatalf("same-origin logout: %d Location %q", r.status, r.header.Get("Location"))
	}
	if r := do(t, noFollow(c), "GET", a.url+"/logout"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /logout: %d", r.status)
	}
}

// TestLogoutWithoutEndSession pins the local-only logout when the provider
// advertises no end_session_endpoint.
func TestLogoutWithoutEndSession(t *testing.T) {
	p := newTestProvider(t, nil)
	p.with(func(p *testProvider) { p.noEndSession = true })
	a := newTestApp(t, p.issuer, nil)
	c := newBrowser(t)
	login(t, c, a)
	r := do(t, noFollow(c), "POST", a.url+"/logout")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("%d Location %q", r.status, r.header.Get("Location"))
	}
	p.with(func(p *testProvider) {
		if len(p.endSessions) != 0 {
			t.Errorf("end-session called: %v", p.endSessions)
		}
	})
}

// TestLazyDiscovery pins that the app starts before its provider (the demo
// starts everything at once): 502 while the provider is down, then a normal
// login once it is up.
func TestLazyDiscovery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	ln.Close() // nothing listens: connection refused

	a := newTestApp(t, issuer, nil)
	c := newBrowser(t)
	r := login(t, c, a)
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, "cannot be reached") {
		t.Fatalf("provider down: %d\n%s", r.status, r.body)
	}
	mustContain(t, "logs", a.logs.String(), "status=502", "connection refused")

	ln, err = net.Listen("tcp", strings.TrimPrefix(issuer, "http://"))
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	p := newTestProvider(t, ln)
	if p.issuer != issuer {
		t.Fatalf("issuer %s, want %s", p.issuer, issuer)
	}
	if r := login(t, c, a); r.status != http.StatusOK || !strings.Contains(r.body, "Welcome back") {
		t.Fatalf("provider up: %d\n%s", r.status, r.body)
	}
}

// TestNewDoesNoIO pins that New returns while the provider's listener is
// bound but not served yet (the demo binds every listener, then serves):
// with no client timeout, any request from New would hang the test.
func TestNewDoesNoIO(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	app, err := sampleapp.New(t.Context(), sampleapp.Config{Issuer: "http://" + ln.Addr().String(), ClientID: "c", HTTPClient: &http.Client{}})
	if err != nil || app == nil {
		t.Fatalf("New: %v", err)
	}
}

func TestDiscover(t *testing.T) {
	p := newTestProvider(t, nil)
	app, err := sampleapp.New(t.Context(), sampleapp.Config{Issuer: p.issuer, ClientID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Discover(t.Context()); err != nil {
		t.Errorf("Discover: %v", err)
	}
	p.with(func(p *testProvider) { p.discoveredIssuer = p.issuer + "/" })
	if err := app.Discover(t.Context()); err != nil {
		t.Errorf("Discover after success is cached, yet: %v", err)
	}
	app, err = sampleapp.New(t.Context(), sampleapp.Config{Issuer: p.issuer, ClientID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var mismatch *oidc.IssuerMismatchError
	if err := app.Discover(t.Context()); !errors.As(err, &mismatch) {
		t.Errorf("issuer mismatch: %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	_, err := sampleapp.New(context.Background(), sampleapp.Config{BaseURL: "localhost:8080", Scopes: []string{"profile"}})
	want := []string{"missing ISSUER, CLIENT_ID", `BASE_URL "localhost:8080": not an absolute http(s) URL`, "SCOPES \"profile\": must include openid"}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not say %q", err, w)
		}
	}
}

func TestPages(t *testing.T) {
	p := newTestProvider(t, nil)
	a := newTestApp(t, p.issuer, nil)
	c := newBrowser(t)
	r := get(t, c, a.url+"/nope")
	if r.status != http.StatusNotFound || !strings.Contains(r.body, `id="error-status">404 Not Found`) {
		t.Errorf("404 page: %d\n%s", r.status, r.body)
	}
	if h := r.header.Get("Content-Security-Policy"); !strings.Contains(h, "default-src 'none'") {
		t.Errorf("CSP %q", h)
	}
	if r.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy %q", r.header.Get("Referrer-Policy"))
	}
	css := get(t, c, a.url+"/static/app.css")
	if css.status != http.StatusOK || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q", css.status, css.header.Get("Content-Type"))
	}
	if got, want := a.app.RedirectURL(), a.url+"/authorization-code/callback"; got != want {
		t.Errorf("RedirectURL %q, want %q", got, want)
	}
}

// TestSecureCookies pins Secure cookies when BaseURL is https (the app is
// then behind a TLS proxy).
func TestSecureCookies(t *testing.T) {
	p := newTestProvider(t, nil)
	a := newTestApp(t, p.issuer, func(c *sampleapp.Config) { c.BaseURL = "https://app.example" })
	r := get(t, noFollow(newBrowser(t)), a.url+"/login")
	sc := r.header.Get("Set-Cookie")
	for _, want := range []string{"sampleapp_login=", "Path=/authorization-code/callback", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
}

func TestServer(t *testing.T) {
	p := newTestProvider(t, nil)
	app, err := sampleapp.New(t.Context(), sampleapp.Config{Issuer: p.issuer, ClientID: testClientID, ClientSecret: testClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv := app.Server()
	if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 {
		t.Errorf("a timeout is unset: %+v", srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if r := get(t, newBrowser(t), "http://"+ln.Addr().String()+"/"); r.status != http.StatusOK {
		t.Fatalf("home: %d", r.status)
	}
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}
