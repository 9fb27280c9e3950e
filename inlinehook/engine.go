package inlinehook

import (
	"errors"
	"maps"
	"math"
	"strconv"
)

// This file is the one place that knows how Okta evaluates a response.
// Validate, Prune and Apply all run it.
//
// The engine walks the commands in order and simulates every operation on a
// copy of the token it patches, so an operation is judged against the claims
// as the operations before it left them: an earlier add makes a later
// replace inside the new claim valid, an earlier remove makes a later replace
// of the same claim fail. An operation that violates a rule is reported and
// not simulated, so later operations are judged as if it were absent, which
// is exactly what they meet once Prune has dropped it.
//
// Copy-on-write keeps validation cheap: changed top-level claims live in an
// overlay over the request's claims, and a change inside a claim copies only
// the objects and arrays on the path to it. Nothing reachable from the
// request or the response is ever modified.

// tokenState is the simulated state of one token being minted: the
// request's claims, never modified, under an overlay of the changes made to
// top-level claims. The overlay keeps validation from copying every claim
// of the token to judge one or two operations.
type tokenState struct {
	present  bool
	base     map[string]any
	over     map[string]slot
	lifetime int
}

// slot is a top-level claim as the operations so far left it.
type slot struct {
	value   any
	removed bool
}

func newTokenState(t *Token) tokenState {
	if t == nil {
		return tokenState{}
	}
	return tokenState{present: true, base: t.Claims, lifetime: t.Token.Lifetime.Expiration}
}

// get returns the current value of a top-level claim.
func (t *tokenState) get(claim string) (any, bool) {
	if s, ok := t.over[claim]; ok {
		return s.value, !s.removed
	}
	v, ok := t.base[claim]
	return v, ok
}

// set changes (or, with removed, deletes) a top-level claim.
func (t *tokenState) set(claim string, value any, removed bool) {
	if t.over == nil {
		t.over = make(map[string]slot, 4)
	}
	t.over[claim] = slot{value: value, removed: removed}
}

// claims returns the current claims. The map is new, the values are shared.
func (t *tokenState) claims() map[string]any {
	m := make(map[string]any, len(t.base)+len(t.over))
	for k, v := range t.base {
		if _, changed := t.over[k]; !changed {
			m[k] = v
		}
	}
	for k, s := range t.over {
		if !s.removed {
			m[k] = s.value
		}
	}
	return m
}

// engine evaluates one response against one request. Callers keep it on
// their stack: var e engine; rules.evaluate(&e, req, resp).
type engine struct {
	rules      Rules
	identity   tokenState
	access     tokenState
	violations []Violation
}

// evaluate runs the rules over resp into e. A response with an error object
// is not evaluated: Okta denies the token and never looks at the commands.
func (r Rules) evaluate(e *engine, req *TokenRequest, resp *Response) {
	e.rules = r
	if req != nil {
		e.identity = newTokenState(req.Data.Identity)
		e.access = newTokenState(req.Data.Access)
	}
	if resp == nil || resp.Error != nil {
		return
	}
	for ci, c := range resp.Commands {
		var t *tokenState
		var missing string
		switch c.Type {
		case IdentityPatch:
			t, missing = &e.identity, ReasonIDTokenNotPresent
		case AccessPatch:
			t, missing = &e.access, ReasonAccessTokenNotPresent
		default:
			e.violations = append(e.violations, Violation{
				Command: ci, Op: -1, Type: c.Type, Reason: ReasonInvalidCommandType,
				Message: ReasonInvalidCommandType + "(type=" + c.Type + ")",
			})
			continue
		}
		if !t.present {
			e.violations = append(e.violations, Violation{
				Command: ci, Op: -1, Type: c.Type, Reason: missing, Message: missing,
			})
			continue
		}
		for oi := range c.Value {
			e.operation(ci, oi, c.Type, t, &c.Value[oi])
		}
	}
}

// report records a violation of operation oi of command ci.
func (e *engine) report(ci, oi int, cmdType string, op *Operation, reason string) {
	e.violations = append(e.violations, Violation{
		Command: ci, Op: oi, Type: cmdType, OpName: op.Op, Path: op.Path,
		Reason: reason, Message: reason + "(op=" + op.Op + ", path=" + op.Path + ")",
	})
}

// operation judges one operation and, when it is valid, simulates it.
func (e *engine) operation(ci, oi int, cmdType string, t *tokenState, op *Operation) {
	report := func(reason string) { e.report(ci, oi, cmdType, op, reason) }
	before := len(e.violations)

	switch op.Op {
	case OpAdd, OpReplace, OpRemove:
	default:
		report(ReasonInvalidOperation)
		return
	}

	// What Okta receives is the encoded value: judge that.
	val, valErr := normalize(op.Value)

	if op.Path == LifetimePath {
		if op.Op != OpReplace {
			report(ReasonLifetimeOp)
			return
		}
		if valErr != nil {
			report(ReasonInvalidValue)
			return
		}
		if val == nil {
			report(ReasonValueRequired)
			return
		}
		f, isNum := val.(float64)
		if !isNum || f != math.Trunc(f) {
			report(ReasonLifetimeNotInteger)
			return
		}
		if f < MinLifetime || f > MaxLifetime {
			report(ReasonLifetimeRange)
			return
		}
		t.lifetime = int(f)
		return
	}

	claim, inside, err := ParseClaimPath(op.Path)
	switch {
	case errors.Is(err, ErrEmptyClaimName):
		report(ReasonEmptyClaimName)
		return
	case errors.Is(err, ErrBadEscape):
		report(ReasonBadEscape)
		return
	case err != nil:
		report(ReasonInvalidPath)
		return
	}
	if e.rules.IsReserved(cmdType, claim) {
		report(ReasonReservedClaim)
	}
	switch {
	case valErr != nil:
		report(ReasonInvalidValue)
	case op.Op == OpRemove:
		if val != nil {
			report(ReasonValueNotNull)
		}
	case val == nil:
		report(ReasonValueRequired)
	}
	if len(e.violations) > before {
		return
	}

	current, exists := t.get(claim)
	if len(inside) == 0 {
		if op.Op != OpAdd && !exists {
			report(ReasonPathNotFound)
			return
		}
		t.set(claim, val, op.Op == OpRemove)
		return
	}
	if !exists {
		report(ReasonPathNotFound)
		return
	}
	patched, reason := patch(current, inside, op.Op, val)
	if reason != "" {
		report(reason)
		return
	}
	t.set(claim, patched, false)
}

// patch returns a copy of node with op applied at the path segs inside it,
// or the reason it cannot be applied. node itself is never modified: the
// objects and arrays along the path are copied.
func patch(node any, segs []string, op string, val any) (any, string) {
	c, ok := asContainer(node)
	if !ok {
		return nil, ReasonPathNotFound
	}
	seg, last := segs[0], len(segs) == 1
	switch c := c.(type) {
	case map[string]any:
		child, exists := c[seg]
		if !exists && (!last || op != OpAdd) {
			return nil, ReasonPathNotFound
		}
		var nv any
		if !last {
			var reason string
			if nv, reason = patch(child, segs[1:], op, val); reason != "" {
				return nil, reason
			}
		}
		m := maps.Clone(c)
		switch {
		case !last:
			m[seg] = nv
		case op == OpRemove:
			delete(m, seg)
		default:
			m[seg] = val
		}
		return m, ""

	case []any:
		if seg == "-" {
			// "-" names the element after the last: only add can use it.
			if !last || op != OpAdd {
				return nil, ReasonInvalidIndex
			}
			return append(append(make([]any, 0, len(c)+1), c...), val), ""
		}
		i, reason := parseIndex(seg)
		if reason != "" {
			return nil, reason
		}
		if i > len(c) || (i == len(c) && (!last || op != OpAdd)) {
			return nil, ReasonIndexOutOfBounds
		}
		if !last {
			nv, reason := patch(c[i], segs[1:], op, val)
			if reason != "" {
				return nil, reason
			}
			s := append([]any(nil), c...)
			s[i] = nv
			return s, ""
		}
		switch op {
		case OpAdd:
			s := make([]any, 0, len(c)+1)
			s = append(append(append(s, c[:i]...), val), c[i:]...)
			return s, ""
		case OpReplace:
			s := append([]any(nil), c...)
			s[i] = val
			return s, ""
		default: // OpRemove
			s := make([]any, 0, len(c)-1)
			return append(append(s, c[:i]...), c[i+1:]...), ""
		}
	}
	return nil, ReasonPathNotFound // unreachable: asContainer returns only the two
}

// parseIndex parses an RFC 6901 array index: decimal digits without a sign
// and without leading zeros. A well-formed index too large for an int is out
// of bounds rather than invalid.
func parseIndex(s string) (int, string) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, ReasonInvalidIndex
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ReasonInvalidIndex
		}
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return 0, ReasonIndexOutOfBounds
	}
	return i, ""
}
