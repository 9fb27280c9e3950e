package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/rules"
)

func TestDefaultIsValid(t *testing.T) {
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	if got := cfg.Claims.Mappings; len(got) != 1 || got[0].Claim != "patientId" || got[0].Token != config.TokenID {
		t.Errorf("default mappings = %+v, want patientId in the ID token", got)
	}
}

func TestLoadFile(t *testing.T) {
	cfg, err := config.Load("testdata/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// What the file sets, over the defaults.
	want := config.Default()
	want.Server.Listen, want.Server.Path, want.Server.MaxBodyBytes = "127.0.0.1:9000", "/okta/hook", 65536
	want.Server.ReadHeaderTimeout, want.Server.ReadTimeout, want.Server.WriteTimeout = time.Second, 2*time.Second, 2*time.Second
	want.Server.IdleTimeout, want.Server.ShutdownTimeout = 30*time.Second, 5*time.Second
	want.Store = config.Store{DSN: "sqlite:/var/lib/tokenhook/users.db"}
	want.Auth.Require = true
	want.Auth.Header = config.HeaderAuth{Name: "X-Okta-Secret", Values: []string{"current-secret-0123456789", "previous-secret-0123456789"},
		ValuesFile: "testdata/header-secrets.txt"}
	want.Log = config.Log{Format: "json", Level: "debug"}
	want.Claims.Mappings = []config.Mapping{
		{Claim: "patientId", Attribute: "patientId", Token: "id"},
		{Claim: "clinic", Attribute: "clinicName", Token: "both"},
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreUnexported(config.Config{})); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	cfg, err := config.Load("testdata/full.yaml", []string{
		"TOKENHOOK_LISTEN=127.0.0.1:7000",
		"TOKENHOOK_STORE=memory:",
		"TOKENHOOK_AUTH_BASIC_USERNAME=admin",
		"TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret",
		"TOKENHOOK_AUTH_HEADER_VALUES=a-new-secret-0123456789,another-secret-0123456789",
		"TOKENHOOK_LOG_LEVEL=warn",
		"TOKENHOOK_HOOK_PATH=/x",
		"UNRELATED=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:7000" || cfg.Store.DSN != "memory:" || cfg.Log.Level != "warn" || cfg.Server.Path != "/x" {
		t.Errorf("scalars not overridden: %+v %+v %+v", cfg.Server, cfg.Store, cfg.Log)
	}
	if cfg.Auth.Basic != (config.BasicAuth{Username: "admin", Password: "supersecret"}) {
		t.Errorf("basic = %+v", cfg.Auth.Basic)
	}
	// The environment replaces the values; the file's values_file adds to them.
	if diff := cmp.Diff([]string{"a-new-secret-0123456789", "another-secret-0123456789", "current-secret-0123456789", "previous-secret-0123456789"}, cfg.Auth.Header.Values); diff != "" {
		t.Errorf("header values (-want +got):\n%s", diff)
	}
	if cfg.Server.ReadTimeout != 2*time.Second {
		t.Errorf("file value lost: read_timeout = %s", cfg.Server.ReadTimeout)
	}
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	path := writeFile(t, "server:\n  listen: :8082\n  lisen: :9\n")
	_, err := config.Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Fatalf("Load = %v, want an error naming the unknown key", err)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := config.Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil {
		t.Error("missing file: want error")
	}
	if _, err := config.Load(writeFile(t, "server: [1, 2"), nil); err == nil {
		t.Error("bad YAML: want error")
	}
	if _, err := config.Load("", []string{"TOKENHOOK_READ_TIMEOUT=soon"}); err == nil {
		t.Error("bad duration in environment: want error")
	}
	cfg, err := config.Load(writeFile(t, ""), nil)
	if err != nil || cfg.Server.Listen != ":8082" {
		t.Errorf("empty file: %v, listen %q; want the defaults", err, cfg.Server.Listen)
	}
}

// TestValidateReportsEveryProblem pins that Validate lists all problems at
// once, so an operator fixes a config in one round.
func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := config.Default()
	cfg.Server.Listen = "8082"
	cfg.Server.Path = "hooks"
	cfg.Server.MaxBodyBytes = 10
	cfg.Server.ReadTimeout = 0
	cfg.Store.DSN = ""
	cfg.Auth.Require = true
	cfg.Auth.Header.Name = "X-Secret"
	cfg.Auth.Basic.Username = "admin"
	cfg.Log.Format = "xml"
	cfg.Log.Level = "loud"
	cfg.Claims.LookupKeys = []string{"data.context.user.profile.email", "data.identity.claims."}
	cfg.Claims.Mappings = []config.Mapping{
		{Claim: "patientId", Attribute: "patientId", Token: "id"},
		{Claim: "", Attribute: "x", Token: "id"},
		{Claim: "x", Attribute: "x", Token: "refresh"},
	}
	cfg.Policy = config.Policy{Budget: 3 * time.Second, StoreTimeout: 4 * time.Second}
	cfg.Cache.TTL, cfg.Cache.StaleFor, cfg.Cache.MaxEntries = 0, -time.Second, 0
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate = nil")
	}
	for _, want := range []string{
		"server.listen", "server.path", "server.max_body_bytes", "server.read_timeout", "store.dsn",
		"auth.header.values", "auth.basic: username and password", "log.format", "log.level",
		`lookup_keys[0]`, `lookup_keys[1]`,
		`mappings[1].claim: required`, `mappings[2].token "refresh"`,
		"policy.budget 3s: want a positive duration under Okta's 3s", "policy.store_timeout 4s",
		"policy.max_rule_cost", "cache.ttl 0s", "cache.stale_for -1s", "cache.max_entries 0",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors do not mention %q:\n%v", want, err)
		}
	}
}

func TestValidateRequireAuth(t *testing.T) {
	cfg := config.Default()
	cfg.Auth.Require = true
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "auth.require") {
		t.Fatalf("Validate = %v, want auth.require problem", err)
	}
	cfg.Auth.Basic = config.BasicAuth{Username: "admin", Password: "supersecret"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokenhook.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadRules(t *testing.T) {
	path := writeFile(t, `
lookups:
  - name: client
    key: '"client:" + client_id'
    required: true
rules:
  - name: tenant
    claim: tenant
    token: access
    value: query.tenant
    when: has(query.tenant)
    precedence: 2
  - name: short
    token: access
    lifetime: "900"
policy:
  budget: 1500ms
cache:
  ttl: 10s
`)
	cfg, err := config.Load(path, []string{"TOKENHOOK_CACHE_NEGATIVE_TTL=1s", "TOKENHOOK_POLICY_STORE_TIMEOUT=250ms", "TOKENHOOK_CACHE_ENABLED=false"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	two := 2
	want := []rules.RuleSpec{
		{Name: "tenant", Claim: "tenant", Token: "access", Value: "query.tenant", When: "has(query.tenant)", Precedence: &two},
		{Name: "short", Token: "access", Lifetime: "900"},
	}
	if diff := cmp.Diff(want, cfg.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]rules.LookupSpec{{Name: "client", Key: `"client:" + client_id`, Required: true}}, cfg.Lookups); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
	// Rules in the file replace the default patientId mapping.
	if len(cfg.Claims.Mappings) != 0 {
		t.Errorf("mappings %+v: the default must not apply next to rules", cfg.Claims.Mappings)
	}
	if cfg.Policy.Budget != 1500*time.Millisecond || cfg.Policy.StoreTimeout != 250*time.Millisecond {
		t.Errorf("policy %+v", cfg.Policy)
	}
	if cfg.Cache.TTL != 10*time.Second || cfg.Cache.NegativeTTL != time.Second || cfg.Cache.Enabled {
		t.Errorf("cache %+v", cfg.Cache)
	}
	if _, err := config.Load(writeFile(t, "rules:\n  - claim: x\n    valu: y\n"), nil); err == nil || !strings.Contains(err.Error(), "valu") {
		t.Errorf("a misspelt rule key: %v", err)
	}
}

// TestSecrets pins where secrets may come from: the environment or files
// always; the configuration file only outside production mode.
func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("s3cret-from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(writeFile(t, "auth:\n  require: true\n  basic: {username: okta, password_file: "+pw+"}\n"), nil)
	if err != nil || cfg.Validate() != nil || cfg.Auth.Basic.Password != "s3cret-from-a-file" {
		t.Fatalf("password_file: %v / %v, password %q", err, cfg.Validate(), cfg.Auth.Basic.Password)
	}
	cfg, err = config.Load(writeFile(t, "auth:\n  require: true\n"), []string{"TOKENHOOK_AUTH_BASIC_USERNAME=okta", "TOKENHOOK_AUTH_BASIC_PASSWORD_FILE=" + pw})
	if err != nil || cfg.Validate() != nil || cfg.Auth.Basic.Password != "s3cret-from-a-file" {
		t.Fatalf("password file from the environment: %v / %v", err, cfg.Validate())
	}
	cfg, err = config.Load(writeFile(t, "auth:\n  require: true\n  basic: {username: okta, password: in-the-file}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "the configuration file holds a secret") || strings.Contains(err.Error(), "in-the-file") {
		t.Errorf("production mode with a secret in the file: %v", err)
	}
	cfg.Auth.Require = false // outside production mode it is allowed
	if err := cfg.Validate(); err != nil {
		t.Errorf("a secret in the file outside production mode: %v", err)
	}
	if _, err := config.Load(writeFile(t, "auth:\n  basic: {username: okta, password: a, password_file: "+pw+"}\n"), nil); err == nil || !strings.Contains(err.Error(), "exclusive") {
		t.Errorf("password and password_file: %v", err)
	}
	if _, err := config.Load(writeFile(t, "auth:\n  basic: {username: okta, password_file: /nonexistent}\n"), nil); err == nil || !strings.Contains(err.Error(), "password_file") {
		t.Errorf("a missing password file: %v", err)
	}
}

func TestValidateTransportAndBearer(t *testing.T) {
	cfg := config.Default()
	cfg.Server.TLS.CertFile = "cert.pem"
	cfg.Server.TLS.MinVersion = "1.1"
	cfg.Auth.Bearer = config.BearerAuth{Issuer: "http://idp.example.com/oauth2/x", Algorithms: []string{"RS256", "HS256", "none"}, Leeway: time.Hour}
	cfg.Limits.MaxJSONDepth = 2
	err := cfg.Validate()
	for _, want := range []string{"cert_file and key_file go together", `min_version "1.1"`, `issuer "http://idp.example.com/oauth2/x"`,
		"audience: at least one", `"HS256" is refused`, `"none" is refused`, "leeway 1h0m0s", "max_json_depth 2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}
