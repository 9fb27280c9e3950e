package rules

import (
	"errors"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
)

// RequestVar is the name of the input that holds the whole request.
const RequestVar = "request"

// DefaultMaxCost bounds the cost of one expression, estimated at load and
// counted at run time, when [Env.MaxCost] is zero. In CEL's units (about one
// per elementary operation, a few nanoseconds each) it allows a walk over a
// list inside a walk over another, and refuses what could take longer than
// a few milliseconds of Okta's 3-second budget. Kubernetes uses the same
// bound per expression.
const DefaultMaxCost = 1_000_000

// assumedSize is the size the cost estimate assumes for a string (bytes),
// list or map (elements) whose size CEL cannot know at load time: a store
// attribute, a claim, a scope list. Okta's request is a few KB in all.
const assumedSize = 256

// Env is what rules may read and what they may write: the inputs the caller
// binds at evaluation, and Okta's reserved claims.
type Env struct {
	// Request is the Go type of the request input, a struct (not a pointer)
	// whose exported fields CEL reads by their json tag names.
	Request reflect.Type
	// Inputs are the other inputs, by name, with their CEL types (login
	// cel.StringType, now cel.TimestampType, ...). The caller binds each
	// one when it evaluates.
	Inputs map[string]*cel.Type
	// Reserved reports whether Okta refuses writes of the top-level claim
	// in the token t (IDToken or AccessToken). Nil reserves nothing.
	Reserved func(t Token, claim string) bool
	// MaxCost bounds each expression; zero means DefaultMaxCost.
	MaxCost uint64
}

// Program is a compiled rule set. It is immutable and safe for concurrent
// use.
type Program struct {
	lookups []lookup
	rules   []rule
	names   map[string]int // lookup name → index in lookups
	reads   Reads
	maxCost uint64
}

// Lookup describes one compiled lookup.
type Lookup struct {
	Name     string
	Required bool
}

type lookup struct {
	Lookup
	key cel.Program
}

type ruleKind uint8

const (
	claimRule ruleKind = iota
	lifetimeRule
	denyRule
)

type rule struct {
	name       string
	kind       ruleKind
	tokens     Token
	op         Op
	claim      string
	when       cel.Program // nil: always
	value      cel.Program // nil for remove and deny
	deny       string
	required   bool
	precedence int
	ordered    bool  // precedence was set
	lookups    []int // the lookups its expressions read
}

// Write is a claim (or lifetime) of a token that some rule may write.
type Write struct {
	Token Token // IDToken or AccessToken
	Claim string
	Op    Op
}

// identRE is a CEL identifier (and not one of CEL's reserved words, which
// are checked separately).
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// celReserved are CEL's reserved words, which cannot name a variable.
var celReserved = []string{"true", "false", "null", "in", "as", "break", "const", "continue", "else",
	"for", "function", "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}

// Compile type-checks spec against env and returns the program, or an error
// listing every problem found (errors.Join of one error each, naming the
// rule or lookup).
func Compile(spec Spec, env Env) (*Program, error) {
	c, err := newCompiler(spec, env)
	if err != nil {
		return nil, err
	}
	p := &Program{names: map[string]int{}, maxCost: c.maxCost}
	for i, ls := range spec.Lookups {
		if l, ok := c.lookup(i, ls); ok {
			p.names[l.Name] = len(p.lookups)
			p.lookups = append(p.lookups, l)
		}
	}
	c.lookupNames = p.names
	for i, rs := range spec.Rules {
		if r, ok := c.rule(i, rs); ok {
			p.rules = append(p.rules, r)
		}
	}
	c.checkConflicts(p.rules)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	p.reads = c.reads.result(func(name string) bool {
		_, isLookup := p.names[name]
		_, isInput := env.Inputs[name]
		return isLookup || isInput // not a comprehension's variable
	})
	return p, nil
}

type compiler struct {
	env     *cel.Env
	spec    Env
	maxCost uint64
	errs    []error
	reads   readSet
	// lookupNames are the compiled lookups, by name, once they are.
	lookupNames map[string]int
}

func newCompiler(spec Spec, env Env) (*compiler, error) {
	if env.Request == nil || env.Request.Kind() != reflect.Struct {
		return nil, errors.New("rules: Env.Request must be a struct type")
	}
	c := &compiler{spec: env, maxCost: env.MaxCost}
	if c.maxCost == 0 {
		c.maxCost = DefaultMaxCost
	}
	opts := []cel.EnvOption{
		ext.NativeTypes(env.Request, ext.ParseStructTag("json")),
		cel.Variable(RequestVar, cel.ObjectType(nativeTypeName(env.Request))),
		cel.OptionalTypes(),
		ext.Strings(), ext.Lists(), ext.Sets(), ext.Math(),
	}
	declared := map[string]string{RequestVar: "the request"}
	for _, name := range sortedKeys(env.Inputs) {
		opts = append(opts, cel.Variable(name, env.Inputs[name]))
		declared[name] = "an input"
	}
	for i, l := range spec.Lookups {
		what := fmt.Sprintf("lookup %d", i+1)
		switch {
		case !identRE.MatchString(l.Name) || slices.Contains(celReserved, l.Name):
			c.errs = append(c.errs, fmt.Errorf("%s: name %q is not an identifier (letters, digits, _; not a CEL keyword)", what, l.Name))
			continue
		case declared[l.Name] != "":
			c.errs = append(c.errs, fmt.Errorf("lookup %q: the name is taken by %s", l.Name, declared[l.Name]))
			continue
		}
		declared[l.Name] = "another lookup"
		// A record is a JSON object: a map of dynamic values. An empty map
		// stands for "no record", so has(user.patientId) reads naturally.
		opts = append(opts, cel.Variable(l.Name, cel.MapType(cel.StringType, cel.DynType)))
	}
	e, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	c.env = e
	return c, nil
}

// nativeTypeName is the CEL name ext.NativeTypes gives a Go struct type.
func nativeTypeName(t reflect.Type) string {
	return path.Base(t.PkgPath()) + "." + t.Name()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (c *compiler) fail(what string, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", what, fmt.Sprintf(format, args...)))
}

// expr compiles src, checks its type is one of want (none: any type) and
// its cost, and returns its program and checked AST.
func (c *compiler) expr(what, field, src string, want ...*cel.Type) (cel.Program, *cel.Ast, bool) {
	ast, iss := c.env.Compile(src)
	if iss.Err() != nil {
		c.fail(what, "%s: %v", field, iss.Err())
		return nil, nil, false
	}
	if len(want) > 0 {
		out := ast.OutputType()
		ok := out.IsExactType(types.DynType)
		for _, w := range want {
			ok = ok || out.IsAssignableType(w)
		}
		if !ok {
			names := make([]string, len(want))
			for i, w := range want {
				names[i] = w.String()
			}
			c.fail(what, "%s: the expression is of type %s, want %s", field, out, strings.Join(names, " or "))
			return nil, nil, false
		}
	}
	est, err := c.env.EstimateCost(ast, costEstimator{size: assumedSize})
	if err != nil {
		c.fail(what, "%s: cannot estimate the cost: %v", field, err)
		return nil, nil, false
	}
	if est.Max > c.maxCost {
		c.fail(what, "%s: the expression may cost up to %d, above the limit of %d (assuming strings, lists and maps of up to %d elements)",
			field, est.Max, c.maxCost, assumedSize)
		return nil, nil, false
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	// Counting the cost at run time doubles the time of a small
	// expression, so it is done only for expressions with a comprehension
	// (exists, all, map, filter): without one, a CEL expression's cost is
	// at most linear in the size of its inputs — a request capped at
	// server.max_body_bytes, a store record — and the estimate with the
	// assumed sizes stands for it.
	if hasComprehension(ast) {
		opts = append(opts, cel.CostLimit(c.maxCost))
	}
	prg, err := c.env.Program(ast, opts...)
	if err != nil {
		c.fail(what, "%s: %v", field, err)
		return nil, nil, false
	}
	c.reads.add(ast)
	return prg, ast, true
}

// hasComprehension reports whether the checked expression loops.
func hasComprehension(ast *cel.Ast) bool {
	root := celast.NavigateAST(ast.NativeRep())
	return len(celast.MatchDescendants(root, celast.KindMatcher(celast.ComprehensionKind))) > 0
}

// lookupsRead returns the indexes of the lookups the checked expression
// reads, among names.
func lookupsRead(ast *cel.Ast, names map[string]int) []int {
	var out []int
	root := celast.NavigateAST(ast.NativeRep())
	for _, id := range celast.MatchDescendants(root, celast.KindMatcher(celast.IdentKind)) {
		if i, ok := names[id.AsIdent()]; ok && !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

func (c *compiler) lookup(i int, l LookupSpec) (lookup, bool) {
	what := fmt.Sprintf("lookup %q", l.Name)
	if !identRE.MatchString(l.Name) {
		return lookup{}, false // reported by newCompiler
	}
	if strings.TrimSpace(l.Key) == "" {
		c.fail(what, "key: an expression is required (e.g. login)")
		return lookup{}, false
	}
	prg, _, ok := c.expr(what, "key", l.Key, cel.StringType, cel.NullType, cel.OptionalType(cel.StringType))
	return lookup{Lookup: Lookup{Name: l.Name, Required: l.Required}, key: prg}, ok
}

func (c *compiler) rule(i int, rs RuleSpec) (rule, bool) {
	name := rs.Name
	if name == "" {
		name = fmt.Sprintf("rule %d", i+1)
	}
	what := fmt.Sprintf("rule %q", name)
	r := rule{name: name, required: rs.Required}
	if rs.Precedence != nil {
		r.precedence, r.ordered = *rs.Precedence, true
	}
	ok := true
	kinds := 0
	for _, set := range []bool{rs.Claim != "", strings.TrimSpace(rs.Lifetime) != "", rs.Deny != ""} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds != 1:
		c.fail(what, "give exactly one of claim, lifetime and deny")
		return r, false
	case rs.Claim != "":
		r.kind = claimRule
	case rs.Deny != "":
		r.kind = denyRule
	default:
		r.kind = lifetimeRule
	}

	if r.kind == denyRule {
		if rs.Token != "" || rs.Op != "" || rs.Value != "" || rs.Precedence != nil {
			c.fail(what, "a deny rule takes only when, deny and required")
			ok = false
		}
		if strings.TrimSpace(rs.When) == "" {
			c.fail(what, "a deny rule needs a when condition (without one it denies every token)")
			ok = false
		}
		if len(rs.Deny) > maxSummary {
			c.fail(what, "deny: the summary is longer than %d bytes", maxSummary)
			ok = false
		}
		r.deny = rs.Deny
	} else {
		switch rs.Token {
		case "", "id":
			r.tokens = IDToken
		case "access":
			r.tokens = AccessToken
		case "both":
			r.tokens = BothTokens
		default:
			c.fail(what, "token %q: want id, access or both", rs.Token)
			ok = false
		}
	}

	if strings.TrimSpace(rs.When) != "" {
		prg, ast, wok := c.expr(what, "when", rs.When, cel.BoolType)
		r.when, ok = prg, ok && wok
		if wok {
			r.lookups = lookupsRead(ast, c.lookupNames)
		}
	}

	switch r.kind {
	case claimRule:
		ok = c.claimRule(what, rs, &r) && ok
	case lifetimeRule:
		r.op = OpLifetime
		if rs.Op != "" && rs.Op != "replace" {
			c.fail(what, "op %q: a lifetime can only be replaced", rs.Op)
			ok = false
		}
		if rs.Value != "" {
			c.fail(what, "a lifetime rule takes its seconds in lifetime, not value")
			ok = false
		}
		prg, ast, lok := c.expr(what, "lifetime", rs.Lifetime, cel.IntType)
		r.value, ok = prg, ok && lok
		if lok {
			r.lookups = appendNew(r.lookups, lookupsRead(ast, c.lookupNames))
			if n, isConst := constInt(ast); isConst && (n < MinLifetime || n > MaxLifetime) {
				c.fail(what, "lifetime %d s: Okta accepts %d to %d", n, MinLifetime, MaxLifetime)
				ok = false
			}
		}
	}
	return r, ok
}

// maxSummary bounds a deny rule's errorSummary; Okta shows it to users.
const maxSummary = 1024

func (c *compiler) claimRule(what string, rs RuleSpec, r *rule) bool {
	ok := true
	r.claim = rs.Claim
	switch Op(rs.Op) {
	case "", OpAdd:
		r.op = OpAdd
	case OpReplace, OpRemove, OpAppend:
		r.op = Op(rs.Op)
	default:
		c.fail(what, "op %q: want add, replace, remove or append", rs.Op)
		ok = false
	}
	if c.spec.Reserved != nil {
		for _, t := range []Token{IDToken, AccessToken} {
			if r.tokens&t != 0 && c.spec.Reserved(t, rs.Claim) {
				c.fail(what, "claim %q is reserved by Okta in the %s token: Okta would discard every command of the answer", rs.Claim, t)
				ok = false
			}
		}
	}
	switch {
	case r.op == OpRemove && rs.Value != "":
		c.fail(what, "a remove rule takes no value")
		ok = false
	case r.op != OpRemove && strings.TrimSpace(rs.Value) == "":
		c.fail(what, "value: an expression is required")
		ok = false
	case r.op != OpRemove:
		prg, ast, vok := c.expr(what, "value", rs.Value)
		r.value, ok = prg, ok && vok
		if vok {
			r.lookups = appendNew(r.lookups, lookupsRead(ast, c.lookupNames))
		}
	}
	return ok
}

func appendNew(to, from []int) []int {
	for _, i := range from {
		if !slices.Contains(to, i) {
			to = append(to, i)
		}
	}
	return to
}

// constInt returns the value of an int literal expression.
func constInt(ast *cel.Ast) (int64, bool) {
	e := ast.NativeRep().Expr()
	if e.Kind() != celast.LiteralKind {
		return 0, false
	}
	n, ok := e.AsLiteral().(types.Int)
	return int64(n), ok
}

// checkConflicts refuses two rules writing one claim (or lifetime) of one
// token unless both set distinct precedences. Appends to one array claim
// do not conflict with each other: they add up, in rule order.
func (c *compiler) checkConflicts(rs []rule) {
	type target struct {
		token Token
		claim string // "" for the lifetime
	}
	writers := map[target][]int{}
	var order []target
	for i, r := range rs {
		if r.kind == denyRule {
			continue
		}
		for _, t := range []Token{IDToken, AccessToken} {
			if r.tokens&t == 0 {
				continue
			}
			k := target{t, r.claim}
			if _, seen := writers[k]; !seen {
				order = append(order, k)
			}
			writers[k] = append(writers[k], i)
		}
	}
	for _, k := range order {
		idx := writers[k]
		if len(idx) < 2 {
			continue
		}
		appends := 0
		for _, i := range idx {
			if rs[i].op == OpAppend {
				appends++
			}
		}
		if appends == len(idx) {
			continue
		}
		what := fmt.Sprintf("claim %q of the %s token", k.claim, k.token)
		if k.claim == "" {
			what = fmt.Sprintf("the %s token's lifetime", k.token)
		}
		names := make([]string, len(idx))
		for j, i := range idx {
			names[j] = strconv.Quote(rs[i].name)
		}
		if appends > 0 {
			c.errs = append(c.errs, fmt.Errorf("rules %s all write %s: append does not mix with other ops on one claim", strings.Join(names, ", "), what))
			continue
		}
		seen := map[int]string{}
		problem := ""
		for _, i := range idx {
			spec := rs[i]
			if !spec.ordered {
				problem = "give each a distinct precedence (the highest that fires wins)"
				break
			}
			if other, dup := seen[spec.precedence]; dup {
				problem = fmt.Sprintf("%q and %q have the same precedence %d", other, spec.name, spec.precedence)
				break
			}
			seen[spec.precedence] = spec.name
		}
		if problem != "" {
			c.errs = append(c.errs, fmt.Errorf("rules %s all write %s: %s", strings.Join(names, ", "), what, problem))
		}
	}
}
