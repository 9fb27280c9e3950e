package setup_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/rules"
	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
)

// reloadRig is a Hook over a memory store holding the guide's patient, with
// its configuration file and secret file in a directory the test rewrites.
type reloadRig struct {
	t          *testing.T
	dir        string
	hook       *setup.Hook
	fixture    string
	eventCount int
}

const reloadBase = `
store:
  dsn: "memory:"
auth:
  header:
    name: X-Hook-Secret
    values_file: %DIR%/secrets
limits:
  replay_window: 10m
claims:
  mappings:
    - {claim: patientId, attribute: patientId}
`

func newReloadRig(t *testing.T, secrets, extra string) *reloadRig {
	t.Helper()
	r := &reloadRig{t: t, dir: t.TempDir(), fixture: fixture(t)}
	r.write(secrets, extra)
	cfg := r.load()
	hook, err := setup.NewHook(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hook.Close() })
	if err := hook.Store.Import(t.Context(), []user.User{{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235"}}}, user.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	r.hook = hook
	return r
}

// write rewrites the secret file and the configuration (the base and extra).
func (r *reloadRig) write(secrets, extra string) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, "secrets"), []byte(secrets), 0o600); err != nil {
		r.t.Fatal(err)
	}
	yaml := strings.ReplaceAll(reloadBase, "%DIR%", r.dir) + extra
	if err := os.WriteFile(filepath.Join(r.dir, "tokenhook.yaml"), []byte(yaml), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *reloadRig) load() config.Config {
	r.t.Helper()
	cfg, err := setup.LoadConfig(filepath.Join(r.dir, "tokenhook.yaml"), nil, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return cfg
}

// post calls the hook with secret and a fresh event id, or eventID when
// given; body, when not nil, is the request body instead of the fixture.
func (r *reloadRig) post(secret, eventID string, body io.Reader) (int, string) {
	if eventID == "" {
		r.eventCount++
		eventID = strings.Repeat("e", r.eventCount)
	}
	if body == nil {
		body = strings.NewReader(r.withEventID(eventID))
	}
	req := httptest.NewRequest("POST", "/hooks/okta/token", body)
	req.Header.Set("X-Hook-Secret", secret)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	r.hook.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func (r *reloadRig) withEventID(id string) string {
	return strings.Replace(r.fixture, `"eventId": "`, `"eventId": "`+id, 1)
}

func TestHookReload(t *testing.T) {
	r := newReloadRig(t, "old-secret-0123456789\n", "")
	if code, body := r.post("old-secret-0123456789", "", nil); code != 200 || !strings.Contains(body, `"1235"`) || strings.Contains(body, "tier") {
		t.Fatalf("before: %d %s", code, body)
	}

	// Rotation, step 1: both secrets, and a new rule.
	r.write("old-secret-0123456789\nnew-secret-0123456789\n", `
rules:
  - {name: tier, claim: tier, value: '"gold"'}
`)
	restart, err := r.hook.Reload(r.load())
	if err != nil || len(restart) > 0 {
		t.Fatalf("reload: %v, restart %v", err, restart)
	}
	for _, secret := range []string{"old-secret-0123456789", "new-secret-0123456789"} {
		if code, body := r.post(secret, "", nil); code != 200 || !strings.Contains(body, `"gold"`) {
			t.Errorf("both secrets, %s: %d %s", secret[:3], code, body)
		}
	}

	// Step 2: the old secret goes. A call in flight when the reload lands
	// — authenticated, its body still arriving — finishes under the
	// configuration it started with.
	pr, pw := io.Pipe()
	inFlight := make(chan string, 1)
	go func() {
		code, body := r.post("old-secret-0123456789", "", pr)
		inFlight <- fmt.Sprint(code, " ", body)
	}()
	half := len(r.fixture) / 2
	event := r.withEventID("inflight")
	if _, err := io.WriteString(pw, event[:half]); err != nil {
		t.Fatal(err)
	}
	r.write("new-secret-0123456789\n", "")
	if _, err := r.hook.Reload(r.load()); err != nil {
		t.Fatal(err)
	}
	io.WriteString(pw, event[half:])
	pw.Close()
	if got := <-inFlight; !strings.HasPrefix(got, "200 ") || !strings.Contains(got, `"gold"`) {
		t.Errorf("the call in flight across the reload: %s", got)
	}
	if code, _ := r.post("old-secret-0123456789", "", nil); code != 401 {
		t.Errorf("the removed secret after the reload: %d, want 401", code)
	}
	if code, body := r.post("new-secret-0123456789", "", nil); code != 200 || strings.Contains(body, "gold") {
		t.Errorf("the new secret after the reload: %d %s (the rule is gone)", code, body)
	}

	// The replay guard remembers across reloads.
	if code, _ := r.post("new-secret-0123456789", "replayed", nil); code != 200 {
		t.Fatalf("first use of an event id: %d", code)
	}
	if _, err := r.hook.Reload(r.load()); err != nil {
		t.Fatal(err)
	}
	if code, _ := r.post("new-secret-0123456789", "replayed", nil); code != 409 {
		t.Errorf("an event id replayed across a reload: %d, want 409", code)
	}
}

// TestHookReloadRefused: a reload that cannot be applied changes nothing.
func TestHookReloadRefused(t *testing.T) {
	r := newReloadRig(t, "old-secret-0123456789\n", "")
	running := r.load()

	bad := running
	bad.Rules = []rules.RuleSpec{{Name: "broken", Claim: "x", Value: "user.?patientId +"}}
	if _, err := r.hook.Reload(bad); err == nil {
		t.Error("a rule that does not compile was accepted")
	}

	noSecret := running
	noSecret.Auth = config.Auth{}
	if _, err := r.hook.Reload(noSecret); err == nil || !strings.Contains(err.Error(), "generated secret") {
		t.Errorf("a reload dropping every secret: %v, want refused", err)
	}

	moved := running
	moved.Store.DSN = "sqlite:" + filepath.Join(r.dir, "other.db")
	moved.Server.Listen = "127.0.0.1:1"
	restart, err := r.hook.Reload(moved)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server (listen, path, timeouts, TLS, connections)", "store.dsn"} {
		if !slices.Contains(restart, want) {
			t.Errorf("restart %v lacks %q", restart, want)
		}
	}
	if code, body := r.post("old-secret-0123456789", "", nil); code != 200 || !strings.Contains(body, `"1235"`) {
		t.Errorf("after refused reloads the running configuration serves: %d %s", code, body)
	}
}

// TestHookReloadKeepsGeneratedSecret: a run without a configured secret
// keeps the one it generated, so Okta's registration stays valid.
func TestHookReloadKeepsGeneratedSecret(t *testing.T) {
	cfg := envConfig(t, "TOKENHOOK_STORE=memory:")
	hook := startHook(t, cfg)
	if hook.GeneratedSecret == "" {
		t.Fatal("no generated secret")
	}
	post := func() int {
		req := httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(fixture(t)))
		req.Header.Set(setup.GeneratedSecretHeader, hook.GeneratedSecret)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		hook.ServeHTTP(w, req)
		return w.Code
	}
	if got := post(); got != 204 {
		t.Fatalf("before: %d", got)
	}
	cfg.Claims.Mappings = nil
	if _, err := hook.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if got := post(); got != 204 {
		t.Errorf("the generated secret after a reload: %d, want 204", got)
	}
}

// envConfig loads the configuration env sets (TOKENHOOK_* variables).
func envConfig(t *testing.T, env ...string) config.Config {
	t.Helper()
	cfg, err := setup.LoadConfig("", env, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startHook builds the hook for cfg, closed when the test ends, logging
// nowhere.
func startHook(t *testing.T, cfg config.Config) *setup.Hook {
	t.Helper()
	hook, err := setup.NewHook(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hook.Close() })
	return hook
}

// latencyRE matches a log line's latency (text or JSON): a number that may
// hold any digits, so leak checks skip it.
var latencyRE = regexp.MustCompile(`latency=\S+|"latency":\d+`)

// scrubLatency blanks the latencies of logs, for leak checks.
func scrubLatency(logs string) string { return latencyRE.ReplaceAllString(logs, "latency=0") }
