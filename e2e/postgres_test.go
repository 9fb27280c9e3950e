package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/pgtest"
)

// TestPostgresReplicas runs what several replicas behind a load balancer
// are: two `tokenhook serve` on one PostgreSQL database, each with its own
// cache. A user put through the command line must reach both within the
// cache's TTLs: first unknown to both (a cached "not found"), then added,
// then changed.
func TestPostgresReplicas(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	dsn := pgtest.DSN(t)
	const ttl = time.Second
	env := append([]string{"TOKENHOOK_CACHE_TTL=1s", "TOKENHOOK_CACHE_NEGATIVE_TTL=1s"}, basicEnv...)
	servers := []*server{
		startServer(t, env, "--store", dsn),
		startServer(t, env, "--store", dsn),
	}
	code := fixture(t, "authorization_code.json")
	headers := []string{"Authorization", guideBasic, "Content-Type", "application/json"}
	for i, srv := range servers {
		if status, body := srv.post(t, "/hooks/okta/token", withLogin(code, "new.user@example.com"), headers...); status != 204 {
			t.Fatalf("server %d: a user not yet in the store: %d %s, want 204", i, status, body)
		}
	}
	// servedWithin polls every server until it answers with want, and fails
	// if that takes longer than the TTL (plus slack for a loaded machine).
	servedWithin := func(what, want string) {
		t.Helper()
		for i, srv := range servers {
			start := time.Now()
			for {
				status, body := srv.post(t, "/hooks/okta/token", withLogin(code, "new.user@example.com"), headers...)
				if status == 200 && strings.Contains(body, want) {
					break
				}
				if time.Since(start) > ttl+5*time.Second {
					t.Fatalf("server %d, %s: still %d %s after %s; want 200 with %s", i, what, status, body, time.Since(start), want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	if r := tokenhook(t, nil, "users", "put", "--store", dsn, "new.user@example.com", "--set", "patientId=4242"); r.code != 0 {
		t.Fatalf("put: %+v", r)
	}
	servedWithin("added", `"path":"/claims/patientId","value":"4242"`)
	if r := tokenhook(t, nil, "users", "put", "--store", dsn, "new.user@example.com", "--set", "patientId=4343"); r.code != 0 {
		t.Fatalf("put: %+v", r)
	}
	servedWithin("changed", `"path":"/claims/patientId","value":"4343"`)
	for i, srv := range servers {
		if status, body := srv.post(t, "/hooks/okta/token", withLogin(code, "nobody@example.com"), headers...); status != 204 {
			t.Errorf("server %d: unknown user: %d %s, want 204", i, status, body)
		}
	}

	r := tokenhook(t, nil, "users", "get", "--store", dsn, "new.user@example.com")
	if r.code != 0 || !strings.Contains(r.stdout, "4343") {
		t.Errorf("users get: %+v", r)
	}
	for i, srv := range servers {
		if logs := scrubLatency(srv.stderr.String()); strings.Contains(logs, "4242") || strings.Contains(logs, "4343") {
			t.Errorf("server %d log shows an attribute value:\n%s", i, logs)
		}
	}
}
