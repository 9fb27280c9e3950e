package rules

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
)

// Inputs binds a program's inputs for one evaluation: the request, the
// caller's other inputs, and the lookups' records. Make one per hook call
// with [Program.NewInputs]; it is not safe for concurrent use.
type Inputs struct {
	p       *Program
	request any
	resolve Resolver
	records []map[string]any
	failed  []bool // lookups whose store call failed
}

var _ interpreter.Activation = (*Inputs)(nil)

// emptyRecord stands for a lookup that found nothing. It is never written.
var emptyRecord = map[string]any{}

// Resolver returns the value of each of Env.Inputs by name, computed on
// demand so that inputs no rule reads cost nothing.
type Resolver interface {
	Resolve(name string) (any, bool)
}

// ResolverFunc is a function as a [Resolver].
type ResolverFunc func(name string) (any, bool)

// Resolve implements [Resolver].
func (f ResolverFunc) Resolve(name string) (any, bool) { return f(name) }

// NewInputs returns the inputs of one evaluation: request (a value, or a
// pointer to one, of Env.Request's type) and resolve for the others. Every
// lookup starts with no record.
func (p *Program) NewInputs(request any, resolve Resolver) *Inputs {
	n := len(p.lookups)
	return &Inputs{p: p, request: request, resolve: resolve, records: make([]map[string]any, n), failed: make([]bool, n)}
}

// FailRecord marks lookup i as failed: the store could not say whether a
// record exists. Rules that read it are not evaluated but reported as
// failed, so that no claim is computed from data that is missing rather
// than absent (user.?tier.orValue("basic") must not say "basic" because
// the store is down).
func (in *Inputs) FailRecord(i int) { in.failed[i] = true }

// SetRecord binds the attributes of the record lookup i found. The program
// only reads them.
func (in *Inputs) SetRecord(i int, attributes map[string]any) { in.records[i] = attributes }

// ResolveName implements interpreter.Activation.
func (in *Inputs) ResolveName(name string) (any, bool) {
	if name == RequestVar {
		return in.request, true
	}
	if i, ok := in.p.names[name]; ok {
		if r := in.records[i]; r != nil {
			return r, true
		}
		return emptyRecord, true
	}
	if in.resolve != nil {
		return in.resolve.Resolve(name)
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (in *Inputs) Parent() interpreter.Activation { return nil }

// Lookups returns the program's lookups, in configuration order.
func (p *Program) Lookups() []Lookup {
	out := make([]Lookup, len(p.lookups))
	for i, l := range p.lookups {
		out[i] = l.Lookup
	}
	return out
}

// LookupKey evaluates lookup i's key: "" means nothing to look up.
func (p *Program) LookupKey(i int, in *Inputs) (string, error) {
	v, _, err := p.lookups[i].key.Eval(in)
	if err != nil {
		return "", evalError(err)
	}
	v = unwrapOptional(v)
	switch x := v.(type) {
	case nil, types.Null:
		return "", nil
	case types.String:
		return string(x), nil
	}
	return "", fmt.Errorf("the key is of type %s, want string", v.Type())
}

// Action is one change a fired rule asks for, on one token.
type Action struct {
	Rule  string
	Token Token // IDToken or AccessToken
	Op    Op
	// Claim is the claim written ("" for OpLifetime).
	Claim string
	// Value is the claim's value as JSON (string, int64, float64, bool,
	// []any, map[string]any; for OpAppend always a []any of the elements
	// to append), or the lifetime in seconds (int64). Nil for OpRemove.
	Value any
}

// Failure is a rule whose evaluation failed. Err never carries a value
// from the request or the store, only what went wrong and where.
type Failure struct {
	Rule     string
	Required bool
	Err      error
}

// Outcome is what a rule set decided for one request.
type Outcome struct {
	// Actions are the changes of the rules that fired, in rule order, with
	// precedence applied (a lower-precedence write of the same claim is
	// gone).
	Actions []Action
	// Deny is the errorSummary of the first deny rule that fired; empty
	// when none did. A denial ends the evaluation.
	Deny     string
	DenyRule string
	// Failed lists the rules whose evaluation failed.
	Failed []Failure
}

// RequiredFailed reports whether a required rule failed.
func (o *Outcome) RequiredFailed() bool {
	for _, f := range o.Failed {
		if f.Required {
			return true
		}
	}
	return false
}

// Eval runs the rules in order on in.
func (p *Program) Eval(in *Inputs) Outcome {
	var out Outcome
	for i := range p.rules {
		r := &p.rules[i]
		if l := in.failedLookup(r); l >= 0 {
			out.Failed = append(out.Failed, Failure{r.name, r.required, fmt.Errorf("lookup %q failed", p.lookups[l].Name)})
			continue
		}
		if r.when != nil {
			v, _, err := r.when.Eval(in)
			if err != nil {
				out.Failed = append(out.Failed, Failure{r.name, r.required, fmt.Errorf("when: %w", evalError(err))})
				continue
			}
			if v != types.True {
				continue
			}
		}
		switch r.kind {
		case denyRule:
			out.Deny, out.DenyRule = r.deny, r.name
			return out
		case lifetimeRule:
			n, err := evalLifetime(r, in)
			if err != nil {
				out.Failed = append(out.Failed, Failure{r.name, r.required, err})
				continue
			}
			out.add(p.rules, i, r, n)
		case claimRule:
			if r.op == OpRemove {
				out.add(p.rules, i, r, nil)
				continue
			}
			v, _, err := r.value.Eval(in)
			if err != nil {
				out.Failed = append(out.Failed, Failure{r.name, r.required, fmt.Errorf("value: %w", evalError(err))})
				continue
			}
			v = unwrapOptional(v)
			if v == nil || v == types.NullValue {
				continue // absent: the claim is left out
			}
			val, err := toJSON(v, 0)
			if err != nil {
				out.Failed = append(out.Failed, Failure{r.name, r.required, fmt.Errorf("value: %w", err)})
				continue
			}
			if r.op == OpAppend {
				if list, isList := val.([]any); isList {
					if len(list) == 0 {
						continue
					}
				} else {
					val = []any{val}
				}
			}
			out.add(p.rules, i, r, val)
		}
	}
	return out
}

// failedLookup returns the index of a failed lookup r reads, or -1.
func (in *Inputs) failedLookup(r *rule) int {
	for _, l := range r.lookups {
		if in.failed[l] {
			return l
		}
	}
	return -1
}

func evalLifetime(r *rule, in *Inputs) (int64, error) {
	v, _, err := r.value.Eval(in)
	if err != nil {
		return 0, fmt.Errorf("lifetime: %w", evalError(err))
	}
	n, ok := unwrapOptional(v).(types.Int)
	if !ok {
		return 0, fmt.Errorf("lifetime: the expression gave a %s, want int", v.Type())
	}
	if n < MinLifetime || n > MaxLifetime {
		return 0, fmt.Errorf("lifetime: %d s is outside the %d to %d Okta accepts", int64(n), MinLifetime, MaxLifetime)
	}
	return int64(n), nil
}

// add appends r's action for each of its tokens, applying precedence
// against the actions already there.
func (o *Outcome) add(rules []rule, ri int, r *rule, value any) {
	for _, t := range []Token{IDToken, AccessToken} {
		if r.tokens&t == 0 {
			continue
		}
		a := Action{Rule: r.name, Token: t, Op: r.op, Claim: r.claim, Value: value}
		if r.op != OpAppend {
			if j := o.writer(t, r.claim); j >= 0 {
				if precedenceOf(rules, o.Actions[j].Rule) >= r.precedence {
					continue
				}
				o.Actions = append(o.Actions[:j], o.Actions[j+1:]...)
			}
		}
		o.Actions = append(o.Actions, a)
	}
}

// writer returns the index of the non-append action on t's claim, or -1.
func (o *Outcome) writer(t Token, claim string) int {
	for j, a := range o.Actions {
		if a.Token == t && a.Claim == claim && a.Op != OpAppend {
			return j
		}
	}
	return -1
}

func precedenceOf(rules []rule, name string) int {
	for i := range rules {
		if rules[i].name == name {
			return rules[i].precedence
		}
	}
	return 0
}

func unwrapOptional(v ref.Val) ref.Val {
	if o, ok := v.(*types.Optional); ok {
		if !o.HasValue() {
			return nil
		}
		return o.GetValue()
	}
	return v
}

// maxValueDepth bounds how deep a claim value may nest.
const maxValueDepth = 32

// toJSON converts a CEL value to the JSON value of a claim.
func toJSON(v ref.Val, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("the value nests deeper than %d levels", maxValueDepth)
	}
	switch x := v.(type) {
	case types.String:
		return string(x), nil
	case types.Bool:
		return bool(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return float64(x), nil
	case types.Double:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errors.New("the value is not a finite number")
		}
		return f, nil
	case types.Null:
		return nil, nil
	case types.Timestamp:
		return x.Time.UTC().Format(time.RFC3339Nano), nil
	case types.Duration:
		return x.Duration.String(), nil
	case *types.Optional:
		if !x.HasValue() {
			return nil, nil
		}
		return toJSON(x.GetValue(), depth+1)
	}
	switch x := v.(type) {
	case traits.Lister:
		n, ok := x.Size().(types.Int)
		if !ok {
			return nil, errors.New("a list of unknown size")
		}
		out := make([]any, 0, int(n))
		for it := x.Iterator(); it.HasNext() == types.True; {
			e, err := toJSON(it.Next(), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	case traits.Mapper:
		out := map[string]any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("a map key of type %s: claim objects have string keys", k.Type())
			}
			e, err := toJSON(x.Get(k), depth+1)
			if err != nil {
				return nil, err
			}
			out[string(ks)] = e
		}
		return out, nil
	}
	if types.IsError(v) {
		return nil, evalError(v.(*types.Err))
	}
	return nil, fmt.Errorf("a value of type %s cannot be a claim", v.Type())
}

// evalError reduces a CEL evaluation error to what went wrong, without the
// values involved: CEL messages can quote them (a failed conversion quotes
// its string), and claim values and store data never reach a log.
func evalError(err error) error {
	msg := err.Error()
	for _, known := range []string{"no such key", "no such attribute", "no such overload", "division by zero",
		"modulus by zero", "actual cost limit exceeded", "operation cancelled", "index out of range",
		"integer overflow", "return error overflow", "unsupported", "type conversion error"} {
		// Not even a missing key's name: a computed key can be a value.
		if strings.Contains(msg, known) {
			return errors.New(known)
		}
	}
	return errors.New("evaluation error")
}
