package oktaemu_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json/v2"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tokenhook/tokenhook/internal/logtest"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

// Keys of the private_key_jwt clients: RSA generation is slow, so once.
var (
	clientRSAKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	otherRSAKey  = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA() })
	clientECKey  = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

const (
	jwtID    = "jwt-svc" // jwks with two keys (kid k1 RSA, ec1 EC): the kid is needed
	jwtOneID = "jwt-one" // one key, from a PEM file: the kid may be left out
	jwtKid   = "k1"
	jwtECKid = "ec1"
)

// jwksValue is a JWKS as the YAML decoder gives it: a map.
func jwksValue(t testing.TB, keys ...jose.JSONWebKey) map[string]any {
	t.Helper()
	data, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// writePEM writes a PEM block to a file in dir and returns its path.
func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func publicPEM(t testing.TB, dir string, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, "client-public.pem", "PUBLIC KEY", der)
}

// jwtConfig is testConfig with two private_key_jwt service clients.
func jwtConfig(t testing.TB) *oktaemu.Config {
	t.Helper()
	cfg := testConfig(t)
	cfg.Clients = append(cfg.Clients,
		oktaemu.Client{ID: jwtID, Type: oktaemu.ClientService, Scopes: []string{"patients.read"},
			TokenEndpointAuthMethod: oktaemu.AuthPrivateKeyJWT,
			JWKS: jwksValue(t,
				jose.JSONWebKey{Key: &clientRSAKey().PublicKey, KeyID: jwtKid, Algorithm: "RS256", Use: "sig"},
				jose.JSONWebKey{Key: &clientECKey().PublicKey, KeyID: jwtECKid})},
		oktaemu.Client{ID: jwtOneID, Type: oktaemu.ClientService, PublicKeyFile: publicPEM(t, t.TempDir(), otherRSAKey())},
	)
	return cfg
}

// signJWT signs claims with key (a private key, or []byte for HS256).
func signJWT(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsignedJWT is an alg none JWT.
func unsignedJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

// assertionClaims are the claims of a good assertion of client to aud.
func assertionClaims(client, aud string, now time.Time) map[string]any {
	return map[string]any{
		"iss": client, "sub": client, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"jti": base64.RawURLEncoding.EncodeToString([]byte(now.String() + randomSuffix())),
	}
}

func randomSuffix() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return string(b)
}

// assertionForm is a client credentials request authenticated by the
// assertion.
func assertionForm(assertion string) url.Values {
	return url.Values{
		"grant_type": {"client_credentials"}, "scope": {"patients.read"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	clk := newClock()
	var logs logtest.Buffer
	emu := newTestEmu(t, jwtConfig(t), oktaemu.Options{Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	tokenURL := emu.Issuer + "/v1/token"
	var sent []string // every assertion and jti, which the logs must not show

	// good is a valid assertion for jwtID, changed by change.
	good := func(change func(c map[string]any)) map[string]any {
		c := assertionClaims(jwtID, tokenURL, clk.Now())
		if change != nil {
			change(c)
		}
		if jti, ok := c["jti"].(string); ok {
			sent = append(sent, jti)
		}
		return c
	}
	rsa1 := func(c map[string]any) string { return signJWT(t, clientRSAKey(), jose.RS256, jwtKid, c) }
	record := func(a string) string { sent = append(sent, a); return a }

	t.Run("good assertions", func(t *testing.T) {
		for _, tc := range []struct {
			name, client, assertion string
		}{
			{"RS256 by kid", jwtID, rsa1(good(nil))},
			{"ES256 by kid", jwtID, signJWT(t, clientECKey(), jose.ES256, jwtECKid, good(nil))},
			{"aud the issuer", jwtID, rsa1(good(func(c map[string]any) { c["aud"] = emu.Issuer }))},
			{"aud an array", jwtID, rsa1(good(func(c map[string]any) { c["aud"] = []any{"https://elsewhere.test", tokenURL} }))},
			{"no iat, no jti, exp an hour ahead", jwtID, rsa1(good(func(c map[string]any) {
				delete(c, "iat")
				delete(c, "jti")
				c["exp"] = clk.Now().Add(time.Hour).Unix()
			}))},
			{"one key, no kid", jwtOneID, signJWT(t, otherRSAKey(), jose.RS256, "", assertionClaims(jwtOneID, tokenURL, clk.Now()))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, tok, h := tokenRequest(t, emu, assertionForm(record(tc.assertion)), "", "")
				if status != http.StatusOK {
					t.Fatalf("%d %+v", status, tok)
				}
				if h.Get("WWW-Authenticate") != "" {
					t.Errorf("WWW-Authenticate %q on success", h.Get("WWW-Authenticate"))
				}
				at := verifyAccessToken(t, emu, tok.AccessToken)
				if at["sub"] != tc.client || at["cid"] != tc.client || tok.Scope != "patients.read" {
					t.Errorf("access token %v, scope %q", at, tok.Scope)
				}
			})
		}
	})

	t.Run("refused", func(t *testing.T) {
		const (
			generic   = "Client authentication failed."
			signature = "The client_assertion signature is invalid."
			kid       = "The client_assertion JWT kid is invalid."
			audience  = "The audience claim for client_assertion must be the endpoint invoked for the request."
			expired   = "The client_assertion token is expired."
			tooFar    = "The client_assertion token has an expiration too far into the future."
			issSub    = "The iss and sub claims of the client_assertion must both be the client_id."
			notJWT    = "The client_assertion must be a JWT signed with RS256 or ES256."
		)
		now := clk.Now()
		svcClaims := assertionClaims(svcID, tokenURL, now)
		for _, tc := range []struct {
			name      string
			assertion string
			change    func(url.Values)
			desc      string
		}{
			{"wrong key", signJWT(t, otherRSAKey(), jose.RS256, jwtKid, good(nil)), nil, signature},
			{"wrong key, no kid, one-key client", signJWT(t, clientRSAKey(), jose.RS256, "", assertionClaims(jwtOneID, tokenURL, now)), nil, signature},
			{"RS256 with the EC key's kid", signJWT(t, clientRSAKey(), jose.RS256, jwtECKid, good(nil)), nil, signature},
			{"unknown kid", signJWT(t, clientRSAKey(), jose.RS256, "k9", good(nil)), nil, kid},
			{"no kid, two keys", signJWT(t, clientRSAKey(), jose.RS256, "", good(nil)), nil, kid},
			{"wrong aud", rsa1(good(func(c map[string]any) { c["aud"] = "https://elsewhere.test/v1/token" })), nil, audience},
			{"aud another endpoint", rsa1(good(func(c map[string]any) { c["aud"] = emu.Issuer + "/v1/introspect" })), nil, audience},
			{"no aud", rsa1(good(func(c map[string]any) { delete(c, "aud") })), nil, audience},
			{"expired", rsa1(good(func(c map[string]any) {
				c["iat"], c["exp"] = now.Add(-10*time.Minute).Unix(), now.Add(-time.Second).Unix()
			})), nil, expired},
			{"exp now", rsa1(good(func(c map[string]any) { c["exp"] = now.Unix() })), nil, expired},
			{"no exp", rsa1(good(func(c map[string]any) { delete(c, "exp") })), nil, "exp claim"},
			{"exp more than an hour ahead", rsa1(good(func(c map[string]any) { c["exp"] = now.Add(time.Hour + time.Second).Unix() })), nil, tooFar},
			{"exp more than an hour after iat", rsa1(good(func(c map[string]any) {
				c["iat"], c["exp"] = now.Add(-30*time.Minute).Unix(), now.Add(31*time.Minute).Unix()
			})), nil, tooFar},
			{"iat in the future", rsa1(good(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() })), nil, "issued in the future"},
			{"nbf in the future", rsa1(good(func(c map[string]any) { c["nbf"] = now.Add(3 * time.Minute).Unix() })), nil, "not valid yet"},
			{"wrong iss", rsa1(good(func(c map[string]any) { c["iss"] = "someone-else" })), nil, issSub},
			{"wrong sub, client_id sent", rsa1(good(func(c map[string]any) { c["sub"] = "someone-else" })),
				func(f url.Values) { f.Set("client_id", jwtID) }, issSub},
			{"wrong sub, no client_id", rsa1(good(func(c map[string]any) { c["sub"] = svcID })), nil, generic},
			{"client_id another client", rsa1(good(nil)), func(f url.Values) { f.Set("client_id", jwtOneID) }, kid},
			{"alg none", unsignedJWT(t, good(nil)), nil, notJWT},
			{"HS256", signJWT(t, []byte(strings.Repeat("s", 32)), jose.HS256, jwtKid, good(nil)), nil, notJWT},
			{"HS256 keyed with the public key", signJWT(t, x509.MarshalPKCS1PublicKey(&clientRSAKey().PublicKey), jose.HS256, jwtKid, good(nil)), nil, notJWT},
			{"not a JWT", "not.a.jwt", nil, notJWT},
			{"empty assertion", "", nil, "client_assertion parameter is required"},
			{"client not configured for it", signJWT(t, clientRSAKey(), jose.RS256, jwtKid, svcClaims), nil, generic},
			{"unknown client", signJWT(t, clientRSAKey(), jose.RS256, jwtKid, assertionClaims("nobody", tokenURL, now)), nil, generic},
			{"wrong assertion type", rsa1(good(nil)), func(f url.Values) {
				f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			}, "client_assertion_type is invalid"},
			{"no assertion type", rsa1(good(nil)), func(f url.Values) { f.Del("client_assertion_type") }, "client_assertion_type is invalid"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				form := assertionForm(record(tc.assertion))
				if tc.change != nil {
					tc.change(form)
				}
				status, tok, h := tokenRequest(t, emu, form, "", "")
				if status != http.StatusUnauthorized || tok.Error != "invalid_client" || !strings.Contains(tok.ErrorDescription, tc.desc) {
					t.Errorf("got %d %+v, want 401 invalid_client %q", status, tok, tc.desc)
				}
				if h.Get("WWW-Authenticate") != "" {
					t.Errorf("WWW-Authenticate %q without Basic", h.Get("WWW-Authenticate"))
				}
			})
		}
	})

	t.Run("replayed jti", func(t *testing.T) {
		c := good(nil)
		form := assertionForm(record(rsa1(c)))
		if status, tok, _ := tokenRequest(t, emu, form, "", ""); status != http.StatusOK {
			t.Fatalf("first use: %d %+v", status, tok)
		}
		status, tok, _ := tokenRequest(t, emu, form, "", "")
		if status != http.StatusUnauthorized || tok.Error != "invalid_client" || tok.ErrorDescription != "The client_assertion token has already been used." {
			t.Errorf("replay: %d %+v", status, tok)
		}
		// Another assertion with the same jti is refused too while the
		// first is valid; afterwards the jti is forgotten.
		again := good(func(n map[string]any) { n["jti"] = c["jti"] })
		if status, _, _ := tokenRequest(t, emu, assertionForm(record(rsa1(again))), "", ""); status != http.StatusUnauthorized {
			t.Errorf("same jti, new assertion: %d", status)
		}
		clk.Advance(6 * time.Minute)
		later := good(func(n map[string]any) { n["jti"] = c["jti"] })
		if status, tok, _ := tokenRequest(t, emu, assertionForm(record(rsa1(later))), "", ""); status != http.StatusOK {
			t.Errorf("same jti after the first expired: %d %+v", status, tok)
		}
	})

	t.Run("other ways refused", func(t *testing.T) {
		form := assertionForm(record(rsa1(good(nil))))
		if status, tok, _ := tokenRequest(t, emu, form, jwtID, "x"); status != http.StatusBadRequest || tok.Error != "invalid_request" {
			t.Errorf("assertion and Basic: %d %+v", status, tok)
		}
		form.Set("client_secret", "x")
		if status, tok, _ := tokenRequest(t, emu, form, "", ""); status != http.StatusBadRequest || tok.Error != "invalid_request" {
			t.Errorf("assertion and client_secret: %d %+v", status, tok)
		}
		// The private_key_jwt client cannot pass as public or with a secret.
		cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"patients.read"}, "client_id": {jwtID}}
		if status, tok, _ := tokenRequest(t, emu, cc, "", ""); status != http.StatusUnauthorized || tok.Error != "invalid_client" {
			t.Errorf("client_id alone: %d %+v", status, tok)
		}
		if status, tok, _ := tokenRequest(t, emu, cc, jwtID, ""); status != http.StatusUnauthorized || tok.Error != "invalid_client" {
			t.Errorf("Basic with an empty secret: %d %+v", status, tok)
		}
	})

	t.Run("introspection", func(t *testing.T) {
		status, tok, _ := tokenRequest(t, emu, assertionForm(record(rsa1(good(nil)))), "", "")
		if status != http.StatusOK {
			t.Fatalf("%d %+v", status, tok)
		}
		introspect := func(aud string) (int, map[string]any) {
			c := good(func(c map[string]any) { c["aud"] = aud })
			form := url.Values{"token": {tok.AccessToken},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {record(rsa1(c))}}
			resp, err := http.PostForm(emu.Issuer+"/v1/introspect", form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var out map[string]any
			_ = json.Unmarshal(body, &out)
			return resp.StatusCode, out
		}
		if status, out := introspect(emu.Issuer + "/v1/introspect"); status != http.StatusOK || out["active"] != true || out["client_id"] != jwtID {
			t.Errorf("introspect: %d %v", status, out)
		}
		if status, out := introspect(tokenURL); status != http.StatusUnauthorized || out["error"] != "invalid_client" {
			t.Errorf("introspect with the token endpoint as aud: %d %v", status, out)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		var doc map[string]any
		p := newBrowser(t).get(emu.Issuer + "/.well-known/openid-configuration")
		if err := json.Unmarshal([]byte(p.body), &doc); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
			if !slices.Contains(doc[k].([]any), any("private_key_jwt")) {
				t.Errorf("%s = %v", k, doc[k])
			}
		}
		if got := doc["token_endpoint_auth_signing_alg_values_supported"]; !slices.Equal(got.([]any), []any{"RS256", "ES256"}) {
			t.Errorf("token_endpoint_auth_signing_alg_values_supported = %v", got)
		}
	})

	out := logs.String()
	if !strings.Contains(out, "client authentication failed") {
		t.Error("no failure was logged")
	}
	for _, s := range sent {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the logs show an assertion or its jti:\n%s", out)
			break
		}
	}
	for _, s := range []string{"elsewhere.test", "someone-else", "k9"} {
		if strings.Contains(out, s) {
			t.Errorf("the logs show the assertion's content %q", s)
		}
	}
}

// TestHookOAuthPrivateKeyJWTAgainstEmulator is the hook server's
// bearer-token setup end to end: the hook authenticates with Okta's
// "OAuth 2.0 – private key" scheme, the emulator itself being the token
// endpoint; the hook gets an access token it can verify with /v1/keys.
func TestHookOAuthPrivateKeyJWTAgainstEmulator(t *testing.T) {
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(clientRSAKey())
	if err != nil {
		t.Fatal(err)
	}
	// One file serves both: the hook signs with it, the client's
	// publicKeyFile takes its public half.
	keyPath := writePEM(t, dir, "hook-key.pem", "PRIVATE KEY", der)
	hook := newTestHook(t, patients)
	ln := listen(t)
	issuer := "http://" + ln.Addr().String() + "/oauth2/default"
	cfg := testConfig(t)
	cfg.Scopes = append(cfg.Scopes, "hooks.call")
	cfg.Clients = append(cfg.Clients, oktaemu.Client{ID: "hook-caller", Type: oktaemu.ClientService,
		PublicKeyFile: keyPath, Scopes: []string{"hooks.call"}})
	// The hook's own token request is a client credentials grant: leaving
	// that grant out keeps it from calling the hook in turn.
	withHook(cfg, hook.URL, "password")
	cfg.Hook.Auth = oktaemu.HookAuth{Type: oktaemu.HookAuthOAuth, AuthType: "private_key_jwt",
		TokenURL: issuer + "/v1/token", ClientID: "hook-caller", PrivateKeyFile: keyPath, Scope: "hooks.call"}
	emu := newTestEmuOn(t, ln, cfg, oktaemu.Options{})

	form := url.Values{"grant_type": {"password"}, "username": {jessie}, "password": {password}, "scope": {"openid"}}
	status, tok, _ := tokenRequest(t, emu, form, webID, webSecret)
	if status != http.StatusOK {
		t.Fatalf("%d %+v", status, tok)
	}
	if _, id := verifyIDToken(t, emu, webID, tok.IDToken, nil); id["patientId"] != "1235" {
		t.Errorf("the hook's claim is missing: %v; events %+v", id, emu.Events())
	}
	hook.mu.Lock()
	auth := hook.headers[0].Get("Authorization")
	hook.mu.Unlock()
	bearer, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		t.Fatalf("the hook got Authorization %q", auth)
	}
	at := verifyAccessToken(t, emu, bearer)
	if at["cid"] != "hook-caller" || at["sub"] != "hook-caller" || !slices.Equal(stringsOf(at["scp"]), []string{"hooks.call"}) {
		t.Errorf("the hook's access token %v", at)
	}
}

func stringsOf(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}
