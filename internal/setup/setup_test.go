package setup_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/pgtest"
	"github.com/tokenhook/tokenhook/internal/rules"
	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
)

// TestMain stops the PostgreSQL cluster TestOpenStore may start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestOpenStore(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"memory:", "sqlite::memory:", "sqlite:" + filepath.Join(t.TempDir(), "t.db")} {
		s, err := setup.OpenStore(ctx, dsn)
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if err := s.Put(ctx, &user.User{Key: "a@example.com"}); err != nil {
			t.Errorf("%s: put: %v", dsn, err)
		}
		s.Close()
	}
	for _, dsn := range []string{"", "sqlite:", "tokenhook.db", "mysql:x", "postgres:/x", "host=localhost password=hunter2"} {
		_, err := setup.OpenStore(ctx, dsn)
		if err == nil {
			t.Errorf("OpenStore(%q) = nil error", dsn)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("OpenStore(%q) error shows the password: %v", dsn, err)
		}
	}
	// A subtest, so that a machine without PostgreSQL skips only this.
	t.Run("postgres", func(t *testing.T) {
		// Both spellings of the URL reach the driver unchanged.
		dsn := pgtest.DSN(t)
		for _, dsn := range []string{dsn, "postgresql://" + strings.TrimPrefix(dsn, "postgres://")} {
			s, err := setup.OpenStore(t.Context(), dsn)
			if err != nil {
				t.Fatalf("%s: %v", dsn, err)
			}
			if err := s.Put(t.Context(), &user.User{Key: "a@example.com", Attributes: map[string]any{"patientId": "1235"}}); err != nil {
				t.Errorf("%s: put: %v", dsn, err)
			}
			if u, err := s.Get(t.Context(), "a@example.com"); err != nil || u.Attributes["patientId"] != "1235" {
				t.Errorf("%s: get = %+v, %v", dsn, u, err)
			}
			s.Close()
		}
	})
}

func TestReserved(t *testing.T) {
	for _, tc := range []struct {
		token, claim string
		want         bool
	}{
		{"id", "iss", true}, {"access", "iss", true},
		{"id", "sub", true}, {"access", "sub", false}, // sub and aud are writable in access tokens only
		{"id", "aud", true}, {"access", "aud", false},
		{"id", "patientId", false}, {"access", "groups", true},
	} {
		if got := setup.Reserved(tc.token, tc.claim); got != tc.want {
			t.Errorf("Reserved(%s, %s) = %v, want %v", tc.token, tc.claim, got, tc.want)
		}
	}
}

func TestAuthenticator(t *testing.T) {
	auth, generated, err := setup.Authenticator(config.Auth{})
	if err != nil || len(generated) < 40 {
		t.Fatalf("no secret configured: generated %q, %v", generated, err)
	}
	_, again, _ := setup.Authenticator(config.Auth{})
	if again == generated {
		t.Fatal("generated secrets repeat")
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set(setup.GeneratedSecretHeader, generated)
	if err := auth.Authenticate(r); err != nil {
		t.Errorf("generated secret refused: %v", err)
	}
	if _, _, err := setup.Authenticator(config.Auth{Require: true}); err == nil {
		t.Error("require without a secret: want an error")
	}
	auth, generated, err = setup.Authenticator(config.Auth{
		Header: config.HeaderAuth{Name: "X-Secret", Values: []string{"header-secret-0123456789"}},
		Basic:  config.BasicAuth{Username: "admin", Password: "supersecret"},
	})
	if err != nil || generated != "" {
		t.Fatal(generated, err)
	}
	for _, h := range [][2]string{{"X-Secret", "header-secret-0123456789"}, {"Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ="}} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set(h[0], h[1])
		if err := auth.Authenticate(r); err != nil {
			t.Errorf("%s refused: %v", h[0], err)
		}
	}
}

// newHandler wires the real handler over a SQLite file holding n users, the
// guide's patient among them, with the cache in front of it or not.
func newHandler(tb testing.TB, n int, cached bool) http.Handler {
	tb.Helper()
	ctx := context.Background()
	store, err := setup.OpenStore(ctx, "sqlite:"+filepath.Join(tb.TempDir(), "tokenhook.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	users := []user.User{{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235"}}}
	for i := range n - 1 {
		users = append(users, user.User{Key: fmt.Sprintf("user%07d@example.com", i), Attributes: map[string]any{"patientId": fmt.Sprint(i)}})
	}
	if err := store.Import(ctx, users, user.ImportOptions{}); err != nil {
		tb.Fatal(err)
	}
	cfg, err := setup.LoadConfig("", []string{"TOKENHOOK_AUTH_BASIC_USERNAME=admin", "TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	auth, _, err := setup.Authenticator(cfg.Auth)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Cache.Enabled = cached
	finder, _ := setup.Finder(cfg, store)
	logger := setup.NewLogger(discard{}, cfg.Log)
	tr, err := setup.Transformer(cfg, finder, logger)
	if err != nil {
		tb.Fatal(err)
	}
	return setup.Handler(cfg, auth, tr, logger)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func fixture(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("../../inlinehook/testdata/requests/authorization_code.json")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestHandlerWiring(t *testing.T) {
	h := newHandler(t, 10, true)
	req := httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(fixture(t)))
	req.Header.Set("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"value":"1235"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// BenchmarkHandler measures the whole hook path in-process — auth, decode,
// lookup (SQLite, or the cache in front of it), rules, guard, encode —
// without sockets.
func BenchmarkHandler(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		for _, cached := range []bool{false, true} {
			name := fmt.Sprintf("sqlite_%d_users", n)
			if cached {
				name += "_cached"
			}
			b.Run(name, func(b *testing.B) {
				benchmarkHandler(b, newHandler(b, n, cached))
			})
		}
	}
}

func benchmarkHandler(b *testing.B, h http.Handler) {
	body := fixture(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(body))
		req.Header.Set("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// TestRuleSpecShorthand pins what claims.lookup_keys and claims.mappings
// stand for: the user lookup by the first non-empty source, one rule per
// mapping, the configuration's own lookups and rules after them.
func TestRuleSpecShorthand(t *testing.T) {
	cfg := config.Default()
	cfg.Claims.Mappings = append(cfg.Claims.Mappings, config.Mapping{Claim: "clinic", Attribute: "clinic-name", Token: "both"})
	cfg.Rules = []rules.RuleSpec{{Name: "env", Claim: "env", Value: `"prod"`}}
	got := setup.RuleSpec(cfg)
	want := rules.Spec{
		Lookups: []rules.LookupSpec{{Name: "user", Key: `login`}},
		Rules: []rules.RuleSpec{
			{Name: "claims.mappings[0] patientId", Token: "id", Claim: "patientId", Value: `user[?"patientId"]`},
			{Name: "claims.mappings[1] clinic", Token: "both", Claim: "clinic", Value: `user[?"clinic-name"]`},
			{Name: "env", Claim: "env", Value: `"prod"`},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := setup.CompileRules(cfg); err != nil {
		t.Fatal(err)
	}
	// Other sources are spelled out, first non-empty first.
	cfg.Claims.LookupKeys = []string{"data.context.user.id", "data.access.claims.client-ref"}
	if got := setup.RuleSpec(cfg).Lookups[0].Key; got != `request.data.context.user.id != "" ? request.data.context.user.id : (("client-ref" in request.data.access.claims && type(request.data.access.claims["client-ref"]) == string ? string(request.data.access.claims["client-ref"]) : ""))` {
		t.Errorf("key %s", got)
	}
	if _, err := setup.CompileRules(cfg); err != nil {
		t.Fatal(err)
	}
	// A lookup named user in the configuration wins over the shorthand's.
	cfg.Lookups = []rules.LookupSpec{{Name: "user", Key: `request.data.context.user.id`}}
	if got := setup.RuleSpec(cfg); len(got.Lookups) != 1 || got.Lookups[0].Key != `request.data.context.user.id` {
		t.Errorf("lookups %+v", got.Lookups)
	}
}

// TestLoadConfigReportsEverything: structural problems and rule problems
// come in one error, so an operator fixes the file in one round.
func TestLoadConfigReportsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokenhook.yaml")
	yaml := `
log: {format: xml}
claims:
  mappings:
    - claim: iss
    - claim: sub
      token: access
rules:
  - name: broken
    claim: x
    value: 'user.'
  - name: too long
    token: access
    lifetime: "100000"
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := setup.LoadConfig(path, nil, nil)
	if err == nil {
		t.Fatal("LoadConfig succeeded")
	}
	for _, want := range []string{`log.format "xml"`, `rule "claims.mappings[0] iss": claim "iss" is reserved by Okta in the id token`,
		`rule "broken": value: ERROR`, `rule "too long": lifetime 100000 s`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// sub is Okta's to keep in ID tokens, the hook's to change in access tokens.
	if strings.Contains(err.Error(), `"sub"`) {
		t.Errorf("sub in the access token refused:\n%v", err)
	}
}

// slowStore wraps a store; while slow is set its Get waits for its context
// (a store that hangs), and while down is set it fails at once.
type slowStore struct {
	user.Store
	slow, down atomic.Bool
}

func (s *slowStore) Get(ctx context.Context, key string) (*user.User, error) {
	switch {
	case s.slow.Load():
		<-ctx.Done()
		return nil, ctx.Err()
	case s.down.Load():
		return nil, errors.New("connection refused")
	}
	return s.Store.Get(ctx, key)
}

// TestSlowAndFailingStore wires the real handler, cache and policy over a
// store that hangs, then fails: answers stay inside the budget, cached
// users keep their claims (stale), others get none.
func TestSlowAndFailingStore(t *testing.T) {
	ctx := t.Context()
	mem, err := setup.OpenStore(ctx, "memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if err := mem.Import(ctx, []user.User{{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235"}}}, user.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	store := &slowStore{Store: mem}
	cfg, err := setup.LoadConfig("", []string{"TOKENHOOK_AUTH_BASIC_USERNAME=admin", "TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret",
		"TOKENHOOK_CACHE_TTL=50ms", "TOKENHOOK_CACHE_NEGATIVE_TTL=50ms", "TOKENHOOK_POLICY_STORE_TIMEOUT=150ms", "TOKENHOOK_POLICY_BUDGET=300ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	auth, _, _ := setup.Authenticator(cfg.Auth)
	finder, _ := setup.Finder(cfg, store)
	logger := setup.NewLogger(discard{}, cfg.Log)
	tr, err := setup.Transformer(cfg, finder, logger)
	if err != nil {
		t.Fatal(err)
	}
	h := setup.Handler(cfg, auth, tr, logger)
	post := func(login string) (int, string, time.Duration) {
		body := strings.ReplaceAll(fixture(t), "jessie.smith@example.com", login)
		req := httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(body))
		req.Header.Set("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String(), time.Since(start)
	}
	if code, body, _ := post("jessie.smith@example.com"); code != 200 || !strings.Contains(body, "1235") {
		t.Fatalf("warm-up: %d %s", code, body)
	}
	for _, mode := range []string{"slow", "down"} {
		store.slow.Store(mode == "slow")
		store.down.Store(mode == "down")
		time.Sleep(60 * time.Millisecond) // past the TTL
		if code, body, took := post("jessie.smith@example.com"); code != 200 || !strings.Contains(body, "1235") || took > time.Second {
			t.Errorf("%s store, a cached user: %d %s in %s; want the stale claim", mode, code, body, took)
		}
		if code, body, took := post("kim.sato@example.com"); code != 204 || took > time.Second {
			t.Errorf("%s store, an unknown user: %d %s in %s; want 204 within the budget", mode, code, body, took)
		}
	}
}
