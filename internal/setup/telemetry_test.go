package setup_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tokenhook/tokenhook/internal/logtest"
	"github.com/tokenhook/tokenhook/internal/pgtest"
	"github.com/tokenhook/tokenhook/internal/rules"
	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
)

// telemetryRig is a Hook over a memory store holding the guide's patient,
// logging JSON into logs.
type telemetryRig struct {
	t    *testing.T
	hook *setup.Hook
	logs *logtest.Buffer
	body string
	n    int
}

func newTelemetryRig(t *testing.T, env ...string) *telemetryRig {
	t.Helper()
	env = append([]string{"TOKENHOOK_STORE=memory:", "TOKENHOOK_AUTH_BASIC_USERNAME=admin", "TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret",
		"TOKENHOOK_LOG_FORMAT=json", "TOKENHOOK_LIMITS_REPLAY_WINDOW=1m"}, env...)
	cfg, err := setup.LoadConfig("", env, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Buffer{}
	hook, err := setup.NewHook(t.Context(), cfg, setup.NewLogger(logs, cfg.Log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hook.Close() })
	if err := hook.Store.Import(t.Context(), []user.User{{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235"}}}, user.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return &telemetryRig{t: t, hook: hook, logs: logs, body: fixture(t)}
}

// post sends body (the fixture with a fresh event id when ""), with the
// guide's Basic credentials unless auth is given.
func (r *telemetryRig) post(body, auth string) int {
	r.t.Helper()
	if body == "" {
		r.n++
		body = strings.Replace(r.body, `"eventId": "`, `"eventId": "`+strings.Repeat("n", r.n), 1)
	}
	if auth == "" {
		auth = "Basic YWRtaW46c3VwZXJzZWNyZXQ="
	}
	req := httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	r.hook.Handler().ServeHTTP(w, req)
	return w.Code
}

// scrape reads the admin listener's metrics.
func (r *telemetryRig) scrape() map[string]*dto.MetricFamily {
	r.t.Helper()
	w := httptest.NewRecorder()
	r.hook.AdminHandler("/metrics").ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		r.t.Fatalf("GET /metrics: %d %s", w.Code, w.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(w.Body)
	if err != nil {
		r.t.Fatalf("parse the metrics: %v", err)
	}
	return families
}

// value is the value of the series of family with the given labels (name,
// value pairs), -1 when there is none.
func value(families map[string]*dto.MetricFamily, family string, labels ...string) float64 {
	f := families[family]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetricsByOutcome drives one call of each outcome through the hook
// and reads the counts back from the metrics endpoint.
func TestMetricsByOutcome(t *testing.T) {
	r := newTelemetryRig(t, "TOKENHOOK_AUDIT_DEBUG_CONTEXT=lookups")
	replayed := strings.Replace(r.body, `"eventId": "`, `"eventId": "replayed`, 1)
	steps := []struct {
		outcome string
		do      func() int
		status  int
	}{
		{"applied", func() int { return r.post("", "") }, 200},
		{"applied", func() int { return r.post(replayed, "") }, 200},
		{"replay", func() int { return r.post(replayed, "") }, 409},
		{"noop", func() int {
			return r.post(strings.ReplaceAll(strings.Replace(r.body, `"eventId": "`, `"eventId": "x`, 1), "jessie.smith@example.com", "nobody@example.com"), "")
		}, 204},
		{"unauthorized", func() int { return r.post("", "Basic d3Jvbmc6d3Jvbmc=") }, 401},
		{"bad_request", func() int { return r.post(`{"data": {`, "") }, 400},
	}
	for _, s := range steps {
		if got := s.do(); got != s.status {
			t.Fatalf("%s: status %d, want %d", s.outcome, got, s.status)
		}
	}
	m := r.scrape()
	for outcome, want := range map[string]float64{"applied": 2, "replay": 1, "noop": 1, "unauthorized": 1, "bad_request": 1, "denied": 0, "error": 0, "rate_limited": 0} {
		if got := value(m, "tokenhook_hook_calls_total", "outcome", outcome); got != want {
			t.Errorf("tokenhook_hook_calls_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
		if got := value(m, "tokenhook_hook_call_duration_seconds", "outcome", outcome); got != want {
			t.Errorf("latency samples of %s = %v, want %v", outcome, got, want)
		}
	}
	for _, c := range []struct {
		family string
		labels []string
		want   float64
	}{
		{"tokenhook_commands_total", []string{"token", "id", "op", "add", "claim", "patientId"}, 2},
		{"tokenhook_lookups_total", []string{"lookup", "user", "result", "found"}, 2},
		{"tokenhook_lookups_total", []string{"lookup", "user", "result", "not_found"}, 1},
		// The store is called for the two misses only: the cache answers the rest.
		{"tokenhook_store_calls_total", []string{"result", "found"}, 1},
		{"tokenhook_store_calls_total", []string{"result", "not_found"}, 1},
		{"tokenhook_store_calls_total", []string{"result", "error"}, 0},
		{"tokenhook_store_call_duration_seconds", nil, 2},
		{"tokenhook_cache_lookups_total", []string{"result", "hit"}, 1},
		{"tokenhook_cache_lookups_total", []string{"result", "miss"}, 2},
		{"tokenhook_cache_entries", nil, 2},
		{"tokenhook_guard_dropped_total", nil, 0},
		{"tokenhook_build_info", nil, 1},
		{"go_goroutines", nil, -2}, // present: any value
	} {
		got := value(m, c.family, c.labels...)
		if c.want == -2 {
			if got < 0 {
				t.Errorf("%s missing", c.family)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s%v = %v, want %v", c.family, c.labels, got, c.want)
		}
	}
	if families := r.scrape(); value(families, "tokenhook_rule_errors_total") != -1 {
		t.Error("a rule error counted, none failed")
	}
}

// TestMetricsRuleErrorsAndDenials: a failing rule and a deny rule.
func TestMetricsRuleErrorsAndDenials(t *testing.T) {
	cfg := envConfig(t, "TOKENHOOK_STORE=memory:", "TOKENHOOK_AUTH_BASIC_USERNAME=admin", "TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret")
	cfg.Claims.Mappings = nil
	cfg.Rules = append(cfg.Rules,
		rules.RuleSpec{Name: "broken", Claim: "x", Value: `string(1 / (size(request.eventId) - size(request.eventId)))`},
		rules.RuleSpec{Name: "kiosk", When: `request.eventId.startsWith("deny")`, Deny: "Not here"})
	hook := startHook(t, cfg)
	r := &telemetryRig{t: t, hook: hook, body: fixture(t)}
	if got := r.post("", ""); got != 204 {
		t.Fatalf("a failing best-effort rule: %d, want 204", got)
	}
	if got := r.post(strings.Replace(r.body, `"eventId": "`, `"eventId": "deny`, 1), ""); got != 200 {
		t.Fatalf("deny: %d", got)
	}
	m := r.scrape()
	if got := value(m, "tokenhook_rule_errors_total", "rule", "broken"); got != 2 {
		t.Errorf("rule errors of broken = %v, want 2", got)
	}
	if got := value(m, "tokenhook_hook_calls_total", "outcome", "denied"); got != 1 {
		t.Errorf("denied = %v, want 1", got)
	}
}

// TestAuditLine: the line per call names the event, the client, the grant
// type and the user by id — never the login (unless hashed), a claim value
// or a secret.
func TestAuditLine(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		hash bool
	}{
		{"login omitted", nil, false},
		{"login hashed", []string{"TOKENHOOK_AUDIT_LOGIN=hash", "TOKENHOOK_AUDIT_HASH_KEY=0123456789abcdef-audit"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newTelemetryRig(t, tt.env...)
			if got := r.post("", ""); got != 200 {
				t.Fatalf("status %d", got)
			}
			logs := r.logs.Take()
			var line map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSpace(logs)), &line); err != nil {
				t.Fatalf("want one JSON line: %v\n%s", err, logs)
			}
			for key, want := range map[string]any{
				"msg": "hook call", "outcome": "applied", "client_id": "0oaM6R6xXt2VmqnkFFCp",
				"response_type": "code", "user_id": "00utFG1RUHAOKErY3BVH",
			} {
				if line[key] != want {
					t.Errorf("%s = %v, want %v\n%s", key, line[key], want, logs)
				}
			}
			if line["event_id"] == "" || line["latency"] == nil {
				t.Errorf("no event id or latency: %s", logs)
			}
			if claims, _ := line["claims"].([]any); len(claims) != 1 || claims[0] != "id:add:patientId" {
				t.Errorf("claims = %v", line["claims"])
			}
			if h, _ := line["login_hash"].(string); tt.hash != (len(h) == 32) {
				t.Errorf("login_hash = %q, want hashed %v", h, tt.hash)
			}
			// The latency is nanoseconds: any digits, the patient id's included.
			logged := scrubLatency(logs)
			for _, secret := range []string{"1235", "jessie", "supersecret", "YWRtaW46c3VwZXJzZWNyZXQ="} {
				if strings.Contains(logged, secret) {
					t.Errorf("the audit line holds %q:\n%s", secret, logs)
				}
			}
		})
	}
}

// TestDebugContext: Okta's System Log gets the lookups' results and the
// rules' names, never a key or a value; a call with nothing to do stays a
// 204.
func TestDebugContext(t *testing.T) {
	r := newTelemetryRig(t)
	req := httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(r.body))
	req.Header.Set("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	r.hook.ServeHTTP(w, req)
	var resp struct {
		DebugContext map[string]any `json:"debugContext"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"lookups": "user=found", "rules": "claims.mappings[0] patientId"}
	if len(resp.DebugContext) != 2 || resp.DebugContext["lookups"] != want["lookups"] || resp.DebugContext["rules"] != want["rules"] {
		t.Errorf("debugContext = %v, want %v", resp.DebugContext, want)
	}
	if got := r.post(strings.ReplaceAll(strings.Replace(r.body, `"eventId": "`, `"eventId": "x`, 1), "jessie.smith@example.com", "nobody@example.com"), ""); got != 204 {
		t.Errorf("nothing to do: %d, want 204", got)
	}

	cfg := envConfig(t, "TOKENHOOK_STORE=memory:", "TOKENHOOK_AUTH_BASIC_USERNAME=admin", "TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret")
	cfg.Audit.DebugContext = nil
	hook := startHook(t, cfg)
	if err := hook.Store.Import(t.Context(), []user.User{{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235"}}}, user.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	w = httptest.NewRecorder()
	req = httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(r.body))
	req.Header.Set("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")
	req.Header.Set("Content-Type", "application/json")
	hook.ServeHTTP(w, req)
	if w.Code != 200 || strings.Contains(w.Body.String(), "debugContext") {
		t.Errorf("debug_context empty: %d %s", w.Code, w.Body)
	}
}

// TestReadyz: /readyz follows the store — 503 while PostgreSQL is down,
// 200 again once it is back — and /healthz stays 200.
func TestReadyz(t *testing.T) {
	c := pgtest.NewCluster(t)
	if c == nil {
		return
	}
	dsn := c.CreateDatabase(t, "ready")
	cfg, err := setup.LoadConfig("", []string{"TOKENHOOK_STORE=" + dsn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hook := startHook(t, cfg)
	admin := hook.AdminHandler("/metrics")
	get := func(h http.Handler, path string) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Code, w.Body.String()
	}
	// eventually polls /readyz on both listeners past the check's 1 s cache.
	eventually := func(want int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			a, body := get(admin, "/readyz")
			h, _ := get(hook, "/readyz")
			if a == want && h == want {
				if want == 503 && !strings.Contains(body, `"not_ready"`) {
					t.Errorf("503 body: %s", body)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz: admin %d, hook %d, want %d", a, h, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	eventually(200)
	c.Stop(t)
	eventually(503)
	if code, _ := get(admin, "/healthz"); code != 200 {
		t.Errorf("/healthz while the store is down: %d, want 200", code)
	}
	c.Start(t)
	eventually(200)
}

// otlpReceiver is an in-process OTLP/HTTP trace receiver.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want protobuf on /v1/traces", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Write(out)
}

func (o *otlpReceiver) byName() map[string]*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := map[string]*tracepb.Span{}
	for _, s := range o.spans {
		m[s.Name] = s
	}
	return m
}

// TestTracesExported: a hook call's spans reach an OTLP receiver — the
// call with Okta's eventId, its auth, decode, lookup and rules children —
// continuing the caller's traceparent.
func TestTracesExported(t *testing.T) {
	receiver := &otlpReceiver{}
	srv := httptest.NewServer(receiver)
	defer srv.Close()
	r := newTelemetryRig(t, "TOKENHOOK_TRACING_ENDPOINT="+srv.URL)
	req := httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(r.body))
	req.Header.Set("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")
	req.Header.Set("Content-Type", "application/json")
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	w := httptest.NewRecorder()
	r.hook.Handler().ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if err := r.hook.Close(); err != nil { // flushes the spans
		t.Fatal(err)
	}
	spans := receiver.byName()
	root := spans["hook call"]
	if root == nil {
		t.Fatalf("no hook call span among %d", len(spans))
	}
	if got := hexID(root.TraceId); got != traceID {
		t.Errorf("trace id %s, want the caller's %s", got, traceID)
	}
	if root.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("hook call span kind %v", root.Kind)
	}
	attrs := map[string]string{}
	for _, a := range root.Attributes {
		attrs[a.Key] = a.Value.GetStringValue()
	}
	if attrs["okta.event_id"] != "RxoKYN6u77jUgeQZW8ewkg" || attrs["tokenhook.outcome"] != "applied" {
		t.Errorf("hook call attributes %v", attrs)
	}
	for _, name := range []string{"auth", "decode", "lookup user", "rules"} {
		s := spans[name]
		if s == nil {
			t.Errorf("no %s span", name)
			continue
		}
		if !bytes.Equal(s.ParentSpanId, root.SpanId) {
			t.Errorf("%s is not a child of the hook call", name)
		}
	}
}

func hexID(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
