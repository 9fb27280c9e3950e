package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeReloadOnSIGHUP rotates the hook secret of a running `tokenhook
// serve` in production mode: the secret lives in a mounted file, the rules
// in the configuration file; SIGHUP swaps both in without a restart, and a
// broken configuration is refused while the running one keeps serving.
func TestServeReloadOnSIGHUP(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	dir := t.TempDir()
	secrets := writeFile(t, dir, "hook-secrets", "old-secret-0123456789\n")
	configYAML := func(extra string) string {
		return "auth:\n  require: true\n  header:\n    name: X-Hook-Secret\n    values_file: " + secrets + "\n" + extra
	}
	config := writeFile(t, dir, "tokenhook.yaml", configYAML(""))
	store := "sqlite:" + filepath.Join(dir, "tokenhook.db")
	if r := tokenhook(t, nil, "users", "import", "--store", store, writeFile(t, dir, "patients.csv", patientsCSV)); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	srv := startServer(t, nil, "--config", config, "--store", store)
	body := fixture(t, "authorization_code.json")
	call := func(secret string) (int, string) {
		return srv.post(t, "/hooks/okta/token", body, "X-Hook-Secret", secret, "Content-Type", "application/json")
	}
	// hup sends SIGHUP and waits for the log line it produces.
	reloads := 0
	hup := func(want string) {
		t.Helper()
		reloads++
		if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(srv.stderr.String(), "reload") < reloads {
			if time.Now().After(deadline) {
				t.Fatalf("no reload log line after SIGHUP:\n%s", srv.stderr)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(srv.stderr.String(), want) {
			t.Fatalf("reload: want %q in\n%s", want, srv.stderr)
		}
	}

	if status, b := call("old-secret-0123456789"); status != 200 || !strings.Contains(b, `"1235"`) {
		t.Fatalf("before: %d %s", status, b)
	}
	// Step 1: both secrets, and a rule.
	writeFile(t, dir, "hook-secrets", "old-secret-0123456789\nnew-secret-0123456789\n")
	writeFile(t, dir, "tokenhook.yaml", configYAML("rules:\n  - {name: tier, claim: tier, value: '\"gold\"'}\n"))
	hup("configuration reloaded")
	for _, secret := range []string{"old-secret-0123456789", "new-secret-0123456789"} {
		if status, b := call(secret); status != 200 || !strings.Contains(b, `"gold"`) {
			t.Errorf("both secrets accepted, the rule in force: %d %s", status, b)
		}
	}
	// Step 2: the old secret goes.
	writeFile(t, dir, "hook-secrets", "new-secret-0123456789\n")
	hup("configuration reloaded")
	if status, _ := call("old-secret-0123456789"); status != 401 {
		t.Errorf("the removed secret: %d, want 401", status)
	}
	if status, _ := call("new-secret-0123456789"); status != 200 {
		t.Errorf("the new secret: %d, want 200", status)
	}
	// A broken configuration is refused and the running one stays.
	writeFile(t, dir, "tokenhook.yaml", configYAML("rules:\n  - {name: broken, claim: x, value: 'user.?patientId +'}\n"))
	hup("reload refused")
	if status, b := call("new-secret-0123456789"); status != 200 || !strings.Contains(b, `"gold"`) {
		t.Errorf("after a refused reload: %d %s", status, b)
	}
	logs := srv.stderr.String()
	for _, secret := range []string{"old-secret", "new-secret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret:\n%s", logs)
		}
	}
}
