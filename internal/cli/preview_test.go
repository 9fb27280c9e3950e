package cli_test

import (
	"bytes"
	"context"
	"encoding/json/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook/inlinehooktest"
	"github.com/tokenhook/tokenhook/internal/cli"
)

// previewRun runs tokenhook with an environment.
func previewRun(t *testing.T, environ []string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, cli.IO{
		Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Environ: environ,
	})
	return result{code, stdout.String(), stderr.String()}
}

// previewHook answers every call with status and body, and remembers the
// Authorization header it got.
func previewHook(t *testing.T, status int, body string) (*httptest.Server, *atomic.Value) {
	t.Helper()
	var auth atomic.Value
	auth.Store("")
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s, &auth
}

func TestPreviewExitCodes(t *testing.T) {
	reqFile := writeFile(t, "request.json", string(inlinehooktest.MustJSON(t, inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))))
	applied, _ := previewHook(t, 200, `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"}]}]}`)
	discarded, _ := previewHook(t, 200, `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/iss","value":"x"}]}]}`)
	noop, _ := previewHook(t, 204, "")
	failed, _ := previewHook(t, 500, "")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{name: "applied", args: []string{"--url", applied.URL, "--request", reqFile}, code: 0, stdout: `+ extPatientId: "1235"`},
		{name: "no change", args: []string{"--url", noop.URL, "--request", reqFile}, code: 0, stdout: "NO CHANGE"},
		{name: "discarded", args: []string{"--url", discarded.URL, "--request", reqFile}, code: 1, stdout: "Claim is reserved(op=add, path=/claims/iss)", stderr: "the hook's answer: discarded"},
		{name: "failed", args: []string{"--url", failed.URL, "--request", reqFile}, code: 1, stdout: "FAILED: The hook responded with status 500"},
		{name: "no source", args: []string{"--url", applied.URL}, code: 2, stderr: "exactly one of --request FILE and --emulator-config FILE"},
		{name: "two sources", args: []string{"--url", applied.URL, "--request", reqFile, "--emulator-config", reqFile}, code: 2, stderr: "exactly one"},
		{name: "no url", args: []string{"--request", reqFile}, code: 2, stderr: "--url is required"},
		{name: "builder flag with a file", args: []string{"--url", applied.URL, "--request", reqFile, "--user", "kim.sato@example.com"}, code: 2, stderr: "--user builds a request"},
		{name: "http to a remote host", args: []string{"--url", "http://hooks.example.com/", "--request", reqFile}, code: 2, stderr: "loopback host only"},
		{name: "bad set", args: []string{"--url", applied.URL, "--request", reqFile, "--set", "data=1"}, code: 2, stderr: "not a JSON Pointer"},
		{name: "unknown flag", args: []string{"--url", applied.URL, "--nope"}, code: 2},
		{name: "missing file", args: []string{"--url", applied.URL, "--request", "/nonexistent.json"}, code: 1, stderr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := previewRun(t, nil, "", append([]string{"preview"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestPreviewStdinEditsAndEnvAuth(t *testing.T) {
	const secret = "Basic YWRtaW46c3VwZXJzZWNyZXQ="
	hook, auth := previewHook(t, 204, "")
	stdin := string(inlinehooktest.MustJSON(t, inlinehooktest.NewRequest(inlinehooktest.Implicit)))
	r := previewRun(t, []string{"TOKENHOOK_PREVIEW_AUTH=Authorization: " + secret}, stdin,
		"preview", "--url", hook.URL, "--request", "-", "--json",
		"--login", "kim.sato@example.com", "--set", "/data/identity/claims/clinic=north")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got := auth.Load(); got != secret {
		t.Errorf("Authorization %q, want the environment's", got)
	}
	if strings.Contains(r.stdout, "YWRtaW46c3VwZXJzZWNyZXQ") {
		t.Error("the report shows the secret")
	}
	var doc struct {
		Verdict string `json:"verdict"`
		Request struct {
			User string `json:"user"`
		} `json:"request"`
		Tokens []struct {
			Before map[string]any `json:"before"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if doc.Verdict != "no-op" || doc.Request.User != "kim.sato@example.com" || doc.Tokens[0].Before["clinic"] != "north" {
		t.Errorf("report %+v", doc)
	}
}
