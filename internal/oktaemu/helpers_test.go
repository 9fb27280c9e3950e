package oktaemu_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json/v2"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/crypto/bcrypt"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

// testKey is one RSA key for every test: generating one per test is slow.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// Password hashes at bcrypt's minimum cost, so tests stay fast (under
// -race a cost-10 check takes most of a second). Pat keeps the plaintext
// demo password, which the home page shows.
var (
	kimHash  = sync.OnceValue(func() string { return cheapHash("kim-secret-1") })
	demoHash = sync.OnceValue(func() string { return cheapHash(password) })
)

func cheapHash(pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}

const (
	spaID       = "spa-app"
	spaRedirect = "http://app.test/implicit/callback"
	webID       = "web-app"
	webSecret   = "web-app-secret"
	webRedirect = "http://app.test/authorization-code/callback"
	webLogout   = "http://app.test/"
	postID      = "web-post"
	postSecret  = "web-post-secret"
	svcID       = "svc"
	svcSecret   = "svc-secret"
	jessie      = "jessie.smith@example.com"
	password    = oktaemu.DemoPassword
)

// testConfig is the configuration the flow tests start from.
func testConfig(t testing.TB) *oktaemu.Config {
	t.Helper()
	return &oktaemu.Config{
		Scopes: []string{"patients.read"},
		Users: []oktaemu.User{
			{Login: jessie, PasswordHash: demoHash(), Groups: []string{"Everyone", "Patients"},
				Profile: map[string]any{"firstName": "Jessie", "lastName": "Smith", "email": jessie,
					"locale": "en_US", "timeZone": "America/Los_Angeles", "department": "Cardiology"}},
			{Login: "kim.sato@example.com", PasswordHash: kimHash(),
				Profile: map[string]any{"firstName": "Kim", "lastName": "Sato", "email": "kim.sato@example.com"}},
			{Login: "sam.suspended@example.com", PasswordHash: demoHash(), Status: "SUSPENDED"},
			{Login: "pat.doe@example.com", Password: password,
				Profile: map[string]any{"firstName": "Pat", "lastName": "Doe", "email": "pat.doe@example.com"}},
		},
		Clients: []oktaemu.Client{
			{ID: spaID, Name: "Patient SPA", Type: oktaemu.ClientSPA, RedirectURIs: []string{spaRedirect},
				GrantTypes: []string{"authorization_code", "implicit", "refresh_token"}},
			{ID: webID, Secret: webSecret, Name: "Patient Portal", RedirectURIs: []string{webRedirect},
				PostLogoutRedirectURIs: []string{webLogout},
				GrantTypes:             []string{"authorization_code", "refresh_token", "password"}},
			{ID: postID, Secret: postSecret, Name: "Post App", RedirectURIs: []string{webRedirect},
				TokenEndpointAuthMethod: oktaemu.AuthClientSecretPost},
			{ID: svcID, Secret: svcSecret, Name: "Records Sync", Type: oktaemu.ClientService,
				Scopes: []string{"patients.read"}},
		},
		Claims: []oktaemu.Claim{
			{Name: "userGroups", Token: oktaemu.TokenBoth, Value: "user.groups"},
			{Name: "department", Token: oktaemu.TokenID, Value: "user.profile.department", Scopes: []string{"profile"}},
			{Name: "tier", Token: oktaemu.TokenAccess, Value: "gold"},
		},
	}
}

// testEmu is an emulator on a loopback listener.
type testEmu struct {
	*oktaemu.Emulator
	URL    string // http://127.0.0.1:port
	Issuer string
}

// newTestEmu starts an emulator for cfg. The listener is bound first so
// the issuer carries its real port.
func newTestEmu(t testing.TB, cfg *oktaemu.Config, opts oktaemu.Options) *testEmu {
	t.Helper()
	return newTestEmuOn(t, listen(t), cfg, opts)
}

// listen binds a loopback listener, for a test that needs the issuer
// before it writes the configuration.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// newTestEmuOn starts an emulator for cfg on ln.
func newTestEmuOn(t testing.TB, ln net.Listener, cfg *oktaemu.Config, opts oktaemu.Options) *testEmu {
	t.Helper()
	base := "http://" + ln.Addr().String()
	if opts.Issuer == "" {
		opts.Issuer = base + "/oauth2/default"
	}
	if opts.Key == nil {
		opts.Key = testKey()
	}
	e, err := oktaemu.New(cfg, opts)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(e.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &testEmu{Emulator: e, URL: base, Issuer: opts.Issuer}
}

// browser is a cookie-keeping client that does not follow redirects, so a
// test sees every hop.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
	}}
}

type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header.Get("Location"), string(body), resp.Header}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	fromRE = regexp.MustCompile(`name="from" value="([^"]*)"`)
)

// loginForm reads the hidden fields of the sign-in page.
func loginForm(t *testing.T, p page) (csrf, from string) {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	f := fromRE.FindStringSubmatch(p.body)
	if m == nil || f == nil {
		t.Fatalf("no sign-in form in page (status %d):\n%s", p.status, p.body)
	}
	return m[1], htmlUnescape(f[1])
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// signIn drives authorize → login page → sign-in POST → authorize again and
// returns the final redirect to the client.
func (b *browser) signIn(emu *testEmu, authorize url.Values, login, pw string) page {
	b.t.Helper()
	p := b.get(emu.Issuer + "/v1/authorize?" + authorize.Encode())
	if p.status != http.StatusFound || !strings.HasPrefix(p.location, "/login?") {
		b.t.Fatalf("authorize without a session: want a redirect to /login, got %d %q\n%s", p.status, p.location, p.body)
	}
	p = b.get(emu.URL + p.location)
	if p.status != http.StatusOK {
		b.t.Fatalf("login page: %d", p.status)
	}
	csrf, from := loginForm(b.t, p)
	p = b.post(emu.URL+"/login", url.Values{"username": {login}, "password": {pw}, "csrf_token": {csrf}, "from": {from}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("sign-in: want 303, got %d\n%s", p.status, p.body)
	}
	p = b.get(emu.URL + p.location)
	if p.status != http.StatusFound && p.status != http.StatusOK {
		b.t.Fatalf("authorize after sign-in: %d %s", p.status, p.body)
	}
	return p
}

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("v", 40)))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// redirectParams returns the parameters a redirect carries in its query or
// fragment.
func redirectParams(t *testing.T, location string) url.Values {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatal(err)
	}
	if u.Fragment != "" {
		v, err := url.ParseQuery(u.Fragment)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return u.Query()
}

// tokenJSON is a token endpoint response.
type tokenJSON struct {
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	AccessToken      string `json:"access_token"`
	Scope            string `json:"scope"`
	IDToken          string `json:"id_token"`
	RefreshToken     string `json:"refresh_token"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// tokenRequest posts a token request; basic sets client_secret_basic.
func tokenRequest(t *testing.T, emu *testEmu, form url.Values, basicID, basicSecret string) (int, tokenJSON, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, emu.Issuer+"/v1/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tj tokenJSON
	if err := json.Unmarshal(body, &tj); err != nil {
		t.Fatalf("token response %d is not JSON: %v\n%s", resp.StatusCode, err, body)
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, tj, resp.Header
}

// verifyIDToken verifies an ID token independently, with go-oidc against
// the emulator's discovery document and JWKS.
func verifyIDToken(t *testing.T, emu *testEmu, clientID, raw string, now func() time.Time) (*oidc.IDToken, map[string]any) {
	t.Helper()
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, emu.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	tok, err := provider.Verifier(&oidc.Config{ClientID: clientID, Now: now}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token does not verify: %v", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return tok, claims
}

// verifyAccessToken verifies an access token with go-jose against the
// JWKS the emulator publishes, and checks iss and exp.
func verifyAccessToken(t *testing.T, emu *testEmu, raw string) map[string]any {
	t.Helper()
	resp, err := http.Get(emu.Issuer + "/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	if kid := tok.Headers[0].KeyID; len(set.Key(kid)) != 1 {
		t.Fatalf("access token kid %q not in the JWKS", kid)
	}
	var claims map[string]any
	if err := tok.Claims(set, &claims); err != nil {
		t.Fatalf("access token does not verify: %v", err)
	}
	if claims["iss"] != emu.Issuer {
		t.Errorf("access token iss = %v, want %s", claims["iss"], emu.Issuer)
	}
	return claims
}

// lifetime returns exp − iat.
func lifetime(claims map[string]any) int {
	exp, _ := claims["exp"].(float64)
	iat, _ := claims["iat"].(float64)
	return int(exp - iat)
}

// testHook is a token inline hook written with the inlinehook types: it
// records every request and answers with answer.
type testHook struct {
	URL     string
	mu      sync.Mutex
	reqs    []*inlinehook.TokenRequest
	raw     [][]byte
	headers []http.Header
}

func newTestHook(t *testing.T, answer func(req *inlinehook.TokenRequest) *inlinehook.Response) *testHook {
	t.Helper()
	h := &testHook{}
	handler := inlinehook.HandlerFunc(func(_ context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		h.mu.Lock()
		h.reqs = append(h.reqs, req)
		h.mu.Unlock()
		return answer(req), nil
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.raw = append(h.raw, body)
		h.headers = append(h.headers, r.Header.Clone())
		h.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/hooks/okta/token"
	return h
}

func (h *testHook) requests() []*inlinehook.TokenRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*inlinehook.TokenRequest(nil), h.reqs...)
}

// patients is the guide's hook: patients get extPatientId... here
// patientId, in the ID token.
func patients(req *inlinehook.TokenRequest) *inlinehook.Response {
	ids := map[string]string{jessie: "1235", "kim.sato@example.com": "6789"}
	id, ok := ids[req.Login()]
	if !ok || req.Data.Identity == nil {
		return nil
	}
	return &inlinehook.Response{Commands: []inlinehook.Command{
		inlinehook.PatchIdentity(inlinehook.AddClaim("patientId", id)),
	}}
}

// withHook returns cfg with a hook at url.
func withHook(cfg *oktaemu.Config, url string, grants ...string) *oktaemu.Config {
	cfg.Hook = &oktaemu.HookConfig{URL: url, AllowHTTP: true, GrantTypes: grants}
	return cfg
}
