package cli_test

import (
	"bytes"
	"context"
	"encoding/json/v2"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/cli"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

// emulatorOutput is a buffer the running command writes to while the test
// reads it.
type emulatorOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *emulatorOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *emulatorOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

var issuerLine = regexp.MustCompile(`(?m)^\s*issuer\s+(http://\S+)`)

func TestEmulateRuns(t *testing.T) {
	var calls atomic.Int32
	var gotAuth atomic.Value
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		gotAuth.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	systemLog := filepath.Join(t.TempDir(), "system-log.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr emulatorOutput
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"emulate", "--listen", "127.0.0.1:0", "--hook-url", hook.URL + "/hook", "--system-log", systemLog},
			cli.IO{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
				Environ: []string{"TOKENHOOK_EMULATOR_HOOK_AUTH=Authorization: Basic YWRtaW46c3VwZXJzZWNyZXQ="}})
	}()
	var issuer string
	deadline := time.Now().Add(20 * time.Second)
	for issuer == "" {
		if m := issuerLine.FindStringSubmatch(stdout.String()); m != nil {
			issuer = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("emulate exited with %d:\n%s\n%s", code, stdout.String(), stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulate did not start:\n%s\n%s", stdout.String(), stderr.String())
		}
	}
	if strings.Contains(issuer, ":0/") || !strings.HasSuffix(issuer, "/oauth2/default") {
		t.Errorf("issuer %s does not carry the bound port", issuer)
	}
	out := stdout.String()
	for _, want := range []string{oktaemu.DemoPassword, "jessie.smith@example.com", oktaemu.DemoClientID, "/.well-known/openid-configuration"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr.String(), "YWRtaW46c3VwZXJzZWNyZXQ=") {
		t.Error("the hook secret was printed")
	}

	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	err = json.UnmarshalRead(resp.Body, &doc)
	resp.Body.Close()
	if err != nil || doc["issuer"] != issuer {
		t.Fatalf("discovery: %v %v", err, doc)
	}

	form := url.Values{"grant_type": {"password"}, "username": {"jessie.smith@example.com"}, "password": {oktaemu.DemoPassword}, "scope": {"openid"}}
	req, _ := http.NewRequest(http.MethodPost, issuer+"/v1/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(oktaemu.DemoClientID, oktaemu.DemoClientSecret)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("password grant: %d %s", resp.StatusCode, body)
	}
	if calls.Load() != 1 || gotAuth.Load() != "Basic YWRtaW46c3VwZXJzZWNyZXQ=" {
		t.Errorf("hook calls %d, Authorization %v", calls.Load(), gotAuth.Load())
	}
	logged, err := os.ReadFile(systemLog)
	if err != nil || strings.Count(string(logged), "\n") != 1 || !strings.Contains(string(logged), "inline_hook.response.processed") {
		t.Errorf("system log file: %v %q", err, logged)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("emulate did not shut down")
	}
}

func TestEmulateUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"auth header without a hook", []string{"emulate", "--hook-auth-header", "Authorization: x"}, 2, "needs a hook"},
		{"auth header without a value", []string{"emulate", "--hook-url", "http://127.0.0.1:1/h", "--hook-auth-header", "Authorization"}, 2, "Name: value"},
		{"unknown flag", []string{"emulate", "--nope"}, 2, "unknown flag"},
		{"arguments", []string{"emulate", "extra"}, 2, "accepts 0 arg"},
		{"missing config", []string{"emulate", "--config", filepath.Join(t.TempDir(), "missing.yaml")}, 1, "emulator config"},
		{"invalid hook URL", []string{"emulate", "--listen", "127.0.0.1:0", "--hook-url", "ftp://hook"}, 1, "hook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("got %d %q, want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}
