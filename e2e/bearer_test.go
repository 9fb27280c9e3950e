package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

// The hook's OAuth 2.0 client at the emulator: a service app with the
// hook's custom scope, authenticated by secret or by private key.
const (
	hookScope        = "tokenhook.hook"
	hookClientSecret = "hook-caller-secret-0123456789"
)

// bearerSetup is an emulator (the issuer of the hook's tokens, and the
// Okta that calls the hook) and a `tokenhook serve` that trusts it.
type bearerSetup struct {
	emu    *oktaemu.Emulator
	srv    *httptest.Server // the emulator's
	issuer string
	hook   *server
}

// newBearerSetup binds the emulator first (serve must know the issuer),
// starts serve trusting it, then starts the emulator calling serve with
// auth, as an Okta org whose hook uses OAuth 2.0.
// keysRefreshMin is serve's least time between two fetches of the issuer's
// keys in these tests: a kid first seen sooner after a fetch fails.
const keysRefreshMin = 100 * time.Millisecond

func newBearerSetup(t *testing.T, auth func(issuer string) oktaemu.HookAuth, clients ...oktaemu.Client) *bearerSetup {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/oauth2/default"

	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "tokenhook.db")
	if r := tokenhook(t, nil, "users", "import", "--store", store, writeFile(t, dir, "patients.csv", patientsCSV)); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	hook := startServer(t, []string{
		"TOKENHOOK_AUTH_REQUIRE=true",
		"TOKENHOOK_AUTH_BEARER_ISSUER=" + issuer,
		"TOKENHOOK_AUTH_BEARER_AUDIENCE=api://default",
		"TOKENHOOK_AUTH_BEARER_SCOPE=" + hookScope,
		"TOKENHOOK_AUTH_BEARER_KEYS_REFRESH_MIN=" + keysRefreshMin.String(),
	}, "--store", store)

	cfg := oktaemu.DefaultConfig()
	cfg.Scopes = append(cfg.Scopes, hookScope)
	cfg.Clients = append(cfg.Clients, clients...)
	cfg.Hook = &oktaemu.HookConfig{
		Name: "Patient token hook", URL: hook.url + "/hooks/okta/token", AllowHTTP: true,
		Auth: auth(issuer),
		// Not client_credentials: the hook's own token request would call
		// the hook again (Okta warns against this set-up in production).
		GrantTypes: []string{oktaemu.GrantPassword, oktaemu.GrantAuthorizationCode},
	}
	emu, err := oktaemu.New(cfg, oktaemu.Options{Issuer: issuer})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(emu.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &bearerSetup{emu: emu, srv: srv, issuer: issuer, hook: hook}
}

// signIn mints tokens for login through the emulator's password grant,
// which calls the hook, and returns the ID token's claims.
func (b *bearerSetup) signIn(t *testing.T, login string) map[string]any {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {login}, "password": {oktaemu.DemoPassword}, "scope": {"openid profile"}}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", b.issuer+"/v1/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(oktaemu.DemoClientID, oktaemu.DemoClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.IDToken == "" {
		t.Fatalf("token: %d %v %+v", resp.StatusCode, err, tok)
	}
	return jwtPayload(t, tok.IDToken)
}

// clientCredentials gets an access token for the hook's client, as Okta
// does before calling the hook.
func (b *bearerSetup) clientCredentials(t *testing.T) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {hookScope},
		"client_id": {"hook-caller"}, "client_secret": {hookClientSecret}}
	resp, err := http.PostForm(b.issuer+"/v1/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("client credentials: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// call posts the guide's request to the hook with a bearer token.
func (b *bearerSetup) call(t *testing.T, token string) (int, string) {
	t.Helper()
	return b.hook.post(t, "/hooks/okta/token", fixture(t, "authorization_code.json"),
		"Authorization", "Bearer "+token, "Content-Type", "application/json")
}

func jwtPayload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func secretClient() oktaemu.Client {
	return oktaemu.Client{ID: "hook-caller", Secret: hookClientSecret, Name: "hook caller", Type: oktaemu.ClientService,
		GrantTypes: []string{oktaemu.GrantClientCredentials}, Scopes: []string{hookScope},
		TokenEndpointAuthMethod: "client_secret_post"}
}

// TestBearerClientSecretPost is Okta's "OAuth 2.0 – client secret" scheme
// end to end: the emulator fetches a token with client_secret_post and
// calls serve with it; serve checks it against the emulator's keys.
func TestBearerClientSecretPost(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	b := newBearerSetup(t, func(issuer string) oktaemu.HookAuth {
		return oktaemu.HookAuth{Type: oktaemu.HookAuthOAuth, AuthType: "client_secret_post", TokenURL: issuer + "/v1/token",
			ClientID: "hook-caller", ClientSecret: hookClientSecret, Scope: hookScope}
	}, secretClient())
	if claims := b.signIn(t, "jessie.smith@example.com"); claims["patientId"] != "1235" {
		t.Errorf("ID token %v: no patientId, the hook's bearer token was refused?\n%s", claims, b.hook.stderr)
	}
	if claims := b.signIn(t, "pat.doe@example.com"); claims["patientId"] != nil {
		t.Errorf("a non-patient got %v", claims["patientId"])
	}
	// Without the token, or with a made-up one, the hook refuses.
	if status, _ := b.hook.post(t, "/hooks/okta/token", fixture(t, "authorization_code.json"), "Content-Type", "application/json"); status != 401 {
		t.Errorf("no token: %d", status)
	}
	if status, _ := b.call(t, "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."); status != 401 {
		t.Errorf("alg none: %d", status)
	}
}

// TestBearerPrivateKeyJWT is Okta's "OAuth 2.0 – private key" scheme: the
// emulator signs a client assertion with the hook key.
func TestBearerPrivateKeyJWT(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "hook-key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	client := oktaemu.Client{ID: "hook-caller-pk", Name: "hook caller (key)", Type: oktaemu.ClientService,
		GrantTypes: []string{oktaemu.GrantClientCredentials}, Scopes: []string{hookScope},
		TokenEndpointAuthMethod: oktaemu.AuthPrivateKeyJWT, PublicKeyFile: keyFile}
	b := newBearerSetup(t, func(issuer string) oktaemu.HookAuth {
		return oktaemu.HookAuth{Type: oktaemu.HookAuthOAuth, AuthType: oktaemu.AuthPrivateKeyJWT, TokenURL: issuer + "/v1/token",
			ClientID: "hook-caller-pk", PrivateKeyFile: keyFile, Scope: hookScope}
	}, client)
	if claims := b.signIn(t, "kim.sato@example.com"); claims["patientId"] != "6789" {
		t.Errorf("ID token %v: no patientId\n%s", claims, b.hook.stderr)
	}
}

// TestBearerKeyRotationAndIssuerDown: the issuer rotates its signing key
// while calls flow (serve refetches its keys once, old tokens keep
// working); then the issuer goes down (cached keys keep working, a token
// signed with a key serve has never seen fails closed).
func TestBearerKeyRotationAndIssuerDown(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	b := newBearerSetup(t, func(issuer string) oktaemu.HookAuth {
		return oktaemu.HookAuth{Type: oktaemu.HookAuthOAuth, AuthType: "client_secret_post", TokenURL: issuer + "/v1/token",
			ClientID: "hook-caller", ClientSecret: hookClientSecret, Scope: hookScope}
	}, secretClient())
	before := b.clientCredentials(t)
	if status, body := b.call(t, before); status != 200 {
		t.Fatalf("before the rotation: %d %s", status, body)
	}

	// No pause: the first call's fetch (first use) does not hold back the
	// refetch for the rotation's new kid.
	// Calls with the old token flow while the key rotates and a token of
	// the new key arrives.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	failures := make(chan string, 100)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if status, body := b.call(t, before); status != 200 {
					failures <- body
					return
				}
			}
		})
	}
	if _, err := b.emu.RotateKey(); err != nil {
		t.Fatal(err)
	}
	after := b.clientCredentials(t)
	if status, body := b.call(t, after); status != 200 {
		t.Errorf("a token of the new key: %d %s", status, body)
	}
	close(stop)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("a call during the rotation failed: %s", f)
	}

	// A token signed with a key serve has not fetched, then the issuer
	// goes away.
	if _, err := b.emu.RotateKey(); err != nil {
		t.Fatal(err)
	}
	unseen := b.clientCredentials(t)
	b.srv.Close()
	for name, tok := range map[string]string{"before": before, "after": after} {
		if status, body := b.call(t, tok); status != 200 {
			t.Errorf("issuer down, a cached key (%s): %d %s", name, status, body)
		}
	}
	if status, _ := b.call(t, unseen); status != 401 {
		t.Errorf("issuer down, an unknown key: %d, want 401 (fail closed)", status)
	}
	logs := b.hook.logsWith("unknown key id")
	if !strings.Contains(logs, "unknown key id") {
		t.Errorf("log lacks the unknown key's reason:\n%s", logs)
	}
	for _, tok := range []string{before, after, unseen} {
		if strings.Contains(logs, tok[len(tok)-20:]) {
			t.Error("the log holds a token")
		}
	}
}
