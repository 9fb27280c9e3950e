package e2e

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreviewAgainstServe runs `tokenhook preview`, as a hook author's CI
// would, against a running `tokenhook serve` and against hooks that break
// Okta's rules: the verdict and the exit status are what Okta would decide.
func TestPreviewAgainstServe(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "tokenhook.db")
	if r := tokenhook(t, nil, "users", "import", "--store", store, writeFile(t, dir, "patients.csv", patientsCSV)); r.code != 0 {
		t.Fatalf("import: %+v", r)
	}
	srv := startServer(t, basicEnv, "--store", store)
	hookURL := srv.url + "/hooks/okta/token"
	auth := []string{"TOKENHOOK_PREVIEW_AUTH=Authorization: " + guideBasic}
	request := filepath.Join("..", "inlinehook", "testdata", "requests", "authorization_code.json")
	emulatorConfig := writeFile(t, dir, "emulator.yaml", "scopes: [patients.read]\n")

	// A hook that answers with a claim Okta reserves.
	wrong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"commands":[{"type":"com.okta.identity.patch","value":[` +
			`{"op":"add","path":"/claims/patientId","value":"1235"},{"op":"replace","path":"/claims/sub","value":"x"}]}]}`))
	}))
	t.Cleanup(wrong.Close)

	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want []string
	}{
		{
			name: "a patient, from a request file", env: auth,
			args: []string{"--url", hookURL, "--request", request},
			code: 0, want: []string{"APPLIED", `+ patientId: "1235"`},
		},
		{
			name: "a patient, from the emulator's demo users", env: auth,
			args: []string{"--url", hookURL, "--emulator-config", emulatorConfig, "--user", "kim.sato@example.com", "--client", "tokenhook-sample"},
			code: 0, want: []string{"APPLIED", `+ patientId: "6789"`},
		},
		{
			name: "not a patient: no change", env: auth,
			args: []string{"--url", hookURL, "--request", request, "--login", "pat.doe@example.com"},
			code: 0, want: []string{"NO CHANGE"},
		},
		{
			name: "client credentials: no change", env: auth,
			args: []string{"--url", hookURL, "--emulator-config", emulatorConfig, "--client", "tokenhook-service", "--grant", "client_credentials"},
			code: 0, want: []string{"NO CHANGE"},
		},
		{
			name: "the wrong secret: the call fails",
			env:  []string{"TOKENHOOK_PREVIEW_AUTH=Authorization: Basic YWRtaW46d3Jvbmc="},
			args: []string{"--url", hookURL, "--request", request},
			code: 1, want: []string{"FAILED", "401"},
		},
		{
			name: "a hook that writes a reserved claim: discarded",
			args: []string{"--url", wrong.URL, "--request", request},
			code: 1, want: []string{"DISCARDED", "Claim is reserved(op=replace, path=/claims/sub)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tokenhook(t, tc.env, append([]string{"preview"}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("the report lacks %q:\n%s", w, r.stdout)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "YWRtaW46") {
				t.Error("the report shows the secret")
			}
		})
	}
}
