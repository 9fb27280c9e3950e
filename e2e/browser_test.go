package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenhook/tokenhook/internal/logtest"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

// chromiumPath finds Debian's Chromium (what .ci/run installs). A missing
// browser skips the test locally and fails it under CI=true, so CI can never
// pass without having driven a real browser.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TOKENHOOK_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is required under CI=true: apt-get install -y chromium (or set TOKENHOOK_TEST_CHROMIUM)")
	}
	t.Skip("no Chromium found: apt-get install -y chromium (or set TOKENHOOK_TEST_CHROMIUM)")
	return ""
}

// newBrowser starts a headless Chromium with the flags it needs as root in a
// container, and returns a tab context. The browser dies with the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// artifactDir is where screenshots go: $TOKENHOOK_TEST_ARTIFACTS when set
// (CI keeps it), else the test's temp dir.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("TOKENHOOK_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// screenshot saves the whole page as name.png among the artifacts.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

var demoAppRE = regexp.MustCompile(`(?m)^\s*sample app\s+(http://\S+)`)

// startDemo runs `tokenhook demo` on free loopback ports and returns the
// sample app's URL.
func startDemo(t *testing.T) string {
	t.Helper()
	if binary == "" {
		t.Skip("end-to-end tests do not run with -short")
	}
	cmd := exec.Command(binary, "demo",
		"--app-listen", "127.0.0.1:0", "--emulator-listen", "127.0.0.1:0", "--hook-listen", "127.0.0.1:0")
	cmd.Env = minimalEnv()
	var stdout, stderr logtest.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("demo stdout:\n%s\ndemo stderr:\n%s", stdout.String(), stderr.String())
		}
	})
	deadline := time.After(30 * time.Second)
	for {
		if m := demoAppRE.FindStringSubmatch(stdout.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("demo exited: %v\n%s\n%s", err, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("demo did not start:\n%s\n%s", stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestBrowserDemo drives the demo the way a person does: open the sample
// app, log in on the emulator's page, read the profile's claim table.
func TestBrowserDemo(t *testing.T) {
	ctx := newBrowser(t)
	app := startDemo(t)
	dir := artifactDir(t)
	for _, tc := range []struct {
		login     string
		patientID string // "" for the non-patient
	}{
		{"jessie.smith@example.com", "1235"},
		{"pat.doe@example.com", ""},
	} {
		name := strings.SplitN(tc.login, "@", 2)[0]
		err := chromedp.Do(ctx,
			chromedp.Navigate(app),
			chromedp.WaitVisible(chromedp.CSS(`#login`)),
			chromedp.Click(chromedp.CSS(`#login`)),
			chromedp.WaitVisible(chromedp.CSS(`#okta-signin-username`)),
		)
		if err != nil {
			screenshot(t, ctx, dir, name+"-failed")
			t.Fatalf("%s: reach the login page: %v", tc.login, err)
		}
		screenshot(t, ctx, dir, name+"-1-login")
		err = chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`#okta-signin-username`), tc.login),
			chromedp.SendKeys(chromedp.CSS(`#okta-signin-password`), oktaemu.DemoPassword),
			chromedp.Click(chromedp.CSS(`#okta-signin-submit`)),
			chromedp.WaitVisible(chromedp.CSS(`#profile-link`)),
			chromedp.Click(chromedp.CSS(`#profile-link`)),
			chromedp.WaitVisible(chromedp.CSS(`#id-token-claims`)),
		)
		if err != nil {
			screenshot(t, ctx, dir, name+"-failed")
			t.Fatalf("%s: log in: %v", tc.login, err)
		}
		screenshot(t, ctx, dir, name+"-2-profile")
		table, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#id-token-claims`)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(table, tc.login) {
			t.Errorf("%s: the claim table does not show the user:\n%s", tc.login, table)
		}
		rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`#id-token-claims [data-claim="patientId"]`), chromedp.AtLeast(0)))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.patientID != "" && len(rows) != 1:
			t.Errorf("%s: want one patientId row, got %d:\n%s", tc.login, len(rows), table)
		case tc.patientID != "" && !strings.Contains(table, tc.patientID):
			t.Errorf("%s: patientId %s not shown:\n%s", tc.login, tc.patientID, table)
		case tc.patientID == "" && len(rows) != 0:
			t.Errorf("%s: a non-patient got a patientId row:\n%s", tc.login, table)
		}
		// Log out so the next user signs in afresh (the emulator keeps an SSO session).
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`#logout`)),
			chromedp.WaitVisible(chromedp.CSS(`#login`)),
		); err != nil {
			screenshot(t, ctx, dir, name+"-failed")
			t.Fatalf("%s: log out: %v", tc.login, err)
		}
	}
}
