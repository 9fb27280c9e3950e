package hookcall_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/inlinehook/inlinehooktest"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// Values the hooks below send or the requests carry. No event may show
// them: they are claim values.
const (
	leakLevel    = "level-value-7f3a"
	leakLanguage = "language-value-5c1e"
	leakIss      = "iss-value-9d2b"
	leakPatient  = "patient-value-4e8c"
)

func identityPatch(ops string) string {
	return `{"commands":[{"type":"com.okta.identity.patch","value":[` + ops + `]}]}`
}

func TestCallVerdicts(t *testing.T) {
	nested := func() *inlinehook.TokenRequest {
		return inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode, inlinehooktest.WithClaims(inlinehook.Claims{
			"employee_profile":    map[string]any{"employee_id": "1234", "name": "Anna", "department": "Engineering"},
			"preferred_languages": []any{"en", "fr", "de"},
		}, nil))
	}
	tests := []struct {
		name       string
		req        func() *inlinehook.TokenRequest // nil: authorization code
		status     int
		body       string
		want       hookcall.Verdict
		cause      string   // substring of Outcome.Cause
		violations []string // Outcome.Violations' messages
		summary    string
		// patch turns Before into the expected After; nil: After equals
		// Before (nil for Denied).
		patch      func(*inlinehook.Result)
		event      string // the one event's type
		result     string // and outcome
		errMessage string // its error_message
	}{
		{
			name:   "reserved claim in the ID token",
			status: 200, body: identityPatch(`{"op":"add","path":"/claims/iss","value":"` + leakIss + `"}`),
			want:       hookcall.Discarded,
			violations: []string{"Claim is reserved(op=add, path=/claims/iss)"},
			event:      hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
			errMessage: "Claim is reserved(op=add, path=/claims/iss)",
		},
		{
			name:   "two violations are both reported",
			status: 200, body: identityPatch(`{"op":"add","path":"/claims/iss","value":"` + leakIss + `"},` +
				`{"op":"replace","path":"/claims/missing","value":"` + leakPatient + `"}`),
			want: hookcall.Discarded,
			violations: []string{
				"Claim is reserved(op=add, path=/claims/iss)",
				"Path not found(op=replace, path=/claims/missing)",
			},
			event: hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
			errMessage: "Claim is reserved(op=add, path=/claims/iss); Path not found(op=replace, path=/claims/missing)",
		},
		{
			name:   "lifetime 299 is too short",
			status: 200, body: identityPatch(`{"op":"replace","path":"/token/lifetime/expiration","value":299}`),
			want:       hookcall.Discarded,
			violations: []string{"Lifetime must be between 300 and 86400 seconds(op=replace, path=/token/lifetime/expiration)"},
			event:      hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
		},
		{
			name:   "lifetime 86401 is too long",
			status: 200, body: identityPatch(`{"op":"replace","path":"/token/lifetime/expiration","value":86401}`),
			want:       hookcall.Discarded,
			violations: []string{"Lifetime must be between 300 and 86400 seconds(op=replace, path=/token/lifetime/expiration)"},
			event:      hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
		},
		{
			name:   "lifetime 300 is applied",
			status: 200, body: identityPatch(`{"op":"replace","path":"/token/lifetime/expiration","value":300}`),
			want:  hookcall.Applied,
			patch: func(r *inlinehook.Result) { r.Identity.Lifetime = 300 },
			event: hookcall.EventResponseProcessed, result: hookcall.ResultSuccess,
		},
		{
			name:   "lifetime 86400 is applied to the access token",
			status: 200, body: `{"commands":[{"type":"com.okta.access.patch","value":[` +
				`{"op":"replace","path":"/token/lifetime/expiration","value":86400}]}]}`,
			want:  hookcall.Applied,
			patch: func(r *inlinehook.Result) { r.Access.Lifetime = 86400 },
			event: hookcall.EventResponseProcessed, result: hookcall.ResultSuccess,
		},
		{
			name:   "error denies the token",
			status: 200, body: `{"error":{"errorSummary":"Patient record is locked"}}`,
			want: hookcall.Denied, summary: "Patient record is locked",
			event: hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
			errMessage: "Patient record is locked",
		},
		{
			name:   "error without summary gets Okta's default text",
			status: 200, body: `{"error":{}}`,
			want: hookcall.Denied, summary: inlinehook.DefaultErrorSummary,
			event: hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
		},
		{
			name:   "error wins over commands",
			status: 200, body: `{"error":{"errorSummary":"no"},"commands":[{"type":"com.okta.identity.patch","value":[` +
				`{"op":"add","path":"/claims/extPatientId","value":"` + leakPatient + `"}]}]}`,
			want: hookcall.Denied, summary: "no",
			event: hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
		},
		{
			name:   "204 is a no-op",
			status: 204,
			want:   hookcall.NoOp,
			event:  hookcall.EventResponseProcessed, result: hookcall.ResultSuccess,
		},
		{
			name:   "200 with {} is a no-op",
			status: 200, body: `{}`,
			want:  hookcall.NoOp,
			event: hookcall.EventResponseProcessed, result: hookcall.ResultSuccess,
		},
		{
			name:   "200 with empty commands is a no-op",
			status: 200, body: `{"commands":[]}`,
			want:  hookcall.NoOp,
			event: hookcall.EventResponseProcessed, result: hookcall.ResultSuccess,
		},
		{
			name:   "400 fails",
			status: 400, body: `{"error":"bad request"}`,
			want: hookcall.Failed, cause: "status 400",
			event: hookcall.EventExecuted, result: hookcall.ResultFailure,
			errMessage: "The hook responded with status 400",
		},
		{
			name:   "500 fails",
			status: 500, body: `oops`,
			want: hookcall.Failed, cause: "status 500",
			event: hookcall.EventExecuted, result: hookcall.ResultFailure,
		},
		{
			name:   "201 fails, though the body is valid",
			status: 201, body: identityPatch(`{"op":"add","path":"/claims/extPatientId","value":"` + leakPatient + `"}`),
			want: hookcall.Failed, cause: "status 201",
			event: hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
		},
		{
			name:   "300 KB body fails",
			status: 200, body: `{"debugContext":{"pad":"` + strings.Repeat("x", 300<<10) + `"}}`,
			want: hookcall.Failed, cause: "Response too large",
			violations: []string{fmt.Sprintf("Response too large(size=%d, limit=262144)", 24+300<<10+3)},
			event:      hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
		},
		{
			name:   "invalid JSON fails with Okta's message",
			status: 200, body: `{"commands": [}`,
			want: hookcall.Failed, cause: "Could not deserialize inline hook response due to error at Line 1 Column 15",
			event: hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
			errMessage: "Could not deserialize inline hook response due to error at Line 1 Column 15",
		},
		{
			name:   "empty 200 body fails to deserialize",
			status: 200, body: ``,
			want: hookcall.Failed, cause: "Could not deserialize inline hook response",
			event: hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
		},
		{
			name:   "nested and array operations (contract §3.3)",
			req:    nested,
			status: 200, body: identityPatch(
				`{"op":"add","path":"/claims/employee_profile/level","value":"` + leakLevel + `"},` +
					`{"op":"add","path":"/claims/preferred_languages/-","value":"es"},` +
					`{"op":"add","path":"/claims/preferred_languages/1","value":"` + leakLanguage + `"},` +
					`{"op":"replace","path":"/claims/preferred_languages/0","value":"en-US"},` +
					`{"op":"remove","path":"/claims/employee_profile/department"}`),
			want: hookcall.Applied,
			patch: func(r *inlinehook.Result) {
				r.Identity.Claims["employee_profile"] = map[string]any{"employee_id": "1234", "name": "Anna", "level": leakLevel}
				r.Identity.Claims["preferred_languages"] = []any{"en-US", leakLanguage, "fr", "de", "es"}
			},
			event: hookcall.EventResponseProcessed, result: hookcall.ResultSuccess,
		},
		{
			name:   "add a claim to both tokens",
			status: 200, body: `{"commands":[` +
				`{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"` + leakPatient + `"}]},` +
				`{"type":"com.okta.access.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"` + leakPatient + `"},` +
				`{"op":"replace","path":"/claims/sub","value":"` + leakPatient + `"}]}],` +
				`"debugContext":{"lookup":"store hit"}}`,
			want: hookcall.Applied,
			patch: func(r *inlinehook.Result) {
				r.Identity.Claims["extPatientId"] = leakPatient
				r.Access.Claims["extPatientId"] = leakPatient
				r.Access.Claims["sub"] = leakPatient
			},
			event: hookcall.EventResponseProcessed, result: hookcall.ResultSuccess,
		},
		{
			name: "access.patch when no access token is minted",
			req: func() *inlinehook.TokenRequest {
				return inlinehooktest.NewRequest(inlinehooktest.Implicit, inlinehooktest.WithoutAccess())
			},
			status: 200, body: `{"commands":[{"type":"com.okta.access.patch","value":[` +
				`{"op":"add","path":"/claims/extPatientId","value":"` + leakPatient + `"}]}]}`,
			want:       hookcall.Discarded,
			violations: []string{"Access Token not present"},
			event:      hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
			errMessage: "Access Token not present",
		},
		{
			name: "identity.patch when no ID token is minted",
			req: func() *inlinehook.TokenRequest {
				return inlinehooktest.NewRequest(inlinehooktest.ClientCredentials)
			},
			status: 200, body: identityPatch(`{"op":"add","path":"/claims/extPatientId","value":"` + leakPatient + `"}`),
			want:       hookcall.Discarded,
			violations: []string{"ID Token not present"},
			event:      hookcall.EventResponseProcessed, result: hookcall.ResultFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := newTestHook(t, answer(tt.status, tt.body))
			var rec recorder
			caller := newCaller(hook.URL+"/tokenHook", &rec)
			newReq := tt.req
			if newReq == nil {
				newReq = func() *inlinehook.TokenRequest {
					return inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode)
				}
			}
			req := newReq()
			out := caller.Call(t.Context(), req)

			if out.Verdict != tt.want {
				t.Fatalf("verdict %q, want %q (cause %q, violations %v)", out.Verdict, tt.want, out.Cause, out.Violations)
			}
			if tt.cause == "" && out.Cause != "" || !strings.Contains(out.Cause, tt.cause) {
				t.Errorf("cause %q, want it to contain %q", out.Cause, tt.cause)
			}
			var msgs []string
			for _, v := range out.Violations {
				msgs = append(msgs, v.Message)
			}
			if diff := cmp.Diff(tt.violations, msgs); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			if out.ErrorSummary != tt.summary {
				t.Errorf("error summary %q, want %q", out.ErrorSummary, tt.summary)
			}
			if got := hook.calls.Load(); got != 1 {
				t.Errorf("hook called %d times, want exactly 1", got)
			}
			if out.Status != tt.status {
				t.Errorf("status %d, want %d", out.Status, tt.status)
			}
			if len(tt.body) < 1000 && string(out.Body) != tt.body {
				t.Errorf("body %q, want %q", out.Body, tt.body)
			}
			if out.Started.IsZero() || out.Duration <= 0 {
				t.Errorf("started %v, duration %v: want both set", out.Started, out.Duration)
			}

			// Before is the request's tokens; After is Before unless applied.
			if diff := cmp.Diff(before(t, newReq()), out.Before); diff != "" {
				t.Errorf("before (-want +got):\n%s", diff)
			}
			want := before(t, newReq())
			if tt.patch != nil {
				tt.patch(want)
			}
			if tt.want == hookcall.Denied {
				want = nil
			}
			if diff := cmp.Diff(want, out.After); diff != "" {
				t.Errorf("after (-want +got):\n%s", diff)
			}

			events := rec.all()
			if len(events) != 1 {
				t.Fatalf("%d events, want 1: %v", len(events), events)
			}
			e := events[0]
			if e.EventType != tt.event || e.Outcome.Result != tt.result {
				t.Errorf("event %s/%s, want %s/%s", e.EventType, e.Outcome.Result, tt.event, tt.result)
			}
			data := e.DebugContext.DebugData
			if data[hookcall.DebugHookType] != "com.okta.oauth2.tokens.transform" ||
				data[hookcall.DebugEventID] != req.EventID ||
				data[hookcall.DebugHTTPStatus] != tt.status {
				t.Errorf("debugData %v", data)
			}
			if _, ok := data[hookcall.DebugDurationMS].(int64); !ok {
				t.Errorf("duration_ms %#v, want an int64", data[hookcall.DebugDurationMS])
			}
			msg, hasMsg := data[hookcall.DebugErrorMessage].(string)
			if hasMsg != (tt.result == hookcall.ResultFailure) {
				t.Errorf("error_message %q present=%v for a %s", msg, hasMsg, tt.result)
			}
			if tt.errMessage != "" && msg != tt.errMessage {
				t.Errorf("error_message %q, want %q", msg, tt.errMessage)
			}
			secrets := []string{leakLevel, leakLanguage, leakIss, leakPatient, inlinehooktest.DefaultLogin}
			if u := req.Data.Context.User; u != nil {
				secrets = append(secrets, u.ID)
			}
			assertNoLeak(t, events, secrets...)
		})
	}
}

func TestCallDebugContext(t *testing.T) {
	hook := newTestHook(t, answer(200, `{"debugContext":{"lookup":"miss","ms":3}}`))
	var rec recorder
	out := newCaller(hook.URL, &rec).Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.Password))
	if out.Verdict != hookcall.NoOp {
		t.Fatalf("verdict %s", out.Verdict)
	}
	got := rec.all()[0].DebugContext.DebugData[hookcall.DebugHook]
	if diff := cmp.Diff(map[string]any{"lookup": "miss", "ms": float64(3)}, got); diff != "" {
		t.Errorf("inline_hook (-want +got):\n%s", diff)
	}

	// No debugContext, no inline_hook.
	hook = newTestHook(t, answer(204, ""))
	rec = recorder{}
	newCaller(hook.URL, &rec).Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.Password))
	if _, ok := rec.all()[0].DebugContext.DebugData[hookcall.DebugHook]; ok {
		t.Error("inline_hook present without a debugContext")
	}
}

func TestCallSendsWhatOktaSends(t *testing.T) {
	hook := newTestHook(t, answer(204, ""))
	const secret = "Basic YWRtaW46c3VwZXJzZWNyZXQ="
	var rec recorder
	caller := newCaller(hook.URL+"/tokenHook", &rec)
	caller.Hook.Headers = []hookcall.Header{{Name: "X-Tenant", Value: "acme"}, {Name: "x-trace", Value: "on"}}
	caller.Hook.Auth.Header = &hookcall.Header{Name: "authorization", Value: secret}
	req := inlinehooktest.NewRequest(inlinehooktest.Implicit)
	out := caller.Call(t.Context(), req)
	if out.Verdict != hookcall.NoOp {
		t.Fatalf("verdict %s: %s", out.Verdict, out.Cause)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for name, want := range map[string]string{
		"Authorization": secret,
		"Accept":        "application/json",
		"Content-Type":  "application/json",
		"X-Tenant":      "acme",
		"X-Trace":       "on",
	} {
		if got := hook.headers.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("header %s: %q, want [%q]", name, got, want)
		}
	}
	if got, want := string(hook.body), string(inlinehooktest.MustJSON(t, req)); got != want {
		t.Errorf("body:\n%s\nwant:\n%s", got, want)
	}
	decoded, err := inlinehook.DecodeTokenRequest(hook.body)
	if err != nil {
		t.Fatal(err)
	}
	if decoded.EventID != req.EventID {
		t.Errorf("eventId %q, want %q", decoded.EventID, req.EventID)
	}
	assertNoLeak(t, rec.all(), secret, "YWRtaW46c3VwZXJzZWNyZXQ")
}

func TestCallMethodIsPOST(t *testing.T) {
	var method string
	hook := newTestHook(t, func(w http.ResponseWriter, r *http.Request) {
		method = r.Method
		w.WriteHeader(http.StatusNoContent)
	})
	newCaller(hook.URL, &recorder{}).Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.Password))
	if method != http.MethodPost {
		t.Errorf("method %s, want POST", method)
	}
}

// The hook sleeps past the budget: Okta gives up and does not retry.
func TestCallTimeoutNoRetry(t *testing.T) {
	hook := newTestHook(t, hang())
	var rec recorder
	caller := newCaller(hook.URL, &rec)
	caller.Hook.Timeout = 200 * time.Millisecond
	req := inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode)
	out := caller.Call(t.Context(), req)
	if out.Verdict != hookcall.Failed || out.Cause != "Timed out after 200ms" {
		t.Fatalf("verdict %s, cause %q; want failed, timed out", out.Verdict, out.Cause)
	}
	if n := hook.calls.Load(); n != 1 {
		t.Errorf("hook called %d times, want exactly 1 (no retry)", n)
	}
	if diff := cmp.Diff(out.Before, out.After); diff != "" || out.After == nil {
		t.Errorf("after differs from before:\n%s", diff)
	}
	if out.Status != 0 {
		t.Errorf("status %d, want 0", out.Status)
	}
	events := rec.all()
	if len(events) != 1 || events[0].EventType != hookcall.EventExecuted || events[0].Outcome.Result != hookcall.ResultFailure {
		t.Fatalf("events %+v, want one inline_hook.executed FAILURE", events)
	}
	if _, ok := events[0].DebugContext.DebugData[hookcall.DebugHTTPStatus]; ok {
		t.Error("http_status set though no answer arrived")
	}
}

// Delay eats the budget before the call: the hook is never reached.
func TestCallDelayKnob(t *testing.T) {
	hook := newTestHook(t, answer(204, ""))
	var rec recorder
	caller := newCaller(hook.URL, &rec)
	caller.Hook.Timeout = 100 * time.Millisecond
	caller.Delay = time.Second
	out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))
	if out.Verdict != hookcall.Failed || out.Cause != "Timed out after 100ms" {
		t.Fatalf("verdict %s, cause %q", out.Verdict, out.Cause)
	}
	if n := hook.calls.Load(); n != 0 {
		t.Errorf("hook called %d times, want 0", n)
	}
	if e := rec.all(); len(e) != 1 || e[0].EventType != hookcall.EventExecuted {
		t.Errorf("events %+v", e)
	}

	// A delay within the budget changes nothing.
	caller.Hook.Timeout = 0
	caller.Delay = time.Millisecond
	if out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode)); out.Verdict != hookcall.NoOp {
		t.Errorf("verdict %s (%s), want no-op", out.Verdict, out.Cause)
	}
}

func TestCallRedirectNotFollowed(t *testing.T) {
	target := newTestHook(t, answer(200, identityPatch(`{"op":"add","path":"/claims/x","value":"y"}`)))
	hook := newTestHook(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	})
	var rec recorder
	caller := newCaller(hook.URL, &rec)
	// Even a client that would follow redirects must not.
	caller.Client = &http.Client{}
	out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))
	if out.Verdict != hookcall.Failed || out.Cause != "Redirect responses are not followed (status 302)" {
		t.Fatalf("verdict %s, cause %q", out.Verdict, out.Cause)
	}
	if out.Status != http.StatusFound {
		t.Errorf("status %d", out.Status)
	}
	if n := target.calls.Load(); n != 0 {
		t.Errorf("redirect target called %d times, want 0", n)
	}
	if n := hook.calls.Load(); n != 1 {
		t.Errorf("hook called %d times, want 1", n)
	}
	if e := rec.all(); len(e) != 1 || e[0].EventType != hookcall.EventExecuted || e[0].Outcome.Result != hookcall.ResultFailure {
		t.Errorf("events %+v", e)
	}
}

func TestCallConnectionRefused(t *testing.T) {
	hook := newTestHook(t, answer(204, ""))
	url := hook.URL
	hook.Close()
	var rec recorder
	out := newCaller(url, &rec).Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))
	if out.Verdict != hookcall.Failed || out.Cause != "Connection refused" {
		t.Fatalf("verdict %s, cause %q", out.Verdict, out.Cause)
	}
	if e := rec.all(); len(e) != 1 || e[0].EventType != hookcall.EventExecuted {
		t.Errorf("events %+v", e)
	}
}

func TestCallCanceledByCaller(t *testing.T) {
	hook := newTestHook(t, hang())
	ctx, cancel := context.WithCancel(t.Context())
	caller := newCaller(hook.URL, &recorder{})
	caller.Delay = time.Hour
	cancel()
	out := caller.Call(ctx, inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))
	if out.Verdict != hookcall.Failed || out.Cause != "Canceled by the caller" {
		t.Fatalf("verdict %s, cause %q", out.Verdict, out.Cause)
	}
}

func TestCallInvalidHook(t *testing.T) {
	var rec recorder
	caller := &hookcall.Caller{Hook: hookcall.Hook{URL: "http://hooks.example.com/token"}, Record: rec.record}
	out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))
	if out.Verdict != hookcall.Failed || !strings.HasPrefix(out.Cause, "Invalid hook configuration: URL must use https") {
		t.Fatalf("verdict %s, cause %q", out.Verdict, out.Cause)
	}
	if out.Before == nil || out.After != out.Before {
		t.Error("before/after not the request's tokens")
	}
	if len(rec.all()) != 1 {
		t.Error("no event")
	}
	if out := caller.Call(t.Context(), nil); out.Verdict != hookcall.Failed {
		t.Errorf("nil request: %s", out.Verdict)
	}
}

func TestCallClockKnob(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 2, 15, 4, 5, 123e6, time.UTC)}
	hook := newTestHook(t, func(w http.ResponseWriter, _ *http.Request) {
		clock.Advance(42 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	})
	var rec recorder
	caller := newCaller(hook.URL, &rec)
	caller.Now = clock.Now
	out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode))
	if out.Duration != 42*time.Millisecond || !out.Started.Equal(time.Date(2026, 3, 2, 15, 4, 5, 123e6, time.UTC)) {
		t.Errorf("started %v, duration %v", out.Started, out.Duration)
	}
	e := rec.all()[0]
	if e.Published != "2026-03-02T15:04:05.165Z" {
		t.Errorf("published %q", e.Published)
	}
	if e.DebugContext.DebugData[hookcall.DebugDurationMS] != int64(42) {
		t.Errorf("duration_ms %v", e.DebugContext.DebugData[hookcall.DebugDurationMS])
	}
	if len(e.UUID) != 36 || e.UUID[14] != '4' {
		t.Errorf("uuid %q is not a v4 UUID", e.UUID)
	}
	if e.Target[0].Type != hookcall.TargetType || e.Target[0].AlternateID != hook.URL {
		t.Errorf("target %+v", e.Target)
	}
}

// Okta's reserved-claim table is chosen by Hook.Rules: amr is writable in
// access tokens under the latest table, not under the union.
func TestCallRules(t *testing.T) {
	body := `{"commands":[{"type":"com.okta.access.patch","value":[{"op":"add","path":"/claims/amr","value":["pwd"]}]}]}`
	for _, tt := range []struct {
		rules inlinehook.Rules
		want  hookcall.Verdict
	}{
		{inlinehook.Rules{}, hookcall.Applied},
		{inlinehook.Rules{ReservedClaims: inlinehook.ReservedUnion}, hookcall.Discarded},
	} {
		hook := newTestHook(t, answer(200, body))
		caller := newCaller(hook.URL, &recorder{})
		caller.Hook.Rules = tt.rules
		if out := caller.Call(t.Context(), inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode)); out.Verdict != tt.want {
			t.Errorf("%s: verdict %s, want %s", tt.rules.ReservedClaims, out.Verdict, tt.want)
		}
	}
}
