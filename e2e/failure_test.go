package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/pgtest"
)

// TestPostgresStopped stops the real PostgreSQL under a running `tokenhook
// serve` and checks the failure policy end to end: every answer still
// arrives well inside Okta's 3 s; a user the cache knows keeps their claim
// (last known good, served stale); a user it does not know gets no claim
// (best effort) — or, with a required lookup, a denial; once the server is
// back, new records are served again.
func TestPostgresStopped(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	cluster := pgtest.NewCluster(t)
	dsn := cluster.CreateDatabase(t, "hook")
	if r := tokenhook(t, nil, "users", "import", "--store", dsn, writeFile(t, t.TempDir(), "patients.csv", patientsCSV)); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	required := writeFile(t, t.TempDir(), "required.yaml", `
lookups:
  - name: user
    key: login
    required: true
rules:
  - name: patient id
    claim: patientId
    value: user.?patientId
policy:
  failure_summary: Patient records are unavailable
`)
	env := append([]string{
		"TOKENHOOK_CACHE_TTL=200ms", "TOKENHOOK_CACHE_NEGATIVE_TTL=200ms", "TOKENHOOK_CACHE_STALE_FOR=1h",
		"TOKENHOOK_POLICY_BUDGET=1500ms", "TOKENHOOK_POLICY_STORE_TIMEOUT=500ms",
	}, basicEnv...)
	bestEffort := startServer(t, env, "--store", dsn)
	strict := startServer(t, env, "--store", dsn, "--config", required)

	code := fixture(t, "authorization_code.json")
	headers := []string{"Authorization", guideBasic, "Content-Type", "application/json"}
	call := func(srv *server, login string) (int, string, time.Duration) {
		start := time.Now()
		status, body := srv.post(t, "/hooks/okta/token", withLogin(code, login), headers...)
		return status, body, time.Since(start)
	}
	const jessie = `"path":"/claims/patientId","value":"1235"`

	// Warm both caches with jessie.
	for _, srv := range []*server{bestEffort, strict} {
		if status, body, _ := call(srv, "jessie.smith@example.com"); status != 200 || !strings.Contains(body, jessie) {
			t.Fatalf("before the stop: %d %s", status, body)
		}
	}

	cluster.Stop(t)
	time.Sleep(300 * time.Millisecond) // past the TTL: the cache must ask the store

	for name, srv := range map[string]*server{"best effort": bestEffort, "required": strict} {
		status, body, took := call(srv, "jessie.smith@example.com")
		if status != 200 || !strings.Contains(body, jessie) {
			t.Errorf("%s: a cached user while the store is down: %d %s, want the stale claim", name, status, body)
		}
		if took > 2*time.Second {
			t.Errorf("%s: answered in %s, too close to Okta's 3 s", name, took)
		}
	}
	status, body, took := call(bestEffort, "kim.sato@example.com")
	if status != 204 || took > 2*time.Second {
		t.Errorf("best effort, an uncached user while the store is down: %d %s in %s; want 204 within the budget", status, body, took)
	}
	status, body, took = call(strict, "kim.sato@example.com")
	if status != 200 || !strings.Contains(body, `"errorSummary":"Patient records are unavailable"`) || took > 2*time.Second {
		t.Errorf("required, an uncached user while the store is down: %d %s in %s; want a denial within the budget", status, body, took)
	}

	cluster.Start(t)
	if r := tokenhook(t, nil, "users", "put", "--store", dsn, "new.user@example.com", "--set", "patientId=777"); r.code != 0 {
		t.Fatalf("put after the restart: %+v", r)
	}
	// The pool reconnects; the negative TTL is short: the new user shows up.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body, _ := call(bestEffort, "new.user@example.com")
		if status == 200 && strings.Contains(body, `"value":"777"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: still %d %s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	logs := scrubLatency(bestEffort.stderr.String())
	if !strings.Contains(logs, "lookup failed") || !strings.Contains(logs, "stale record served") || strings.Contains(logs, "kim.sato") || strings.Contains(logs, "1235") {
		t.Errorf("logs: want the failed lookup by name, never a login or value:\n%s", logs)
	}
}
