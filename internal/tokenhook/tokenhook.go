// Package tokenhook is the hook's core: it turns Okta's token request, and
// the store records its lookups find, into the commands of the response.
//
// It knows nothing of HTTP or SQL, so it is tested and benchmarked without
// sockets, and the CLI's dry runs (tokenhook rules eval) reuse it. The claim
// rules themselves are package rules; [Engine] runs their lookups within a
// deadline, applies each lookup's and rule's criticality, and turns their
// actions into commands Okta applies.
package tokenhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/rules"
)

// Transformer answers one token inline hook request. A nil or empty response
// means there is nothing to do. An error means the answer could not be
// computed at all; Okta then issues the token unmodified.
type Transformer interface {
	Transform(ctx context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error)
}

// RequestDecoder is implemented by a [Transformer] that reads only part of a
// request: the server decodes the body with it rather than in full, since
// decoding is the largest cost of a hook call. The request it returns must
// still carry what the server's guard reads for the operations the
// transformer answers with: which tokens are minted and, for replace and
// remove operations, the claims they name.
type RequestDecoder interface {
	DecodeRequest(body []byte) (*inlinehook.TokenRequest, error)
}

// Record is what a lookup found in the store.
type Record struct {
	// Attributes of the record; shared and read-only.
	Attributes map[string]any
	// Found is false when the store has no record for the key.
	Found bool
	// Stale marks a last known good record served while the store fails.
	Stale bool
}

// Finder is the part of the users store (or of the cache in front of it)
// the core needs. An error means the store could not answer; a missing
// record is Found false, not an error.
type Finder interface {
	Find(ctx context.Context, key string) (Record, error)
}

// Peeker is implemented by a [Finder] that can answer some keys at once
// from memory (a cache hit). The engine asks it first, and sets up the
// call's deadlines only for a key it cannot answer.
type Peeker interface {
	Peek(key string) (Record, bool)
}

// Inputs the rules may read besides request, with their CEL types. See
// docs/rules.md.
const (
	InputLogin     = "login"      // the user's login ("" without a user)
	InputClientID  = "client_id"  // the OAuth client
	InputGrantType = "grant_type" // authorization_code, implicit, password, refresh_token, client_credentials, ...
	InputScopes    = "scopes"     // the granted scopes
	InputQuery     = "query"      // the triggering request's query parameters, first value each
	InputNow       = "now"        // the time of the call
)

// RulesEnv is what rules compiled for an [Engine] may read and write: the
// request as inlinehook.TokenRequest, the inputs above, and the claims
// Okta reserves under r.
func RulesEnv(r inlinehook.Rules, maxCost uint64) rules.Env {
	return rules.Env{
		Request: reflect.TypeFor[inlinehook.TokenRequest](),
		Inputs: map[string]*cel.Type{
			InputLogin:     cel.StringType,
			InputClientID:  cel.StringType,
			InputGrantType: cel.StringType,
			InputScopes:    cel.ListType(cel.StringType),
			InputQuery:     cel.MapType(cel.StringType, cel.StringType),
			InputNow:       cel.TimestampType,
		},
		Reserved: func(t rules.Token, claim string) bool { return r.IsReserved(commandType(t), claim) },
		MaxCost:  maxCost,
	}
}

func commandType(t rules.Token) string {
	if t == rules.AccessToken {
		return inlinehook.AccessPatch
	}
	return inlinehook.IdentityPatch
}

// Defaults of [Config].
const (
	// DefaultBudget leaves a second of Okta's 3 s for the network and for
	// Okta itself.
	DefaultBudget = 2 * time.Second
	// DefaultStoreTimeout bounds one store call.
	DefaultStoreTimeout = time.Second
	// DefaultFailureSummary is the errorSummary Okta shows when a required
	// lookup or rule fails and the token is denied.
	DefaultFailureSummary = "The token could not be completed: required claim data is unavailable"
)

// Config configures an [Engine]. Program and Finder are required; zero
// values of the others mean their defaults.
type Config struct {
	Program *rules.Program
	Finder  Finder
	// Budget is the deadline of one hook call's lookups (DefaultBudget).
	Budget time.Duration
	// StoreTimeout bounds each store call, within the budget
	// (DefaultStoreTimeout).
	StoreTimeout time.Duration
	// FailureSummary is the errorSummary of a denial caused by a failed
	// required lookup or rule (DefaultFailureSummary).
	FailureSummary string
	// Now is the clock of the now input (time.Now).
	Now func() time.Time
	// Logger hears of failed lookups and rules, by name and never with a
	// value (nil: discarded).
	Logger *slog.Logger
	// Limits bound the JSON DecodeRequest accepts (zero: no bounds); a
	// request over them is a *inlinehook.LimitError.
	Limits inlinehook.Limits
	// Decode are parts of the request DecodeRequest decodes besides those
	// the rules read: the server's audit line reads the protocol and the
	// user.
	Decode inlinehook.Parts
	// Tracer, when not nil, gets a span per lookup and one for the rules.
	Tracer Tracer
	// Observer, when not nil, hears of lookups and failed rules.
	Observer Observer
	// DebugContext selects the names put in the answer's debugContext.
	DebugContext DebugContext
}

// Engine is the default [Transformer]: lookups, then rules, then commands.
// It is safe for concurrent use.
type Engine struct {
	cfg     Config
	lookups []rules.Lookup
	reads   map[string]bool // inputs the rules read
	decoder *inlinehook.PartialDecoder
	// lookupSpans are the span names of the lookups, and lookupNotes
	// their "name=result" notes for debugContext, made once.
	lookupSpans []string
	lookupNotes [][5]string
	// boxed are debugContext values already in an interface, by note.
	boxed      sync.Map
	boxedCount atomic.Int64
}

var _ RequestDecoder = (*Engine)(nil)

// New returns an engine for cfg.
func New(cfg Config) (*Engine, error) {
	if cfg.Program == nil || cfg.Finder == nil {
		return nil, errors.New("tokenhook: Config.Program and Config.Finder are required")
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = DefaultStoreTimeout
	}
	if cfg.FailureSummary == "" {
		cfg.FailureSummary = DefaultFailureSummary
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, lookups: cfg.Program.Lookups(), reads: map[string]bool{}}
	for _, name := range cfg.Program.Reads().Inputs {
		e.reads[name] = true
	}
	for _, l := range e.lookups {
		e.lookupSpans = append(e.lookupSpans, "lookup "+l.Name)
		var notes [5]string
		for j, r := range lookupResults() {
			notes[j] = l.Name + "=" + r
		}
		e.lookupNotes = append(e.lookupNotes, notes)
	}
	e.decoder = inlinehook.NewPartialDecoder(mergeParts(partsRead(cfg.Program), cfg.Decode)).WithLimits(cfg.Limits)
	return e, nil
}

// DecodeRequest implements [RequestDecoder].
func (e *Engine) DecodeRequest(body []byte) (*inlinehook.TokenRequest, error) {
	return e.decoder.Decode(body)
}

// Transform implements [Transformer]. Best-effort lookups and rules that
// fail leave their claims out; a required one that fails denies the token
// with FailureSummary, as does a deny rule with its own summary.
func (e *Engine) Transform(ctx context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error) {
	return e.run(ctx, req, nil), nil
}

// Trace is what one call did, for dry runs (tokenhook rules eval). It holds
// keys and values: it is for the operator's terminal, never for logs.
type Trace struct {
	Lookups []LookupTrace
	Outcome rules.Outcome
	// Skipped are the rules' operations left out because Okta would
	// refuse them, with the reason.
	Skipped []string
}

// LookupTrace is one lookup of a call.
type LookupTrace struct {
	Name     string
	Required bool
	Key      string // "" when there was nothing to look up
	Found    bool
	Stale    bool
	Err      error
}

// Explain is Transform, also telling what the call did.
func (e *Engine) Explain(ctx context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, *Trace) {
	t := &Trace{}
	return e.run(ctx, req, t), t
}

func (e *Engine) run(ctx context.Context, req *inlinehook.TokenRequest, trace *Trace) *inlinehook.Response {
	c := call{Context: ctx, e: e}
	defer c.done()
	var dbg *debugNotes
	if e.cfg.DebugContext.enabled() {
		var notes debugNotes
		notes.lookups, notes.rules = notes.lookupsBuf[:0], notes.rulesBuf[:0]
		dbg = &notes
	}
	resp := e.decide(&c, req, trace, dbg)
	if dbg != nil && !resp.IsEmpty() {
		resp.DebugContext = e.debugContext(dbg)
	}
	return resp
}

// decide runs the lookups and the rules and makes the answer.
func (e *Engine) decide(c *call, req *inlinehook.TokenRequest, trace *Trace, dbg *debugNotes) *inlinehook.Response {
	ctx := c.Context
	in := e.cfg.Program.NewInputs(req, &inputs{req: req, now: e.cfg.Now})
	for i, l := range e.lookups {
		if !l.Required && !e.reads[l.Name] {
			continue // no rule reads it: a store call for nothing
		}
		var span Span
		if e.cfg.Tracer != nil {
			_, span = e.cfg.Tracer.Start(ctx, e.lookupSpans[i])
		}
		lt := LookupTrace{Name: l.Name, Required: l.Required}
		err := c.lookup(i, in, &lt)
		result := lookupResult(&lt, err)
		if span != nil {
			span.SetAttribute("tokenhook.lookup.result", result)
			span.End(err)
		}
		if e.cfg.Observer != nil {
			e.cfg.Observer.Lookup(l.Name, result)
		}
		if dbg != nil {
			dbg.lookups = append(dbg.lookups, e.lookupNote(i, result))
		}
		if trace != nil {
			lt.Err = err
			trace.Lookups = append(trace.Lookups, lt)
		}
		if err != nil {
			e.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "lookup failed", slog.String("event_id", req.EventID),
				slog.String("lookup", l.Name), slog.Bool("required", l.Required), slog.String("error", err.Error()))
			if l.Required {
				return inlinehook.Deny(e.cfg.FailureSummary)
			}
			in.FailRecord(i)
		}
	}
	var span Span
	if e.cfg.Tracer != nil {
		_, span = e.cfg.Tracer.Start(ctx, "rules")
	}
	out := e.cfg.Program.Eval(in)
	if span != nil {
		var err error
		if len(out.Failed) > 0 {
			err = fmt.Errorf("%d rules failed", len(out.Failed))
		}
		span.End(err)
	}
	if trace != nil {
		trace.Outcome = out
	}
	for _, f := range out.Failed {
		e.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "rule failed", slog.String("event_id", req.EventID),
			slog.String("rule", f.Rule), slog.Bool("required", f.Required), slog.String("error", f.Err.Error()))
		if e.cfg.Observer != nil {
			e.cfg.Observer.RuleFailed(f.Rule)
		}
	}
	if out.Deny != "" {
		if dbg != nil {
			dbg.rules = append(dbg.rules, out.DenyRule)
		}
		return inlinehook.Deny(out.Deny)
	}
	if out.RequiredFailed() {
		return inlinehook.Deny(e.cfg.FailureSummary)
	}
	if dbg != nil {
		for _, a := range out.Actions {
			if !slices.Contains(dbg.rules, a.Rule) {
				dbg.rules = append(dbg.rules, a.Rule)
			}
		}
	}
	return e.commands(ctx, req, out.Actions, trace)
}

// lookupResult names what a lookup found.
func lookupResult(lt *LookupTrace, err error) string {
	switch {
	case err != nil:
		return LookupFailed
	case lt.Key == "":
		return LookupSkipped
	case lt.Stale:
		return LookupStale
	case lt.Found:
		return LookupFound
	}
	return LookupNotFound
}

// debugNotes collect a call's names for debugContext, in arrays on the
// call's stack for the usual few.
type debugNotes struct {
	lookups, rules       []string
	lookupsBuf, rulesBuf [4]string
}

// lookupResults are the results a lookup may have, in the order of
// Engine.lookupNotes.
func lookupResults() [5]string {
	return [5]string{LookupFound, LookupNotFound, LookupStale, LookupFailed, LookupSkipped}
}

// lookupNote is "name=result" of lookup i, made once per engine.
func (e *Engine) lookupNote(i int, result string) string {
	for j, r := range lookupResults() {
		if r == result {
			return e.lookupNotes[i][j]
		}
	}
	return e.lookups[i].Name + "=" + result
}

// debugContext is the call's debugContext. The usual one-lookup, one-rule
// answer costs the map alone: single notes are boxed once per engine.
func (e *Engine) debugContext(d *debugNotes) map[string]any {
	value := func(notes []string) any {
		if len(notes) == 1 {
			if v, ok := e.boxed.Load(notes[0]); ok {
				return v
			}
			var v any = notes[0]
			if e.boxedCount.Add(1) <= maxBoxed {
				e.boxed.Store(notes[0], v)
			}
			return v
		}
		return strings.Join(notes, ",")
	}
	sel := e.cfg.DebugContext
	m := make(map[string]any, 2)
	if sel.Lookups && len(d.lookups) > 0 {
		m["lookups"] = value(d.lookups)
	}
	if sel.Rules && len(d.rules) > 0 {
		m["rules"] = value(d.rules)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// maxBoxed bounds the boxed notes an engine keeps: lookup notes and rule
// names are few, so this is only a guard.
const maxBoxed = 1024

// call is one hook call's lookups. Its budget starts with the call, but its
// context and timers are made only when a lookup needs the store: with the
// cache warm, most calls need none.
type call struct {
	context.Context // the request's
	e               *Engine
	start           time.Time
	budget          context.Context // nil until a store call needs it
	cancel          context.CancelFunc
}

// budgeted returns the call's context bounded by the budget, which starts
// with the first lookup the cache cannot answer: the microseconds before
// are not worth a clock read on every call.
func (c *call) budgeted() context.Context {
	if c.budget == nil {
		c.start = time.Now()
		c.budget, c.cancel = context.WithDeadline(c.Context, c.start.Add(c.e.cfg.Budget))
	}
	return c.budget
}

func (c *call) done() {
	if c.cancel != nil {
		c.cancel()
	}
}

// lookup runs lookup i and binds what it found. The error never carries the
// key, which is personal data.
func (c *call) lookup(i int, in *rules.Inputs, lt *LookupTrace) error {
	e := c.e
	key, err := e.cfg.Program.LookupKey(i, in)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if key == "" {
		return nil
	}
	lt.Key = key
	rec, hit := Record{}, false
	if p, ok := e.cfg.Finder.(Peeker); ok {
		rec, hit = p.Peek(key)
	}
	if !hit {
		ctx := c.budgeted()
		if err := ctx.Err(); err != nil {
			return errors.New("the hook's budget is spent")
		}
		sctx, cancel := context.WithTimeout(ctx, e.cfg.StoreTimeout)
		defer cancel()
		if rec, err = e.cfg.Finder.Find(sctx, key); err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(sctx.Err(), context.DeadlineExceeded) {
				return errors.New("the store did not answer in time")
			}
			return errors.New("the store failed")
		}
	}
	lt.Found, lt.Stale = rec.Found, rec.Stale
	if rec.Stale {
		e.cfg.Logger.LogAttrs(c, slog.LevelWarn, "stale record served", slog.String("lookup", lt.Name))
	}
	if rec.Found {
		in.SetRecord(i, rec.Attributes)
	}
	return nil
}

// inputs computes the inputs the rules read, on demand and once per call:
// several rules reading query must not parse the URL each.
type inputs struct {
	req                            *inlinehook.TokenRequest
	now                            func() time.Time
	scopesDone, queryDone, nowDone bool
	scopes                         []string
	query                          map[string]string
	at                             time.Time
}

// Resolve implements rules.Resolver.
func (in *inputs) Resolve(name string) (any, bool) {
	switch name {
	case InputLogin:
		return in.req.Login(), true
	case InputClientID:
		return in.req.ClientID(), true
	case InputGrantType:
		return grantType(in.req), true
	case InputScopes:
		if !in.scopesDone {
			in.scopes, in.scopesDone = scopes(in.req), true
		}
		return in.scopes, true
	case InputQuery:
		if !in.queryDone {
			in.query, in.queryDone = query(in.req), true
		}
		return in.query, true
	case InputNow:
		if !in.nowDone {
			in.at, in.nowDone = in.now(), true // one instant for every rule
		}
		return in.at, true
	}
	return nil, false
}

// grantType is the request's grant type, with Okta's empty one for
// /authorize requests named after the response type.
func grantType(req *inlinehook.TokenRequest) string {
	if g := req.GrantType(); g != "" {
		return g
	}
	if p := req.Data.Context.Protocol; p != nil && p.Request != nil && p.Request.ResponseType != "" {
		if slices.Contains(strings.Fields(p.Request.ResponseType), "code") {
			return "authorization_code"
		}
		return "implicit"
	}
	return ""
}

// scopes are the access token's granted scopes, else the requested ones.
func scopes(req *inlinehook.TokenRequest) []string {
	if a := req.Data.Access; a != nil && len(a.Scopes) > 0 {
		out := make([]string, 0, len(a.Scopes))
		for name := range a.Scopes {
			out = append(out, name)
		}
		slices.Sort(out)
		return out
	}
	if p := req.Data.Context.Protocol; p != nil && p.Request != nil {
		return strings.Fields(p.Request.Scope)
	}
	return []string{}
}

// query is the first value of each query parameter of the URL that made
// Okta mint the tokens (KB-params: extra parameters reach the hook).
func query(req *inlinehook.TokenRequest) map[string]string {
	out := map[string]string{}
	r := req.Data.Context.Request
	if r == nil || r.URL == nil {
		return out
	}
	u, err := url.Parse(r.URL.Value)
	if err != nil {
		return out
	}
	for k, v := range u.Query() {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// commands turns the actions into Okta's commands, for the tokens being
// minted only, and with each op in a form Okta applies: a replace or remove
// of a claim the token lacks would make Okta discard the whole answer, so
// it is left out (and logged) instead.
func (e *Engine) commands(ctx context.Context, req *inlinehook.TokenRequest, actions []rules.Action, trace *Trace) *inlinehook.Response {
	var idOps, accessOps []inlinehook.Operation
	appends := map[appendKey][]any{}
	var appendOrder []appendKey
	for _, a := range actions {
		tok, ops := req.Data.Identity, &idOps
		if a.Token == rules.AccessToken {
			tok, ops = req.Data.Access, &accessOps
		}
		if tok == nil {
			continue // not minted: a rule for both tokens meets an ID-less grant
		}
		switch a.Op {
		case rules.OpAdd:
			*ops = append(*ops, inlinehook.AddClaim(a.Claim, a.Value))
		case rules.OpReplace, rules.OpRemove:
			if _, ok := tok.Claims[a.Claim]; !ok {
				e.skip(ctx, req, a, "the token has no such claim", trace)
				continue
			}
			if a.Op == rules.OpReplace {
				*ops = append(*ops, inlinehook.ReplaceClaim(a.Claim, a.Value))
			} else {
				*ops = append(*ops, inlinehook.RemoveClaim(a.Claim))
			}
		case rules.OpAppend:
			k := appendKey{a.Token, a.Claim}
			if _, seen := appends[k]; !seen {
				appendOrder = append(appendOrder, k)
			}
			appends[k] = append(appends[k], a.Value.([]any)...)
		case rules.OpLifetime:
			*ops = append(*ops, inlinehook.SetLifetime(int(a.Value.(int64))))
		}
	}
	for _, k := range appendOrder {
		tok, ops := req.Data.Identity, &idOps
		if k.token == rules.AccessToken {
			tok, ops = req.Data.Access, &accessOps
		}
		values := appends[k]
		switch existing, ok := tok.Claims[k.claim]; {
		case !ok:
			*ops = append(*ops, inlinehook.AddClaim(k.claim, values))
		case isList(existing):
			for _, v := range values {
				*ops = append(*ops, inlinehook.Add(inlinehook.ClaimPath(k.claim, "-"), v))
			}
		default:
			e.skip(ctx, req, rules.Action{Rule: "append", Token: k.token, Claim: k.claim}, "the claim is not an array", trace)
		}
	}
	resp := &inlinehook.Response{}
	if len(idOps) > 0 {
		resp.Commands = append(resp.Commands, inlinehook.PatchIdentity(idOps...))
	}
	if len(accessOps) > 0 {
		resp.Commands = append(resp.Commands, inlinehook.PatchAccess(accessOps...))
	}
	return resp
}

type appendKey struct {
	token rules.Token
	claim string
}

func isList(v any) bool {
	_, ok := v.([]any)
	return ok
}

func (e *Engine) skip(ctx context.Context, req *inlinehook.TokenRequest, a rules.Action, why string, trace *Trace) {
	if trace != nil {
		trace.Skipped = append(trace.Skipped, fmt.Sprintf("rule %q: %s %s of the %s token: %s", a.Rule, a.Op, a.Claim, a.Token, why))
	}
	e.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "op left out", slog.String("event_id", req.EventID),
		slog.String("rule", a.Rule), slog.String("token", a.Token.String()), slog.String("claim", a.Claim),
		slog.String("reason", why))
}

// ClaimNames returns the names of the claims a response sets or removes, per
// token, for logs: names only, never values.
func ClaimNames(resp *inlinehook.Response) []string {
	if resp == nil {
		return nil
	}
	var names []string
	for _, c := range resp.Commands {
		prefix := "id:"
		if c.Type == inlinehook.AccessPatch {
			prefix = "access:"
		}
		for _, op := range c.Value {
			names = append(names, prefix+op.Op+":"+strings.TrimPrefix(op.Path, "/claims/"))
		}
	}
	return names
}
