package demo_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/demo"
	"github.com/tokenhook/tokenhook/internal/logtest"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

var (
	bannerRE = regexp.MustCompile(`(?m)^\s*sample app\s+(http://\S+)\n\s*emulator\s+(http://\S+).*\n\s*hook server\s+(http://\S+)`)
	csrfRE   = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
	fromRE   = regexp.MustCompile(`name="from" value="([^"]*)"`)
	rowRE    = regexp.MustCompile(`<tr data-claim="([^"]+)"><th scope="row"><code>[^<]*</code></th><td class="claim-value[^"]*">([^<]*)</td>`)
)

type running struct {
	app, issuer, hook string
	out, logs         *logtest.Buffer
	systemLog         *logtest.Buffer
}

// startDemo runs the demo on free loopback ports until the test ends.
func startDemo(t *testing.T) running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := running{out: &logtest.Buffer{}, logs: &logtest.Buffer{}, systemLog: &logtest.Buffer{}}
	opts := demo.Options{
		AppListen: "127.0.0.1:0", EmulatorListen: "127.0.0.1:0", HookListen: "127.0.0.1:0",
		Dir: t.TempDir(), Out: r.out, SystemLog: r.systemLog,
	}
	opts.Logger = newLogger(r.logs)
	done := make(chan error, 1)
	go func() { done <- demo.Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo.Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the demo did not stop within 10 s")
		}
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := bannerRE.FindStringSubmatch(r.out.String()); m != nil {
			r.app, r.issuer, r.hook = m[1], m[2], m[3]
			return r
		}
		select {
		case err := <-done:
			t.Fatalf("the demo stopped: %v\n%s", err, r.out.String())
		default:
		}
	}
	t.Fatalf("no banner:\n%s", r.out.String())
	return r
}

// signIn logs login in through the sample app and the emulator's hosted
// page, as a browser with cookies does, and returns the profile page.
func signIn(t *testing.T, r running, login string) string {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp := get(t, c, r.app+"/login") // follows: app → /authorize → the sign-in page
	body := readBody(t, resp)
	csrf, from := csrfRE.FindStringSubmatch(body), fromRE.FindStringSubmatch(body)
	if csrf == nil || from == nil {
		t.Fatalf("no sign-in form at %s:\n%s", resp.Request.URL, body)
	}
	loginURL := resp.Request.URL.ResolveReference(&url.URL{Path: "/login"})
	form := url.Values{"username": {login}, "password": {oktaemu.DemoPassword},
		"csrf_token": {csrf[1]}, "from": {html.UnescapeString(from[1])}}
	resp, err = c.PostForm(loginURL.String(), form) // follows: /authorize → callback → home
	if err != nil {
		t.Fatal(err)
	}
	if body = readBody(t, resp); !strings.Contains(body, `id="profile-link"`) {
		t.Fatalf("after sign-in: %d at %s, not signed in:\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	resp = get(t, c, r.app+"/profile")
	body = readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="id-token-claims"`) {
		t.Fatalf("profile: %d at %s, no claim table:\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	return body
}

// idTokenClaims reads the profile page's ID token claim table.
func idTokenClaims(t *testing.T, profile string) map[string]string {
	t.Helper()
	start := strings.Index(profile, `id="id-token-claims"`)
	if start < 0 {
		t.Fatal("no ID token table")
	}
	table := profile[start:]
	if end := strings.Index(table, "</table>"); end >= 0 {
		table = table[:end]
	}
	claims := map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(table, -1) {
		claims[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	return claims
}

// TestDemo is the guide's scenario end to end: the patient's ID token
// carries patientId, the non-patient's does not, and every call reached the
// hook through the emulator's authenticated call.
func TestDemo(t *testing.T) {
	r := startDemo(t)
	for _, want := range []string{oktaemu.DemoPassword, "jessie.smith@example.com", "patient: patientId 1235", "pat.doe@example.com", "not a patient"} {
		if !strings.Contains(r.out.String(), want) {
			t.Errorf("the banner lacks %q:\n%s", want, r.out.String())
		}
	}

	claims := idTokenClaims(t, signIn(t, r, "jessie.smith@example.com"))
	if claims["patientId"] != "1235" || claims["preferred_username"] != "jessie.smith@example.com" {
		t.Errorf("the patient's ID token: %v", claims)
	}
	claims = idTokenClaims(t, signIn(t, r, "pat.doe@example.com"))
	if _, ok := claims["patientId"]; ok || claims["preferred_username"] != "pat.doe@example.com" {
		t.Errorf("the non-patient's ID token: %v", claims)
	}

	// The System Log shows one processed hook call per sign-in, both SUCCESS.
	var events []map[string]any
	dec := json.NewDecoder(strings.NewReader(r.systemLog.String()))
	for {
		var e map[string]any
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	if len(events) != 2 {
		t.Fatalf("want 2 System Log events, got %d:\n%s", len(events), r.systemLog.String())
	}
	for _, e := range events {
		outcome, _ := e["outcome"].(map[string]any)
		if e["eventType"] != "inline_hook.response.processed" || outcome["result"] != "SUCCESS" {
			t.Errorf("event: %v", e)
		}
	}
	// The hook server logged each call, with claim names and no values.
	// The latencies are numbers that may hold any digits.
	logs := regexp.MustCompile(`latency=\S+`).ReplaceAllString(r.logs.String(), "latency=0")
	if !strings.Contains(logs, "id:add:patientId") || strings.Contains(logs, "1235") {
		t.Errorf("hook logs:\n%s", logs)
	}
}

// TestDemoHookNeedsTheSecret: the hook the demo runs is not open to anyone
// on the machine.
func TestDemoHookNeedsTheSecret(t *testing.T) {
	r := startDemo(t)
	resp, err := http.Post(r.hook, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated hook call: %d, want 401", resp.StatusCode)
	}
}

func TestDemoPortInUse(t *testing.T) {
	r := startDemo(t)
	u, err := url.Parse(r.app)
	if err != nil {
		t.Fatal(err)
	}
	err = demo.Run(t.Context(), demo.Options{
		AppListen: "127.0.0.1:" + u.Port(), EmulatorListen: "127.0.0.1:0", HookListen: "127.0.0.1:0",
	})
	if err == nil || !strings.Contains(err.Error(), "--*-listen") {
		t.Errorf("a second demo on the same port: %v", err)
	}
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
