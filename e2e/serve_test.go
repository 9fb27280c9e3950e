package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/certs/certstest"
	"github.com/tokenhook/tokenhook/internal/logtest"
	"github.com/tokenhook/tokenhook/internal/pgtest"
)

// binary is the tokenhook binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// runMain builds the binary, then runs the tests through pgtest.Main, which
// stops the PostgreSQL cluster the tests may have started.
func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "tokenhook-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "tokenhook")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/tokenhook")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tokenhook:", err)
		return 1
	}
	return pgtest.Main(m)
}

const guideBasic = "Basic YWRtaW46c3VwZXJzZWNyZXQ=" // admin:supersecret

// basicEnv configures the guide's Basic credentials.
var basicEnv = []string{"TOKENHOOK_AUTH_BASIC_USERNAME=admin", "TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret"}

// result is a finished command.
type result struct {
	code           int
	stdout, stderr string
}

// tokenhook runs the binary to completion.
func tokenhook(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = append(minimalEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// minimalEnv keeps the test independent of the developer's TOKENHOOK_*.
func minimalEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
}

// server is a running `tokenhook serve`.
type server struct {
	cmd      *exec.Cmd
	url      string // base URL
	adminURL string // the admin listener's base URL, "" when off
	stderr   *logtest.Buffer
	done     chan error
	client   *http.Client // nil: http.DefaultClient
}

var (
	listenRE      = regexp.MustCompile(`msg=listening addr=(\S+)`)
	adminListenRE = regexp.MustCompile(`msg="admin listening" addr=(\S+)`)
)

// startServer runs `tokenhook serve` on a free loopback port and waits until
// it listens.
func startServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	cmd := exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	// The admin listener on a free port too: tests run in parallel.
	cmd.Env = append(append(minimalEnv(), "TOKENHOOK_METRICS_LISTEN=127.0.0.1:0"), env...)
	s := &server{cmd: cmd, stderr: &logtest.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("server stderr:\n%s", s.stderr)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		logs := s.stderr.String()
		if m := listenRE.FindStringSubmatch(logs); m != nil {
			s.url = "http://" + m[1]
			if m := adminListenRE.FindStringSubmatch(logs); m != nil {
				s.adminURL = "http://" + m[1]
			}
			return s
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("server exited: %v\n%s", err, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start:\n%s", s.stderr)
	return nil
}

// logsWith returns the server's log once it holds every one of want, or
// after 5 s: a call's audit line is written once its answer is out, so the
// client may read the log before the line is there.
func (s *server) logsWith(want ...string) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs := s.stderr.String()
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(logs, w)
		}
		if !missing || time.Now().After(deadline) {
			return logs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// post sends body to the hook with the given headers and returns status and body.
func (s *server) post(t *testing.T, path, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := s.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "inlinehook", "testdata", "requests", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withLogin rewrites the fixture's user (login and preferred_username).
func withLogin(body, login string) string {
	return strings.ReplaceAll(body, "jessie.smith@example.com", login)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const patientsCSV = `login,patientId
jessie.smith@example.com,1235
kim.sato@example.com,6789
rajiv.tal@example.com,4235
`

func TestServeEndToEnd(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "tokenhook.db")

	// Import the guide's patients through the CLI.
	r := tokenhook(t, nil, "users", "import", "--store", store, writeFile(t, dir, "patients.csv", patientsCSV))
	if r.code != 0 || !strings.Contains(r.stdout, "imported 3 users") {
		t.Fatalf("import: %+v", r)
	}

	// A file with one bad row imports nothing and names the line.
	bad := "login,patientId\nnew.user@example.com,1\n,2\n"
	r = tokenhook(t, nil, "users", "import", "--store", store, writeFile(t, dir, "bad.csv", bad))
	if r.code == 0 || !strings.Contains(r.stderr, "line 3") {
		t.Fatalf("bad import: %+v; want failure naming line 3", r)
	}
	if r = tokenhook(t, nil, "users", "get", "--store", store, "new.user@example.com"); r.code == 0 {
		t.Fatalf("a row of the failed import was stored: %+v", r)
	}

	srv := startServer(t, basicEnv, "--store", store)
	code := fixture(t, "authorization_code.json")
	headers := []string{"Authorization", guideBasic, "Content-Type", "application/json"}

	status, body := srv.post(t, "/hooks/okta/token", code, headers...)
	if status != 200 || !strings.Contains(body, `"path":"/claims/patientId","value":"1235"`) || !strings.Contains(body, "com.okta.identity.patch") {
		t.Fatalf("patient: %d %s", status, body)
	}
	status, body = srv.post(t, "/hooks/okta/token", withLogin(code, "kim.sato@example.com"), headers...)
	if status != 200 || !strings.Contains(body, `"value":"6789"`) {
		t.Fatalf("second patient: %d %s", status, body)
	}
	if status, _ = srv.post(t, "/hooks/okta/token", withLogin(code, "nobody@example.com"), headers...); status != 204 {
		t.Fatalf("unknown user: %d, want 204", status)
	}
	if status, _ = srv.post(t, "/hooks/okta/token", fixture(t, "client_credentials.json"), headers...); status != 204 {
		t.Fatalf("client credentials: %d, want 204", status)
	}

	// A user added while the server runs is served at once.
	if r = tokenhook(t, nil, "users", "put", "--store", store, "new.user@example.com", "--set", "patientId=9999"); r.code != 0 {
		t.Fatalf("put: %+v", r)
	}
	if status, body = srv.post(t, "/hooks/okta/token", withLogin(code, "new.user@example.com"), headers...); status != 200 || !strings.Contains(body, "9999") {
		t.Fatalf("new user: %d %s", status, body)
	}

	for _, tc := range []struct {
		name    string
		method  string
		body    string
		headers []string
		status  int
	}{
		{"no credentials", "POST", code, []string{"Content-Type", "application/json"}, 401},
		{"wrong credentials", "POST", code, []string{"Authorization", "Basic YWRtaW46eA==", "Content-Type", "application/json"}, 401},
		{"malformed JSON", "POST", `{"data":`, headers, 400},
		{"wrong method", "GET", "", headers, 405},
		{"wrong content type", "POST", code, []string{"Authorization", guideBasic, "Content-Type", "text/plain"}, 415},
		{"too large", "POST", `{"x":"` + strings.Repeat("a", 2<<20) + `"}`, headers, 413},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.url+"/hooks/okta/token", strings.NewReader(tc.body))
		for i := 0; i+1 < len(tc.headers); i += 2 {
			req.Header.Set(tc.headers[i], tc.headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.HasPrefix(string(b), `{"error":`) {
			t.Errorf("%s: %d %s, want %d with a JSON error", tc.name, resp.StatusCode, b, tc.status)
		}
	}

	resp, err := http.Get(srv.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	// The log has one line per call and never a value, secret or token.
	logs := scrubLatency(srv.logsWith("claims=[id:add:patientId]"))
	for _, leak := range []string{"1235", "6789", "9999", "supersecret", "YWRtaW46"} {
		if strings.Contains(logs, leak) {
			t.Errorf("server log contains %q", leak)
		}
	}
	if !strings.Contains(logs, "claims=[id:add:patientId]") {
		t.Errorf("log lacks the claim names:\n%s", logs)
	}
}

// TestGracefulShutdown pins that SIGTERM lets a request in flight finish.
func TestGracefulShutdown(t *testing.T) {
	srv := startServer(t, basicEnv, "--store", "memory:")
	body := fixture(t, "authorization_code.json")
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /hooks/okta/token HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", guideBasic, len(body))
	if _, err := io.WriteString(conn, head+body[:100]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server is now reading the body
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := io.WriteString(conn, body[100:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 { // memory store is empty: nothing to do
		t.Errorf("in-flight request: status %d", resp.StatusCode)
	}
	select {
	case err := <-srv.done:
		srv.done <- err
		if err != nil {
			t.Fatalf("server exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	// New connections are refused once it has stopped.
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.url, "http://"), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

func TestGeneratedSecret(t *testing.T) {
	srv := startServer(t, nil, "--store", "memory:")
	m := regexp.MustCompile(`secret to:\s+(\S+)`).FindStringSubmatch(srv.stderr.String())
	if m == nil {
		t.Fatalf("no generated secret printed:\n%s", srv.stderr)
	}
	body := fixture(t, "authorization_code.json")
	if status, _ := srv.post(t, "/hooks/okta/token", body, "Authorization", m[1], "Content-Type", "application/json"); status != 204 {
		t.Fatalf("with the generated secret: %d", status)
	}
	if status, _ := srv.post(t, "/hooks/okta/token", body, "Content-Type", "application/json"); status != 401 {
		t.Fatalf("without it: %d", status)
	}
	if strings.Count(srv.stderr.String(), m[1]) != 1 {
		t.Error("the secret is printed more than once")
	}
}

func TestRequireAuthRefusesToStart(t *testing.T) {
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	r := tokenhook(t, nil, "serve", "--require-auth", "--store", "memory:", "--listen", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, "auth.require") {
		t.Fatalf("got %+v; want a refusal naming auth.require", r)
	}
	r = tokenhook(t, nil, "serve", "--config", writeFile(t, t.TempDir(), "bad.yaml", "server:\n  lisen: x\n"))
	if r.code == 0 || !strings.Contains(r.stderr, "lisen") {
		t.Fatalf("bad config: %+v", r)
	}
}

// TestServeHTTPS runs serve with a certificate generated here: it answers
// over HTTPS a client that trusts that certificate, serves a renewed one
// without a restart, and enforces the request limits: 409 for a repeated
// eventId, 413 for a string too long, 400 for JSON too deep, 431 (net/http's
// own) for headers too large.
func TestServeHTTPS(t *testing.T) {
	dir := t.TempDir()
	first, renewed := certstest.New(t, 1, "tokenhook e2e"), certstest.New(t, 2, "tokenhook e2e renewed")
	certFile, keyFile := first.Write(t, dir)
	env := append([]string{"TOKENHOOK_TLS_CERT_FILE=" + certFile, "TOKENHOOK_TLS_KEY_FILE=" + keyFile,
		"TOKENHOOK_MAX_HEADER_BYTES=8192", "TOKENHOOK_LIMITS_MAX_STRING_BYTES=4096", "TOKENHOOK_LIMITS_MAX_JSON_DEPTH=16",
		"TOKENHOOK_LIMITS_REPLAY_WINDOW=10m"}, basicEnv...)
	srv := startServer(t, env, "--store", "memory:")
	srv.url = "https://" + strings.TrimPrefix(srv.url, "http://")
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certstest.Pool(first, renewed)}}
	t.Cleanup(transport.CloseIdleConnections)
	srv.client = &http.Client{Transport: transport}
	headers := []string{"Authorization", guideBasic, "Content-Type", "application/json"}
	body := fixture(t, "authorization_code.json")
	withID := func(id string) string { return strings.Replace(body, `"eventId": "`, `"eventId": "`+id, 1) }

	if status, b := srv.post(t, "/hooks/okta/token", withID("a"), headers...); status != 204 {
		t.Fatalf("over HTTPS: %d %s", status, b)
	}
	// A client that does not trust the certificate gets nowhere.
	if _, err := http.Get(srv.url + "/healthz"); err == nil {
		t.Error("a client without the certificate connected")
	}

	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"repeated eventId", withID("a"), 409, "replay"},
		{"string too long", strings.Replace(withID("b"), "jessie.smith@example.com", strings.Repeat("j", 5000), 1), 413, "string_too_long"},
		{"JSON too deep", strings.Replace(withID("c"), `"data": {`, `"data": {"x":`+strings.Repeat("[", 20)+strings.Repeat("]", 20)+`,`, 1), 400, "nesting_too_deep"},
		{"another eventId", withID("d"), 204, ""},
	} {
		status, b := srv.post(t, "/hooks/okta/token", tc.body, headers...)
		if status != tc.status || tc.code != "" && !strings.HasPrefix(b, `{"error":"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, b, tc.status, tc.code)
		}
	}
	if status, _ := srv.post(t, "/hooks/okta/token", body, append(headers, "X-Padding", strings.Repeat("p", 32<<10))...); status != 431 {
		t.Errorf("headers over server.max_header_bytes: %d, want 431", status)
	}
	logs := srv.logsWith("outcome=replay", "status=413", "status=400")
	for _, want := range []string{"outcome=replay", "status=413", "status=400"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}

	// A renewed pair, renamed over the files, is served without a restart
	// (the files are looked at every few seconds, on a handshake).
	renewed.Write(t, dir)
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(srv.url, "https://"), &tls.Config{RootCAs: certstest.Pool(first, renewed)})
		if err != nil {
			t.Fatal(err)
		}
		serial := conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
		conn.Close()
		if serial == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving certificate %d", serial)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !strings.Contains(srv.stderr.String(), "TLS certificate reloaded") {
		t.Errorf("no reload logged:\n%s", srv.stderr)
	}
	transport.CloseIdleConnections()
	if status, b := srv.post(t, "/hooks/okta/token", withID("e"), headers...); status != 204 {
		t.Fatalf("after the reload: %d %s", status, b)
	}
}

// TestServeRateLimit pins the per-source rate limit: 429 with Retry-After
// and a JSON error after the burst, before authentication.
func TestServeRateLimit(t *testing.T) {
	env := append([]string{"TOKENHOOK_LIMITS_RATE_PER_SOURCE=0.01", "TOKENHOOK_LIMITS_RATE_BURST=3"}, basicEnv...)
	srv := startServer(t, env, "--store", "memory:")
	headers := []string{"Authorization", guideBasic, "Content-Type", "application/json"}
	body := fixture(t, "authorization_code.json")
	for i := range 3 {
		if status, b := srv.post(t, "/hooks/okta/token", body, headers...); status != 204 {
			t.Fatalf("call %d of the burst: %d %s", i+1, status, b)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.url+"/hooks/okta/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json") // and no credentials: limited before authentication
	req.Header.Set("X-Forwarded-For", "198.51.100.1")  // not a source
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || !strings.HasPrefix(string(b), `{"error":"rate_limited"`) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the burst: %d %s, Retry-After %q", resp.StatusCode, b, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(srv.logsWith("outcome=rate_limited"), "outcome=rate_limited") {
		t.Errorf("no rate_limited log line:\n%s", srv.stderr)
	}
	// Health checks are not limited.
	if resp, err := http.Get(srv.url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// latencyRE matches a log line's latency (text or JSON): a number that may
// hold any digits, so leak checks skip it.
var latencyRE = regexp.MustCompile(`latency=\S+|"latency":\d+`)

// scrubLatency blanks the latencies of logs, for leak checks.
func scrubLatency(logs string) string { return latencyRE.ReplaceAllString(logs, "latency=0") }
