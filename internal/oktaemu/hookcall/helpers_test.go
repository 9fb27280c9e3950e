package hookcall_test

import (
	"encoding/json/v2"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// testHook is a hook on loopback that counts its calls and keeps the last
// request it received.
type testHook struct {
	*httptest.Server
	calls atomic.Int32

	mu      sync.Mutex
	headers http.Header
	body    []byte
}

// newTestHook starts a hook that answers with h, after recording the call.
func newTestHook(t *testing.T, h http.HandlerFunc) *testHook {
	t.Helper()
	th := &testHook{}
	th.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		th.mu.Lock()
		th.headers, th.body = r.Header.Clone(), body
		th.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(th.Close)
	return th
}

// answer returns a handler that answers status with body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// hang returns a handler that answers only when the caller gives up.
func hang() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []hookcall.Event
}

func (r *recorder) record(e hookcall.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []hookcall.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookcall.Event(nil), r.events...)
}

// newCaller returns a caller of url (http allowed: loopback) that records
// its events into rec.
func newCaller(url string, rec *recorder) *hookcall.Caller {
	return &hookcall.Caller{
		Hook:   hookcall.Hook{URL: url, AllowHTTP: true},
		Record: rec.record,
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustJSON encodes v, failing the test if it cannot.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertNoLeak fails if any event's JSON contains one of the secrets.
func assertNoLeak(t *testing.T, events []hookcall.Event, secrets ...string) {
	t.Helper()
	for _, e := range events {
		js := mustJSON(t, e)
		for _, s := range secrets {
			if s != "" && strings.Contains(js, s) {
				t.Errorf("event %s leaks %q: %s", e.EventType, s, js)
			}
		}
	}
}

// before returns the tokens as req describes them.
func before(t *testing.T, req *inlinehook.TokenRequest) *inlinehook.Result {
	t.Helper()
	res, err := inlinehook.Apply(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
