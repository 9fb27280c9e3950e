package rules_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/rules"
)

// testEnv declares the inputs the hook's core declares.
func testEnv() rules.Env {
	return rules.Env{
		Request: reflect.TypeFor[inlinehook.TokenRequest](),
		Inputs: map[string]*cel.Type{
			"login":      cel.StringType,
			"client_id":  cel.StringType,
			"grant_type": cel.StringType,
			"scopes":     cel.ListType(cel.StringType),
			"query":      cel.MapType(cel.StringType, cel.StringType),
			"now":        cel.TimestampType,
		},
		Reserved: func(t rules.Token, claim string) bool {
			cmd := inlinehook.IdentityPatch
			if t == rules.AccessToken {
				cmd = inlinehook.AccessPatch
			}
			return inlinehook.Rules{}.IsReserved(cmd, claim)
		},
	}
}

func mustCompile(tb testing.TB, spec rules.Spec) *rules.Program {
	tb.Helper()
	p, err := rules.Compile(spec, testEnv())
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return p
}

func request(tb testing.TB, name string) *inlinehook.TokenRequest {
	tb.Helper()
	data, err := os.ReadFile("../../inlinehook/testdata/requests/" + name + ".json")
	if err != nil {
		tb.Fatal(err)
	}
	req, err := inlinehook.DecodeTokenRequest(data)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// inputs binds the request and the test's fixed inputs, and the records
// by lookup name.
func inputs(p *rules.Program, req *inlinehook.TokenRequest, records map[string]map[string]any) *rules.Inputs {
	in := p.NewInputs(req, rules.ResolverFunc(func(name string) (any, bool) {
		switch name {
		case "login":
			return req.Login(), true
		case "client_id":
			return req.ClientID(), true
		case "grant_type":
			return req.GrantType(), true
		case "scopes":
			return []string{"openid", "profile"}, true
		case "query":
			return map[string]string{"tenant": "north"}, true
		case "now":
			return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), true
		}
		return nil, false
	}))
	for i, l := range p.Lookups() {
		if r, ok := records[l.Name]; ok {
			in.SetRecord(i, r)
		}
	}
	return in
}

func prec(n int) *int { return &n }

var userLookup = []rules.LookupSpec{{Name: "user", Key: "login"}}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		spec rules.Spec
		want []string // one substring per expected error
	}{
		{
			name: "syntax error",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Claim: "x", Value: `"a" +`}}},
			want: []string{`rule "r": value: ERROR`},
		},
		{
			name: "unknown field of the request",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Claim: "x", Value: `request.data.context.user.profile.nope`}}},
			want: []string{`undefined field 'nope'`},
		},
		{
			name: "when is not a bool",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Claim: "x", Value: `1`, When: `login`}}},
			want: []string{`when: the expression is of type string, want bool`},
		},
		{
			name: "lookup key is not a string",
			spec: rules.Spec{Lookups: []rules.LookupSpec{{Name: "user", Key: "1"}}},
			want: []string{`lookup "user": key: the expression is of type int`},
		},
		{
			name: "reserved claim in the ID token",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Claim: "sub", Value: `"x"`}}},
			want: []string{`claim "sub" is reserved by Okta in the id token`},
		},
		{
			name: "reserved in both tokens",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Claim: "groups", Token: "both", Value: `["a"]`}}},
			want: []string{`reserved by Okta in the id token`, `reserved by Okta in the access token`},
		},
		{
			name: "lifetime below Okta's minimum",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Lifetime: "299"}}},
			want: []string{`lifetime 299 s: Okta accepts 300 to 86400`},
		},
		{
			name: "lifetime above Okta's maximum",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Token: "access", Lifetime: "86401"}}},
			want: []string{`lifetime 86401 s`},
		},
		{
			name: "lifetime of the wrong type",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Lifetime: `"3600"`}}},
			want: []string{`lifetime: the expression is of type string, want int`},
		},
		{
			name: "two rules write one claim",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "a", Claim: "x", Value: "1"}, {Name: "b", Claim: "x", Value: "2"}}},
			want: []string{`rules "a", "b" all write claim "x" of the id token: give each a distinct precedence`},
		},
		{
			name: "same precedence",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "a", Claim: "x", Value: "1", Precedence: prec(1)}, {Name: "b", Token: "both", Claim: "x", Value: "2", Precedence: prec(1)}}},
			want: []string{`"a" and "b" have the same precedence 1`},
		},
		{
			name: "two lifetimes",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "a", Token: "access", Lifetime: "600"}, {Name: "b", Token: "access", Lifetime: "900"}}},
			want: []string{`the access token's lifetime`},
		},
		{
			name: "append mixed with add on one claim",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "a", Token: "access", Op: "append", Claim: "roles", Value: `"x"`, Precedence: prec(1)},
				{Name: "b", Token: "access", Claim: "roles", Value: `["y"]`, Precedence: prec(2)}}},
			want: []string{`append does not mix with other ops on one claim`},
		},
		{
			name: "deny without when",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Deny: "no"}}},
			want: []string{`a deny rule needs a when condition`},
		},
		{
			name: "deny with a token",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Deny: "no", When: "true", Token: "id"}}},
			want: []string{`a deny rule takes only when, deny and required`},
		},
		{
			name: "neither claim, lifetime nor deny",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Value: "1"}}},
			want: []string{`give exactly one of claim, lifetime and deny`},
		},
		{
			name: "claim and deny",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Claim: "x", Value: "1", Deny: "no", When: "true"}}},
			want: []string{`rule "rule 1": give exactly one`},
		},
		{
			name: "unknown op and token",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "r", Claim: "x", Value: "1", Op: "move", Token: "refresh"}}},
			want: []string{`token "refresh": want id, access or both`, `op "move": want add, replace, remove or append`},
		},
		{
			name: "remove with a value, add without one",
			spec: rules.Spec{Rules: []rules.RuleSpec{{Name: "a", Claim: "x", Op: "remove", Value: "1"}, {Name: "b", Claim: "y"}}},
			want: []string{`rule "a": a remove rule takes no value`, `rule "b": value: an expression is required`},
		},
		{
			name: "lookup names",
			spec: rules.Spec{Lookups: []rules.LookupSpec{{Name: "login", Key: "login"}, {Name: "2x", Key: "login"}, {Name: "in", Key: "login"}, {Name: "u", Key: "login"}, {Name: "u", Key: "login"}, {Name: "v"}}},
			want: []string{`lookup "login": the name is taken by an input`, `lookup 2: name "2x" is not an identifier`, `lookup 3: name "in"`, `lookup "u": the name is taken by another lookup`, `lookup "v": key: an expression is required`},
		},
		{
			name: "expression cost above the limit",
			spec: rules.Spec{Lookups: userLookup, Rules: []rules.RuleSpec{{Name: "r", Token: "access", Claim: "x",
				Value: `user.groups.map(a, user.groups.map(b, user.groups.filter(c, c == a + b)))`}}},
			want: []string{`rule "r": value: the expression may cost up to`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Compile(tt.spec, testEnv())
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			errs := unjoin(err)
			if len(errs) != len(tt.want) {
				t.Errorf("%d errors, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestCompileAccepts(t *testing.T) {
	spec := rules.Spec{
		Lookups: []rules.LookupSpec{
			{Name: "user", Key: "login"},
			{Name: "client", Key: `"client:" + client_id`, Required: true},
			{Name: "maybe", Key: `login == "" ? optional.none() : optional.of(login)`},
		},
		Rules: []rules.RuleSpec{
			// sub and aud are writable in access tokens.
			{Name: "sub", Token: "access", Claim: "sub", Value: `user.?employeeId.orValue(login)`},
			{Name: "aud", Token: "access", Op: "replace", Claim: "aud", Value: `"api://patients"`},
			{Name: "appends", Token: "access", Op: "append", Claim: "roles", Value: `user.roles`},
			{Name: "appends too", Token: "access", Op: "append", Claim: "roles", Value: `"reader"`},
			// CEL leaves orValue's size unbounded: the estimate must not.
			{Name: "filtered", Token: "access", Op: "append", Claim: "memberOf", Value: `user.?groups.orValue([]).filter(g, g.startsWith("app-"))`},
			{Name: "short", Token: "both", Lifetime: `grant_type == "client_credentials" ? 300 : 3600`},
			{Name: "lo", Claim: "tier", Value: `"basic"`, Precedence: prec(1)},
			{Name: "hi", Claim: "tier", Value: `"gold"`, When: `has(user.gold)`, Precedence: prec(2)},
			{Name: "deny", Deny: "Account suspended", When: `user.?status.orValue("") == "suspended"`},
			{Name: "rm", Op: "remove", Claim: "email", When: `query.tenant == "anonymous"`},
			// The language notes of docs/rules.md.
			{Name: "doc1", Claim: "d1", Value: `login.split("@")[1]`},
			{Name: "doc2", Claim: "d2", Value: `scopes.exists(s, s == "patients.read")`},
			{Name: "doc3", Claim: "d3", Value: `sets.contains(user.roles, ["admin"])`},
			{Name: "doc4", Claim: "d4", Value: `math.least(3600, int(user.maxLifetime))`},
			{Name: "doc5", Claim: "d5", Value: `timestamp(user.expires) > now`, When: `query[?"tenant-id"].orValue("") != "" && "x".matches("^[a-z]+$")`},
			{Name: "doc6", Claim: "d6", Value: `user["clinic-name"]`, When: `user.level == 3.0`},
		},
	}
	mustCompile(t, spec)
}

func TestEval(t *testing.T) {
	patient := map[string]any{"patientId": "1235", "roles": []any{"nurse", "admin"}, "level": 3.0, "nothing": nil}
	tests := []struct {
		name    string
		rules   []rules.RuleSpec
		records map[string]map[string]any
		request string
		want    rules.Outcome
	}{
		{
			name:    "the guide's patient claim",
			rules:   []rules.RuleSpec{{Name: "patient", Claim: "patientId", Value: "user.?patientId"}},
			records: map[string]map[string]any{"user": patient},
			want:    rules.Outcome{Actions: []rules.Action{{Rule: "patient", Token: rules.IDToken, Op: rules.OpAdd, Claim: "patientId", Value: "1235"}}},
		},
		{
			name:  "no record: an empty optional leaves the claim out",
			rules: []rules.RuleSpec{{Name: "patient", Claim: "patientId", Value: "user.?patientId"}},
		},
		{
			name:    "a null attribute leaves the claim out",
			rules:   []rules.RuleSpec{{Name: "n", Claim: "n", Value: "user.nothing"}},
			records: map[string]map[string]any{"user": patient},
		},
		{
			name:  "when false",
			rules: []rules.RuleSpec{{Name: "p", Claim: "p", Value: `"x"`, When: "has(user.patientId)"}},
		},
		{
			name:    "both tokens, values of every type",
			rules:   []rules.RuleSpec{{Name: "all", Token: "both", Claim: "all", Value: `{"s": login, "i": 2, "d": user.level, "b": true, "l": user.roles, "t": now}`}},
			records: map[string]map[string]any{"user": patient},
			want: rules.Outcome{Actions: []rules.Action{
				{Rule: "all", Token: rules.IDToken, Op: rules.OpAdd, Claim: "all", Value: map[string]any{"s": "jessie.smith@example.com", "i": int64(2), "d": 3.0, "b": true, "l": []any{"nurse", "admin"}, "t": "2026-12-01T12:00:00Z"}},
				{Rule: "all", Token: rules.AccessToken, Op: rules.OpAdd, Claim: "all", Value: map[string]any{"s": "jessie.smith@example.com", "i": int64(2), "d": 3.0, "b": true, "l": []any{"nurse", "admin"}, "t": "2026-12-01T12:00:00Z"}},
			}},
		},
		{
			name: "append a list and a single value",
			rules: []rules.RuleSpec{
				{Name: "roles", Token: "access", Op: "append", Claim: "roles", Value: "user.roles"},
				{Name: "reader", Token: "access", Op: "append", Claim: "roles", Value: `"reader"`},
				{Name: "none", Token: "access", Op: "append", Claim: "roles", Value: `[]`},
			},
			records: map[string]map[string]any{"user": patient},
			want: rules.Outcome{Actions: []rules.Action{
				{Rule: "roles", Token: rules.AccessToken, Op: rules.OpAppend, Claim: "roles", Value: []any{"nurse", "admin"}},
				{Rule: "reader", Token: rules.AccessToken, Op: rules.OpAppend, Claim: "roles", Value: []any{"reader"}},
			}},
		},
		{
			name:  "lifetime by client",
			rules: []rules.RuleSpec{{Name: "short", Token: "access", Lifetime: `client_id == "0oaM6R6xXt2VmqnkFFCp" ? 900 : 3600`}},
			want:  rules.Outcome{Actions: []rules.Action{{Rule: "short", Token: rules.AccessToken, Op: rules.OpLifetime, Value: int64(900)}}},
		},
		{
			name:  "a computed lifetime out of range fails the rule",
			rules: []rules.RuleSpec{{Name: "long", Token: "access", Lifetime: `request.data.access.token.lifetime.expiration * 100`}},
			want:  rules.Outcome{Failed: []rules.Failure{{Rule: "long", Err: errors.New("lifetime: 360000 s is outside the 300 to 86400 Okta accepts")}}},
		},
		{
			name: "precedence: the highest that fires wins, whatever the order",
			rules: []rules.RuleSpec{
				{Name: "gold", Claim: "tier", Value: `"gold"`, When: `has(user.patientId)`, Precedence: prec(10)},
				{Name: "basic", Claim: "tier", Value: `"basic"`, Precedence: prec(1)},
				{Name: "platinum", Claim: "tier", Value: `"platinum"`, When: `false`, Precedence: prec(20)},
			},
			records: map[string]map[string]any{"user": patient},
			want:    rules.Outcome{Actions: []rules.Action{{Rule: "gold", Token: rules.IDToken, Op: rules.OpAdd, Claim: "tier", Value: "gold"}}},
		},
		{
			name: "a deny ends the evaluation",
			rules: []rules.RuleSpec{
				{Name: "p", Claim: "p", Value: `"x"`},
				{Name: "suspended", Deny: "Account suspended", When: `user.?status.orValue("") == "suspended"`},
				{Name: "q", Claim: "q", Value: `"y"`},
			},
			records: map[string]map[string]any{"user": {"status": "suspended"}},
			want: rules.Outcome{Deny: "Account suspended", DenyRule: "suspended",
				Actions: []rules.Action{{Rule: "p", Token: rules.IDToken, Op: rules.OpAdd, Claim: "p", Value: "x"}}},
		},
		{
			name: "failures: best effort and required, never a value in the error",
			rules: []rules.RuleSpec{
				{Name: "missing", Claim: "m", Value: "user.secretAttr"},
				{Name: "conv", Claim: "c", Value: `int(login)`, Required: true},
				{Name: "bytes", Claim: "b", Value: `b"x"`},
				{Name: "ok", Claim: "ok", Value: `"fine"`},
			},
			want: rules.Outcome{
				Actions: []rules.Action{{Rule: "ok", Token: rules.IDToken, Op: rules.OpAdd, Claim: "ok", Value: "fine"}},
				Failed: []rules.Failure{
					{Rule: "missing", Err: errors.New("value: no such key")},
					{Rule: "conv", Required: true, Err: errors.New("value: type conversion error")},
					{Rule: "bytes", Err: errors.New("value: a value of type bytes cannot be a claim")},
				},
			},
		},
		{
			name:    "client credentials: no identity, no user",
			request: "client_credentials",
			rules: []rules.RuleSpec{
				{Name: "has id", Claim: "x", Value: `has(request.data.identity) ? "yes" : "no"`, Token: "access"},
				{Name: "login", Claim: "l", Value: `login`, Token: "access"},
			},
			want: rules.Outcome{Actions: []rules.Action{
				{Rule: "has id", Token: rules.AccessToken, Op: rules.OpAdd, Claim: "x", Value: "no"},
				{Rule: "login", Token: rules.AccessToken, Op: rules.OpAdd, Claim: "l", Value: ""},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, rules.Spec{Lookups: userLookup, Rules: tt.rules})
			name := tt.request
			if name == "" {
				name = "authorization_code"
			}
			got := p.Eval(inputs(p, request(t, name), tt.records))
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			for _, f := range got.Failed {
				if strings.Contains(f.Err.Error(), "jessie") {
					t.Errorf("failure %q quotes a request value", f.Err)
				}
			}
		})
	}
}

// TestFailedLookup pins that a rule reading a lookup whose store call
// failed is not evaluated: with an empty record, orValue would compute a
// default and put a wrong claim in the token.
func TestFailedLookup(t *testing.T) {
	p := mustCompile(t, rules.Spec{
		Lookups: []rules.LookupSpec{{Name: "user", Key: "login"}, {Name: "client", Key: "client_id"}},
		Rules: []rules.RuleSpec{
			{Name: "tier", Claim: "tier", Value: `user.?tier.orValue("basic")`},
			{Name: "patient", Claim: "patientId", Value: `user.?patientId`, When: `client_id != ""`, Required: true},
			{Name: "plan", Claim: "plan", Value: `client.?plan.orValue("free")`},
			{Name: "fixed", Claim: "fixed", Value: `"yes"`},
		},
	})
	in := inputs(p, request(t, "authorization_code"), map[string]map[string]any{"client": {"plan": "pro"}})
	in.FailRecord(0)
	got := p.Eval(in)
	want := rules.Outcome{
		Actions: []rules.Action{
			{Rule: "plan", Token: rules.IDToken, Op: rules.OpAdd, Claim: "plan", Value: "pro"},
			{Rule: "fixed", Token: rules.IDToken, Op: rules.OpAdd, Claim: "fixed", Value: "yes"},
		},
		Failed: []rules.Failure{
			{Rule: "tier", Err: errors.New(`lookup "user" failed`)},
			{Rule: "patient", Required: true, Err: errors.New(`lookup "user" failed`)},
		},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if !got.RequiredFailed() {
		t.Error("RequiredFailed is false")
	}
}

func TestLookupKey(t *testing.T) {
	p := mustCompile(t, rules.Spec{Lookups: []rules.LookupSpec{
		{Name: "user", Key: "login"},
		{Name: "client", Key: `"client:" + client_id`},
		{Name: "none", Key: `null`},
		{Name: "opt", Key: `request.data.identity.claims.?preferred_username.orValue("")`},
		{Name: "dyn", Key: `request.data.identity.claims.amr`},
	}})
	in := inputs(p, request(t, "authorization_code"), nil)
	for i, want := range []string{"jessie.smith@example.com", "client:0oaM6R6xXt2VmqnkFFCp", "", "jessie.smith@example.com"} {
		got, err := p.LookupKey(i, in)
		if err != nil || got != want {
			t.Errorf("lookup %d: %q, %v; want %q", i, got, err, want)
		}
	}
	if _, err := p.LookupKey(4, in); err == nil || !strings.Contains(err.Error(), "want string") {
		t.Errorf("a list key: %v", err)
	}
}

func TestReads(t *testing.T) {
	p := mustCompile(t, rules.Spec{
		Lookups: userLookup,
		Rules: []rules.RuleSpec{
			{Claim: "a", Value: `request.data.context.protocol.client.id`},
			{Claim: "b", Value: `request.data.identity.claims["preferred_username"]`},
			{Claim: "c", Value: `has(request.data.access) ? 1 : 0`, When: `request.data.identity.claims.exists(k, k == "x")`},
			{Claim: "d", Value: `query.tenant`},
		},
	})
	want := rules.Reads{
		Inputs: []string{"login", "query"},
		Request: [][]string{
			{"data", "access"},
			{"data", "context", "protocol", "client", "id"},
			{"data", "identity", "claims"},
			{"data", "identity", "claims", "preferred_username"},
		},
	}
	if diff := cmp.Diff(want, p.Reads()); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

func TestCompileRequiresAStruct(t *testing.T) {
	env := testEnv()
	env.Request = reflect.TypeFor[*inlinehook.TokenRequest]()
	if _, err := rules.Compile(rules.Spec{}, env); err == nil {
		t.Error("a pointer type was accepted")
	}
}

// FuzzCompile feeds arbitrary expressions and names to Compile and Eval:
// neither may panic, and what compiles evaluates within its cost limit.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{`user.?patientId`, `login + "x"`, `request.data.identity.claims.exists(k, k == "a")`,
		`[1,2,3].map(x, x * 2)`, `"a" +`, `user.groups.filter(g, g.startsWith("p"))`, `{"a": now}`, `int(login)`,
		`request.data.context.user.profile.login.split("@")[1]`, `1/0`} {
		f.Add(s, "claim", "access")
	}
	env := testEnv()
	req := request(f, "authorization_code")
	f.Fuzz(func(t *testing.T, expr, claim, token string) {
		p, err := rules.Compile(rules.Spec{Lookups: userLookup, Rules: []rules.RuleSpec{
			{Name: "f", Token: token, Claim: claim, Value: expr},
			{Name: "w", Claim: "w", Value: `"w"`, When: expr},
		}}, env)
		if err != nil {
			return
		}
		in := inputs(p, req, map[string]map[string]any{"user": {"groups": []any{"a", "b"}, "patientId": "1"}})
		p.Eval(in)
	})
}
