package tokenhook_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/rules"
	"github.com/tokenhook/tokenhook/internal/tokenhook"
)

// finder is a Finder over a map. Knobs: err fails every lookup, block
// makes lookups wait for their context, stale marks answers stale.
type finder struct {
	mu      sync.Mutex
	records map[string]map[string]any
	err     error
	block   bool
	stale   bool
	keys    []string // keys looked up, in order
}

var _ tokenhook.Finder = (*finder)(nil)

func (f *finder) Find(ctx context.Context, key string) (tokenhook.Record, error) {
	f.mu.Lock()
	f.keys = append(f.keys, key)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return tokenhook.Record{}, ctx.Err()
	}
	if f.err != nil {
		return tokenhook.Record{}, f.err
	}
	attrs, ok := f.records[key]
	return tokenhook.Record{Attributes: attrs, Found: ok, Stale: ok && f.stale}, nil
}

func (f *finder) lookedUp() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "inlinehook", "testdata", "requests", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func decode(tb testing.TB, name string) *inlinehook.TokenRequest {
	tb.Helper()
	req, err := inlinehook.DecodeTokenRequest(fixture(tb, name))
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// patientLookup is the guide's: the login, else preferred_username.
var patientLookup = rules.LookupSpec{Name: "user", Key: "login"}

func newEngine(tb testing.TB, f tokenhook.Finder, spec rules.Spec, update ...func(*tokenhook.Config)) *tokenhook.Engine {
	tb.Helper()
	p, err := rules.Compile(spec, tokenhook.RulesEnv(inlinehook.Rules{}, 0))
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	cfg := tokenhook.Config{Program: p, Finder: f, Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }}
	for _, u := range update {
		u(&cfg)
	}
	e, err := tokenhook.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func idPatch(ops ...inlinehook.Operation) *inlinehook.Response {
	return &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity(ops...)}}
}

func accessPatch(ops ...inlinehook.Operation) *inlinehook.Response {
	return &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchAccess(ops...)}}
}

func TestTransform(t *testing.T) {
	records := map[string]map[string]any{
		"jessie.smith@example.com":    {"patientId": "1235", "roles": []any{"nurse", "admin"}, "status": "active"},
		"kim.sato@example.com":        {"status": "suspended"},
		"client:0oaY3ahE825uDNBoisiL": {"tenant": "acme"},
	}
	patient := rules.RuleSpec{Name: "patient", Claim: "patientId", Value: "user.?patientId"}
	tests := []struct {
		name    string
		request string
		login   string // replaces jessie's login in the fixture
		spec    rules.Spec
		want    *inlinehook.Response
		keys    []string // keys looked up
	}{
		{
			name: "the guide's patient", request: "authorization_code",
			spec: rules.Spec{Lookups: []rules.LookupSpec{patientLookup}, Rules: []rules.RuleSpec{patient}},
			want: idPatch(inlinehook.AddClaim("patientId", "1235")), keys: []string{"jessie.smith@example.com"},
		},
		{
			name: "not in the store: nothing to do", request: "authorization_code", login: "nobody@example.com",
			spec: rules.Spec{Lookups: []rules.LookupSpec{patientLookup}, Rules: []rules.RuleSpec{patient}},
			want: &inlinehook.Response{}, keys: []string{"nobody@example.com"},
		},
		{
			// Client credentials: no user, so no key and no store call.
			name: "no user: no lookup", request: "client_credentials",
			spec: rules.Spec{Lookups: []rules.LookupSpec{patientLookup}, Rules: []rules.RuleSpec{patient}},
			want: &inlinehook.Response{},
		},
		{
			name: "a client-credentials claim from a record keyed by client id", request: "client_credentials",
			spec: rules.Spec{
				Lookups: []rules.LookupSpec{patientLookup, {Name: "client", Key: `"client:" + client_id`}},
				Rules:   []rules.RuleSpec{{Name: "tenant", Token: "access", Claim: "tenant", Value: "client.?tenant"}},
			},
			want: accessPatch(inlinehook.AddClaim("tenant", "acme")), keys: []string{"client:0oaY3ahE825uDNBoisiL"},
		},
		{
			// An ID claim is not written when no ID token is minted:
			// Okta would discard the whole answer.
			name: "both tokens, only one minted", request: "client_credentials",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "env", Token: "both", Claim: "env", Value: `"prod"`}}},
			want: accessPatch(inlinehook.AddClaim("env", "prod")),
		},
		{
			name: "replace and remove only what the token has", request: "authorization_code",
			spec: rules.Spec{Rules: []rules.RuleSpec{
				{Name: "name", Op: "replace", Claim: "name", Value: `"J. Smith"`},
				{Name: "ghost", Op: "replace", Claim: "ghost", Value: `"x"`},
				{Name: "email", Op: "remove", Claim: "email"},
				{Name: "gone", Op: "remove", Claim: "gone"},
			}},
			want: idPatch(inlinehook.ReplaceClaim("name", "J. Smith"), inlinehook.RemoveClaim("email")),
		},
		{
			name: "append: a new array claim, then to an existing one", request: "authorization_code",
			spec: rules.Spec{Lookups: []rules.LookupSpec{patientLookup}, Rules: []rules.RuleSpec{
				{Name: "roles", Token: "access", Op: "append", Claim: "roles", Value: "user.roles"},
				{Name: "reader", Token: "access", Op: "append", Claim: "roles", Value: `"reader"`},
				{Name: "amr", Op: "append", Claim: "amr_extra", Value: `["hwk"]`},
			}},
			want: &inlinehook.Response{Commands: []inlinehook.Command{
				inlinehook.PatchIdentity(inlinehook.AddClaim("amr_extra", []any{"hwk"})),
				inlinehook.PatchAccess(inlinehook.AddClaim("roles", []any{"nurse", "admin", "reader"})),
			}},
			keys: []string{"jessie.smith@example.com"},
		},
		{
			name: "lifetimes", request: "authorization_code",
			spec: rules.Spec{Rules: []rules.RuleSpec{
				{Name: "short id", Lifetime: "300"},
				{Name: "short access", Token: "access", Lifetime: `grant_type == "authorization_code" ? 900 : 3600`},
			}},
			want: &inlinehook.Response{Commands: []inlinehook.Command{
				inlinehook.PatchIdentity(inlinehook.SetLifetime(300)),
				inlinehook.PatchAccess(inlinehook.SetLifetime(900)),
			}},
		},
		{
			name: "a suspended record is denied", request: "authorization_code", login: "kim.sato@example.com",
			spec: rules.Spec{Lookups: []rules.LookupSpec{patientLookup}, Rules: []rules.RuleSpec{
				patient,
				{Name: "suspended", Deny: "Your account is suspended", When: `user.?status.orValue("") == "suspended"`},
			}},
			want: inlinehook.Deny("Your account is suspended"), keys: []string{"kim.sato@example.com"},
		},
		{
			name: "tenant from a query parameter", request: "authorization_code",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "tenant", Token: "access", Claim: "tenant", Value: `query[?"tenant"]`}}},
			want: &inlinehook.Response{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &finder{records: records}
			e := newEngine(t, f, tt.spec)
			body := fixture(t, tt.request)
			if tt.login != "" {
				body = bytes.ReplaceAll(body, []byte("jessie.smith@example.com"), []byte(tt.login))
			}
			req, err := e.DecodeRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Transform(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.keys, f.lookedUp()); diff != "" {
				t.Errorf("keys looked up (-want +got):\n%s", diff)
			}
			// Whatever the engine answers, Okta applies: judged on the
			// full request, as Okta sees it.
			full, _ := inlinehook.DecodeTokenRequest(body)
			if v := inlinehook.Validate(full, got); len(v) > 0 {
				t.Errorf("Okta would discard the answer: %v", v)
			}
		})
	}
}

func TestTransformQueryParameter(t *testing.T) {
	body := bytes.Replace(fixture(t, "authorization_code"), []byte("response_type=code"), []byte("tenant=north&response_type=code"), 1)
	if !bytes.Contains(body, []byte("tenant=north")) {
		t.Fatal("the fixture's URL has no response_type=code to extend")
	}
	e := newEngine(t, &finder{}, rules.Spec{Rules: []rules.RuleSpec{{Name: "tenant", Token: "access", Claim: "tenant", Value: `query[?"tenant"]`}}})
	req, err := e.DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.Transform(t.Context(), req)
	if diff := cmp.Diff(accessPatch(inlinehook.AddClaim("tenant", "north")), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestCriticality pins what a store failure costs: a best-effort lookup
// leaves its claims out (and every claim computed from it, defaults
// included) but the answer still goes out; a required one denies.
func TestCriticality(t *testing.T) {
	spec := func(lookupRequired, ruleRequired bool) rules.Spec {
		return rules.Spec{
			Lookups: []rules.LookupSpec{{Name: "user", Key: "login", Required: lookupRequired}},
			Rules: []rules.RuleSpec{
				{Name: "patient", Claim: "patientId", Value: "user.?patientId", Required: ruleRequired},
				{Name: "tier", Claim: "tier", Value: `user.?tier.orValue("basic")`},
				{Name: "static", Claim: "env", Value: `"prod"`},
			},
		}
	}
	deny := inlinehook.Deny("store down, sorry")
	tests := []struct {
		name             string
		lookup, rule     bool
		want             *inlinehook.Response
		wantLogged       string
		wantLoggedLookup bool
	}{
		{name: "best effort", want: idPatch(inlinehook.AddClaim("env", "prod")), wantLogged: `rule=patient`},
		{name: "required rule", rule: true, want: deny, wantLogged: `rule=patient required=true`},
		{name: "required lookup", lookup: true, want: deny, wantLogged: `lookup=user required=true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			e := newEngine(t, &finder{err: errors.New("connection refused to db.internal:5432 password=hunter2")}, spec(tt.lookup, tt.rule), func(c *tokenhook.Config) {
				c.FailureSummary = "store down, sorry"
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			got, err := e.Transform(t.Context(), decode(t, "authorization_code"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !strings.Contains(logs.String(), tt.wantLogged) {
				t.Errorf("logs lack %q:\n%s", tt.wantLogged, logs.String())
			}
			for _, leak := range []string{"hunter2", "jessie.smith", "db.internal"} {
				if strings.Contains(logs.String(), leak) {
					t.Errorf("logs leak %q:\n%s", leak, logs.String())
				}
			}
		})
	}
}

// TestBudget: a store that never answers costs at most the store timeout
// per lookup and the budget in all, and the answer still goes out.
func TestBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &finder{block: true}
		e := newEngine(t, f, rules.Spec{
			Lookups: []rules.LookupSpec{{Name: "a", Key: "login"}, {Name: "b", Key: "client_id"}, {Name: "c", Key: `"x"`}},
			Rules: []rules.RuleSpec{
				{Name: "a", Claim: "a", Value: "a.?v"}, {Name: "b", Claim: "b", Value: "b.?v"}, {Name: "c", Claim: "c", Value: "c.?v"},
				{Name: "static", Claim: "env", Value: `"prod"`},
			},
		}, func(c *tokenhook.Config) { c.Budget, c.StoreTimeout = 500*time.Millisecond, 300*time.Millisecond })
		start := time.Now()
		got, err := e.Transform(t.Context(), decode(t, "authorization_code"))
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 500*time.Millisecond {
			t.Errorf("took %s, want the budget, 500ms (300ms for a, 200ms left for b, none for c)", took)
		}
		if diff := cmp.Diff(idPatch(inlinehook.AddClaim("env", "prod")), got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if n := len(f.lookedUp()); n != 2 {
			t.Errorf("%d store calls, want 2: the third lookup starts after the budget is spent", n)
		}
	})
}

// TestUnreadLookupsAreNotRun: a best-effort lookup no rule reads costs no
// store call; a required one runs, since its failure denies.
func TestUnreadLookupsAreNotRun(t *testing.T) {
	f := &finder{}
	e := newEngine(t, f, rules.Spec{
		Lookups: []rules.LookupSpec{{Name: "unused", Key: "login"}, {Name: "gate", Key: `"gate:" + login`, Required: true}},
		Rules:   []rules.RuleSpec{{Name: "env", Claim: "env", Value: `"prod"`}},
	})
	if _, err := e.Transform(t.Context(), decode(t, "authorization_code")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gate:jessie.smith@example.com"}, f.lookedUp()); diff != "" {
		t.Errorf("keys looked up (-want +got):\n%s", diff)
	}
}

func TestStaleRecordsServe(t *testing.T) {
	f := &finder{records: map[string]map[string]any{"jessie.smith@example.com": {"patientId": "1235"}}, stale: true}
	e := newEngine(t, f, rules.Spec{Lookups: []rules.LookupSpec{patientLookup}, Rules: []rules.RuleSpec{{Name: "p", Claim: "patientId", Value: "user.?patientId", Required: true}}})
	got, _ := e.Transform(t.Context(), decode(t, "authorization_code"))
	if diff := cmp.Diff(idPatch(inlinehook.AddClaim("patientId", "1235")), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestPartialDecodeAgrees pins decision 0003: for every fixture and rule
// set, the request the engine decodes in part gives the answer the whole
// request gives, and the guard judges both alike.
func TestPartialDecodeAgrees(t *testing.T) {
	records := map[string]map[string]any{
		"jessie.smith@example.com": {"patientId": "1235", "roles": []any{"a"}},
		"00utFG1RUHAOKErY3BVH":     {"patientId": "by-id"},
		"0oaY3ahE825uDNBoisiL":     {"patientId": "service"},
	}
	specs := map[string]rules.Spec{
		"login": {Lookups: []rules.LookupSpec{patientLookup}, Rules: []rules.RuleSpec{{Claim: "patientId", Token: "both", Value: "user.?patientId"}}},
		"user id": {Lookups: []rules.LookupSpec{{Name: "user", Key: "request.data.context.user.id"}},
			Rules: []rules.RuleSpec{{Claim: "patientId", Token: "both", Value: "user.?patientId"}}},
		"session": {Lookups: []rules.LookupSpec{{Name: "user", Key: "request.data.context.session.login"}},
			Rules: []rules.RuleSpec{{Claim: "patientId", Value: "user.?patientId"}}},
		"client": {Lookups: []rules.LookupSpec{{Name: "user", Key: "client_id"}},
			Rules: []rules.RuleSpec{{Claim: "patientId", Token: "access", Value: "user.?patientId"}}},
		"access claim": {Lookups: []rules.LookupSpec{{Name: "user", Key: `request.data.access.claims[?"uid"].orValue("")`}},
			Rules: []rules.RuleSpec{{Claim: "patientId", Token: "access", Value: "user.?patientId"}}},
		"replace and append": {Lookups: []rules.LookupSpec{patientLookup}, Rules: []rules.RuleSpec{
			{Op: "replace", Claim: "name", Value: `"x"`}, {Op: "append", Token: "access", Claim: "roles", Value: "user.?roles.orValue([])"},
			{Op: "remove", Token: "access", Claim: "firstName"}}},
		"whole claims map": {Rules: []rules.RuleSpec{{Claim: "n", Value: `size(request.data.identity.claims)`}}},
		"scopes and grant": {Rules: []rules.RuleSpec{{Token: "access", Claim: "s", Value: `scopes.join(" ") + grant_type`}}},
		"session amr":      {Rules: []rules.RuleSpec{{Claim: "mfa", Value: `request.data.context.session.amr`}}},
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "inlinehook", "testdata", "requests", "*.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	answered := 0
	for name, spec := range specs {
		e := newEngine(t, &finder{records: records}, spec)
		for _, file := range files {
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			full, err := inlinehook.DecodeTokenRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			part, err := e.DecodeRequest(body)
			if err != nil {
				t.Fatalf("%s %s: %v", name, file, err)
			}
			want, err1 := e.Transform(t.Context(), full)
			got, err2 := e.Transform(t.Context(), part)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s: partial decode changes the answer (-full +partial):\n%s", name, filepath.Base(file), diff)
			}
			if !want.IsEmpty() {
				answered++
			}
			if a, b := inlinehook.Validate(full, want), inlinehook.Validate(part, got); len(a) != 0 || len(b) != 0 {
				t.Errorf("%s %s: Okta would discard: %v / %v", name, filepath.Base(file), a, b)
			}
		}
	}
	if answered < 20 {
		t.Errorf("only %d answers with commands: the cases do not exercise the rules", answered)
	}
}

func TestNewRequiresProgramAndFinder(t *testing.T) {
	if _, err := tokenhook.New(tokenhook.Config{}); err == nil {
		t.Error("New without a program: want an error")
	}
}

func TestClaimNames(t *testing.T) {
	resp := &inlinehook.Response{Commands: []inlinehook.Command{
		inlinehook.PatchIdentity(inlinehook.AddClaim("patientId", "1235")),
		inlinehook.PatchAccess(inlinehook.RemoveClaim("email"), inlinehook.SetLifetime(300)),
	}}
	want := []string{"id:add:patientId", "access:remove:email", "access:replace:/token/lifetime/expiration"}
	if diff := cmp.Diff(want, tokenhook.ClaimNames(resp)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestDecodeRequestLimits pins that Config.Limits reach the decoder.
func TestDecodeRequestLimits(t *testing.T) {
	body := bytes.Replace(fixture(t, "authorization_code"), []byte("jessie.smith@example.com"), bytes.Repeat([]byte("j"), 2000), 1)
	plain := newEngine(t, &finder{}, rules.Spec{})
	if _, err := plain.DecodeRequest(body); err != nil {
		t.Fatalf("without limits: %v", err)
	}
	limited := newEngine(t, &finder{}, rules.Spec{}, func(c *tokenhook.Config) {
		c.Limits = inlinehook.Limits{MaxDepth: 16, MaxStringBytes: 1024}
	})
	if _, err := limited.DecodeRequest(fixture(t, "authorization_code")); err != nil {
		t.Fatalf("within the limits: %v", err)
	}
	_, err := limited.DecodeRequest(body)
	var le *inlinehook.LimitError
	if !errors.As(err, &le) || le.Limit != inlinehook.LimitStringBytes {
		t.Errorf("over the limits: err = %v, want a *inlinehook.LimitError", err)
	}
}
