package cli_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/cli"
	"github.com/tokenhook/tokenhook/internal/logtest"
)

func TestSampleappConfigErrors(t *testing.T) {
	noFile := filepath.Join(t.TempDir(), ".env")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"nothing configured", []string{"sampleapp", "--env-file", noFile}, 1, "missing ISSUER, CLIENT_ID, CLIENT_SECRET"},
		{"flags do not carry the secret", []string{"sampleapp", "--env-file", noFile, "--issuer", "https://dev-1.okta.com/oauth2/default", "--client-id", "0oa1"}, 1, "missing CLIENT_SECRET"},
		{"explicit env file missing", []string{"sampleapp", "--env-file", filepath.Join(t.TempDir(), "prod.env")}, 1, "prod.env"},
		{"arguments", []string{"sampleapp", "extra"}, 2, "accepts 0 arg"},
		{"unknown flag", []string{"sampleapp", "--client-secret", "x"}, 2, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("code %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
		})
	}
}

// TestSampleappRuns starts the app against an issuer that is not up (the
// app starts anyway and discovers later), checks the flags override the
// file, that it serves, and that it stops cleanly when the context ends.
func TestSampleappRuns(t *testing.T) {
	env := writeFile(t, ".env", "ISSUER=https://dev-1.okta.com/oauth2/default\nCLIENT_ID=0oa-file\nCLIENT_SECRET=s3cret\n")
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + down.Addr().String()
	down.Close()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr logtest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"sampleapp", "--env-file", env, "--listen", "127.0.0.1:0", "--issuer", issuer}, cli.IO{
			Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		})
	}()
	listening := regexp.MustCompile(`Listening on (\S+)`)
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("never listened\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"Open http://localhost:8080 in a browser", "Redirect URI http://localhost:8080/authorization-code/callback"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	errs := stderr.String()
	for _, want := range []string{"warning: BASE_URL is http://localhost:8080 but the app listens on " + addr, "warning: the provider is not reachable yet", issuer} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs+out, "s3cret") {
		t.Error("the client secret was printed")
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("home: %d", resp.StatusCode)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code %d\nstderr: %s", code, stderr.String())
	}
}
