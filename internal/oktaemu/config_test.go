package oktaemu_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json/v2"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

func TestDefaultConfig(t *testing.T) {
	cfg := oktaemu.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logins []string
	for _, u := range cfg.Users {
		logins = append(logins, u.Login)
		if u.Password != oktaemu.DemoPassword || !strings.HasPrefix(u.ID, "00u") {
			t.Errorf("user %s: password or id not the demo one", u.Login)
		}
	}
	if got := strings.Join(logins, " "); got != "jessie.smith@example.com kim.sato@example.com pat.doe@example.com" {
		t.Errorf("demo users %s", got)
	}
	web := cfg.Clients[0]
	if web.ID != oktaemu.DemoClientID || web.Secret != oktaemu.DemoClientSecret || web.TokenEndpointAuthMethod != oktaemu.AuthClientSecretBasic ||
		web.RedirectURIs[0] != "http://localhost:8080/authorization-code/callback" || web.PostLogoutRedirectURIs[0] != "http://localhost:8080" {
		t.Errorf("sample client %+v", web)
	}
	if svc := cfg.Clients[1]; svc.Type != oktaemu.ClientService || svc.GrantTypes[0] != "client_credentials" {
		t.Errorf("service client %+v", svc)
	}
	if cfg.Hook.Enabled() || cfg.Lifetimes.IDToken != 3600 || cfg.Lifetimes.RefreshToken != 7776000 || cfg.Lifetimes.AuthorizationCode != 60 ||
		cfg.Audience != "api://default" || cfg.AuthorizationServerID != "default" {
		t.Errorf("defaults %+v", cfg)
	}
	if got := cfg.IssuerFor("127.0.0.1:8081"); got != "http://127.0.0.1:8081/oauth2/default" {
		t.Errorf("IssuerFor = %s", got)
	}
	if got := cfg.IssuerFor(":9000"); got != "http://127.0.0.1:9000/oauth2/default" {
		t.Errorf("IssuerFor(:9000) = %s", got)
	}
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "emulator.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{"HOOK_SECRET": "Basic c2VjcmV0"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	t.Run("a file with only a hook keeps the demo users and clients", func(t *testing.T) {
		cfg, err := oktaemu.LoadConfigEnv(writeConfig(t, `
hook:
  url: http://127.0.0.1:8082/hooks/okta/token
  allowHttp: true
  timeout: 2s
  auth: {type: header, key: Authorization, value: "${HOOK_SECRET}"}
  grantTypes: [authorization_code]
lifetimes:
  accessToken: 7200
`), lookup)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Users) != 3 || len(cfg.Clients) != 2 || cfg.Lifetimes.AccessToken != 7200 || cfg.Lifetimes.IDToken != 3600 {
			t.Errorf("config %+v", cfg)
		}
		if cfg.Hook.Auth.Value != "Basic c2VjcmV0" || cfg.Hook.Timeout != 2*time.Second || cfg.Hook.DeniedStatus != 400 || cfg.Hook.ReservedClaims != "latest" {
			t.Errorf("hook %+v", cfg.Hook)
		}
	})
	t.Run("users and clients replace the demo ones", func(t *testing.T) {
		cfg, err := oktaemu.LoadConfigEnv(writeConfig(t, `
issuer: https://emu.example/oauth2/aus1
authorizationServerId: aus1
users:
  - login: a@example.com
    password: x
    profile: {firstName: A, employeeNumber: 42}
clients:
  - id: spa
    redirectUris: [http://localhost:3000/cb]
claims:
  - {name: employee, value: user.profile.employeeNumber}
`), lookup)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Users) != 1 || cfg.Clients[0].Type != oktaemu.ClientSPA || cfg.Clients[0].TokenEndpointAuthMethod != oktaemu.AuthNone ||
			cfg.Claims[0].Token != oktaemu.TokenID || cfg.Users[0].Status != "ACTIVE" {
			t.Errorf("config %+v", cfg)
		}
	})
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "issuer: http://x/oauth2/default\nlistenAddress: x\n", []string{"listenAddress"}},
		{"unknown nested key", "users:\n  - login: a\n    pasword: x\n", []string{"pasword"}},
		{"missing env variable", "hook:\n  url: https://h.example/hook\n  auth: {type: header, key: X-Secret, value: '${NOT_SET}'}\n", []string{"NOT_SET is not set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oktaemu.LoadConfigEnv(writeConfig(t, tc.yaml), lookup)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := oktaemu.LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	cfg, err := oktaemu.ParseConfig([]byte(`
issuer: ftp://x/oauth2/default
lifetimes: {idToken: 10, authorizationCode: 3600}
scopes: [openid, "bad scope"]
users:
  - {login: a@example.com}
  - {login: A@example.com, password: x, passwordHash: y, status: SLEEPING}
  - {login: b@example.com, passwordHash: not-bcrypt, profile: {email: 7}}
clients:
  - {id: web, type: web}
  - {id: web, secret: s, grantTypes: [implicit, device_code, refresh_token], tokenEndpointAuthMethod: none}
  - {id: svc, type: service, secret: s, grantTypes: [password], scopes: [nope]}
claims:
  - {name: iss, value: x}
  - {name: x, token: neither}
  - {name: y, value: user.nothing}
hook:
  url: ftp://hook
  grantTypes: [magic]
  reservedClaims: strictest
  deniedStatus: 418
  auth: {type: basic}
`), nil)
	if err == nil {
		t.Fatalf("no error for %+v", cfg)
	}
	for _, want := range []string{
		"issuer", "lifetimes.idToken", "lifetimes.authorizationCode", `scopes[0] "openid"`, `scopes[1] "bad scope"`,
		"users[0]: password or passwordHash is required", "users[1].login", "not both", "users[1].status",
		"users[2].passwordHash", "users[2].profile.email",
		"clients[0]: a web client is confidential", "clients[1].id", "tokenEndpointAuthMethod none", `"device_code"`,
		"refresh_token needs", "clients[1].redirectUris", "clients[2].grantTypes", `clients[2].scopes[0] "nope"`,
		`claims[0].name "iss"`, "claims[1].token", "claims[1].value: required", "claims[2].value",
		"hook.grantTypes[0]", "hook.reservedClaims", "hook.deniedStatus", "hook.auth.type", "hook: ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q", want)
		}
	}
}

func TestKeyFile(t *testing.T) {
	for _, name := range []string{"key.pem", "key.json"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			cfg := testConfig(t)
			cfg.KeyFile = path
			kid := func() string {
				e, err := oktaemu.New(cfg, oktaemu.Options{Issuer: "http://127.0.0.1:1/oauth2/default"})
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(e.Handler())
				defer srv.Close()
				var set struct {
					Keys []struct {
						Kid string `json:"kid"`
					} `json:"keys"`
				}
				p := newBrowser(t).get(srv.URL + "/oauth2/default/v1/keys")
				if err := json.Unmarshal([]byte(p.body), &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Kid == "" {
					t.Fatalf("keys %s", p.body)
				}
				return set.Keys[0].Kid
			}
			first := kid()
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
			}
			if second := kid(); second != first {
				t.Errorf("kid changed across runs: %s, %s", first, second)
			}
		})
	}
	t.Run("not a key", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.KeyFile = writeConfig(t, "hello")
		if _, err := oktaemu.New(cfg, oktaemu.Options{Issuer: "http://127.0.0.1:1/oauth2/default"}); err == nil {
			t.Error("no error")
		}
	})
}

func TestNewErrors(t *testing.T) {
	if _, err := oktaemu.New(testConfig(t), oktaemu.Options{Key: testKey()}); err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Errorf("no issuer: %v", err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := oktaemu.New(testConfig(t), oktaemu.Options{Issuer: "http://127.0.0.1:1/oauth2/default", Key: ec}); err == nil {
		t.Error("an EC key was accepted for RS256")
	}
	if _, err := oktaemu.New(testConfig(t), oktaemu.Options{Issuer: "http://127.0.0.1:1/oauth2/other", Key: testKey()}); err == nil {
		t.Error("an issuer whose path is not the server's was accepted")
	}
}

func TestHookOAuthConfig(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "hook-key.pem")
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) {
		if k == "HOOK_CLIENT_SECRET" {
			return "s3cret", true
		}
		return "", false
	}
	cfg, err := oktaemu.LoadConfigEnv(writeConfig(t, `
hook:
  url: https://hook.example/token
  auth:
    type: oauth
    authType: private_key_jwt
    tokenUrl: https://auth.example/oauth2/default/v1/token
    clientId: hook-client
    privateKeyFile: `+keyPath+`
    scope: hooks.call
`), env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oktaemu.New(cfg, oktaemu.Options{Issuer: "http://127.0.0.1:1/oauth2/default", Key: testKey()}); err != nil {
		t.Errorf("private_key_jwt hook: %v", err)
	}
	cfg, err = oktaemu.LoadConfigEnv(writeConfig(t, `
hook:
  url: https://hook.example/token
  auth: {type: oauth, authType: client_secret_post, tokenUrl: "https://auth.example/token", clientId: c, clientSecret: "${HOOK_CLIENT_SECRET}"}
`), env)
	if err != nil || cfg.Hook.Auth.ClientSecret != "s3cret" {
		t.Errorf("client_secret_post hook: %v", err)
	}
	_, err = oktaemu.LoadConfigEnv(writeConfig(t, `
hook:
  url: https://hook.example/token
  auth: {type: oauth, authType: private_key_jwt, tokenUrl: "https://auth.example/token", clientId: c, privateKeyFile: `+filepath.Join(dir, "missing.pem")+`}
`), env)
	if err == nil || !strings.Contains(err.Error(), "hook.auth.privateKeyFile") {
		t.Errorf("missing key file: %v", err)
	}
}
