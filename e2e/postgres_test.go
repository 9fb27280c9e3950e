package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/pgtest"
)

// TestPostgresReplicas runs what several replicas behind a load balancer
// are: two `tokenhook serve` on one PostgreSQL database. A user put through
// the command line must reach both, eventually: a cache may sit in front of
// the store, so the contract is "within its TTL", and the test polls.
func TestPostgresReplicas(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	dsn := pgtest.DSN(t)
	servers := []*server{
		startServer(t, basicEnv, "--store", dsn),
		startServer(t, basicEnv, "--store", dsn),
	}

	r := tokenhook(t, nil, "users", "put", "--store", dsn, "new.user@example.com", "--set", "patientId=4242")
	if r.code != 0 {
		t.Fatalf("put: %+v", r)
	}

	code := fixture(t, "authorization_code.json")
	headers := []string{"Authorization", guideBasic, "Content-Type", "application/json"}
	const want = `"path":"/claims/patientId","value":"4242"`
	for i, srv := range servers {
		deadline := time.Now().Add(15 * time.Second)
		for {
			status, body := srv.post(t, "/hooks/okta/token", withLogin(code, "new.user@example.com"), headers...)
			if status == 200 && strings.Contains(body, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server %d: still %d %s after 15s; want 200 with %s", i, status, body, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if status, body := srv.post(t, "/hooks/okta/token", withLogin(code, "nobody@example.com"), headers...); status != 204 {
			t.Errorf("server %d: unknown user: %d %s, want 204", i, status, body)
		}
	}

	r = tokenhook(t, nil, "users", "get", "--store", dsn, "new.user@example.com")
	if r.code != 0 || !strings.Contains(r.stdout, "4242") {
		t.Errorf("users get: %+v", r)
	}
	for i, srv := range servers {
		if logs := srv.stderr.String(); strings.Contains(logs, "4242") {
			t.Errorf("server %d log shows an attribute value:\n%s", i, logs)
		}
	}
}
