package e2e

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestShutdownUnderLoad sends SIGTERM to `tokenhook serve` while 16 clients
// call it without pause: every call the server logged as answered reached
// its client, every call a client saw fail failed without an answer being
// sent, and the process exits cleanly. No request is accepted and lost.
func TestShutdownUnderLoad(t *testing.T) {
	srv := startServer(t, basicEnv, "--store", "memory:")
	body := fixture(t, "authorization_code.json")
	var answered, failed atomic.Int64
	var unexpected sync.Map // status → count
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for range 16 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, srv.url+"/hooks/okta/token", strings.NewReader(body))
				req.Header.Set("Authorization", guideBasic)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					// Refused: the listener is closed, or an idle
					// keep-alive connection was closed under the request.
					failed.Add(1)
					if errors.Is(err, syscall.ECONNREFUSED) {
						return // the server is gone
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 204 {
					answered.Add(1)
				} else {
					n, _ := unexpected.LoadOrStore(resp.StatusCode, new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
				}
			}
		})
	}
	// Let the load run, then stop the server under it.
	deadline := time.Now().Add(10 * time.Second)
	for answered.Load() < 500 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		srv.done <- err
		if err != nil {
			t.Fatalf("server exit after SIGTERM: %v\n%s", err, srv.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	close(stop)
	wg.Wait()
	unexpected.Range(func(k, v any) bool {
		t.Errorf("%d calls answered %v", v.(*atomic.Int64).Load(), k)
		return true
	})
	logged := int64(strings.Count(srv.stderr.String(), `msg="hook call"`))
	t.Logf("%d calls answered, %d refused by the stopping server, %d logged", answered.Load(), failed.Load(), logged)
	if logged != answered.Load() {
		t.Errorf("the server logged %d calls, its clients received %d answers: calls lost in the shutdown", logged, answered.Load())
	}
	if answered.Load() < 100 {
		t.Errorf("only %d calls answered before the shutdown: the load did not run", answered.Load())
	}
}

// TestServeMetricsEndpoint scrapes the admin listener of the binary: the
// hook's counters, the health and readiness probes, nothing on the hook's
// own port.
func TestServeMetricsEndpoint(t *testing.T) {
	srv := startServer(t, basicEnv, "--store", "memory:")
	if srv.adminURL == "" {
		t.Fatalf("no admin listener logged:\n%s", srv.stderr)
	}
	body := fixture(t, "authorization_code.json")
	for range 3 {
		if status, b := srv.post(t, "/hooks/okta/token", body, "Authorization", guideBasic, "Content-Type", "application/json"); status != 204 {
			t.Fatalf("%d %s", status, b)
		}
	}
	srv.post(t, "/hooks/okta/token", body, "Content-Type", "application/json") // 401
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, metrics := get(srv.adminURL + "/metrics")
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	for series, want := range map[string]int{
		`tokenhook_hook_calls_total{outcome="noop"}`:         3,
		`tokenhook_hook_calls_total{outcome="unauthorized"}`: 1,
		`tokenhook_hook_calls_total{outcome="applied"}`:      0,
	} {
		m := regexp.MustCompile(regexp.QuoteMeta(series) + ` (\d+)`).FindStringSubmatch(metrics)
		if m == nil {
			t.Errorf("no %s in the metrics", series)
			continue
		}
		if got, _ := strconv.Atoi(m[1]); got != want {
			t.Errorf("%s = %d, want %d", series, got, want)
		}
	}
	if !strings.Contains(metrics, "tokenhook_build_info{") {
		t.Error("no build info")
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, b := get(srv.adminURL + path); status != 200 {
			t.Errorf("admin %s: %d %s", path, status, b)
		}
	}
	if status, _ := get(srv.url + "/metrics"); status != 404 {
		t.Errorf("the hook's listener serves /metrics: %d, want 404", status)
	}
}
