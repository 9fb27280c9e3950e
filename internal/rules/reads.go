package rules

import (
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// Reads is what a program's expressions read: which inputs, and which
// parts of the request. The caller decodes only those parts of Okta's
// request, the largest cost of a hook call.
type Reads struct {
	// Inputs are the names of the inputs and lookups read (not request).
	Inputs []string
	// Request lists the field paths read below the request input, by
	// their json names, each as deep as the expressions select with
	// constant names: ["data","identity","claims","preferred_username"].
	// A path is cut where an expression goes on with a computed key, and
	// an empty path means the whole request is used (passed to a function,
	// say).
	Request [][]string
}

// Reads returns what the program's expressions read.
func (p *Program) Reads() Reads { return p.reads }

// Writes returns, per token, the claims (and lifetimes, with Claim "") the
// program's rules may write, in rule order. A caller that applies replace,
// remove and append needs those claims decoded.
func (p *Program) Writes() []Write {
	var out []Write
	for _, r := range p.rules {
		for _, t := range []Token{IDToken, AccessToken} {
			if r.kind != denyRule && r.tokens&t != 0 {
				out = append(out, Write{Token: t, Claim: r.claim, Op: r.op})
			}
		}
	}
	return out
}

type readSet struct {
	inputs map[string]bool
	paths  map[string][]string
}

// add records what the checked expression reads.
func (s *readSet) add(ast *cel.Ast) {
	if s.inputs == nil {
		s.inputs, s.paths = map[string]bool{}, map[string][]string{}
	}
	root := celast.NavigateAST(ast.NativeRep())
	for _, id := range celast.MatchDescendants(root, celast.KindMatcher(celast.IdentKind)) {
		name := id.AsIdent()
		if name != RequestVar {
			s.inputs[name] = true
			continue
		}
		p := requestPath(id)
		s.paths[strings.Join(p, "\x00")] = p
	}
}

// requestPath climbs from the request identifier through the selections
// and constant-key indexes applied to it.
func requestPath(e celast.NavigableExpr) []string {
	var p []string
	for {
		parent, ok := e.Parent()
		if !ok {
			return p
		}
		switch parent.Kind() {
		case celast.SelectKind:
			p = append(p, parent.AsSelect().FieldName())
		case celast.CallKind:
			call := parent.AsCall()
			args := call.Args()
			fn := call.FunctionName()
			isIndex := fn == operators.Index || fn == operators.OptIndex || fn == operators.OptSelect
			if !isIndex || len(args) != 2 || args[0].ID() != e.ID() || args[1].Kind() != celast.LiteralKind {
				return p
			}
			key, isString := args[1].AsLiteral().(types.String)
			if !isString {
				return p
			}
			p = append(p, string(key))
		default:
			return p
		}
		e = parent
	}
}

func (s *readSet) result(declared func(name string) bool) Reads {
	var r Reads
	for name := range s.inputs {
		if declared(name) {
			r.Inputs = append(r.Inputs, name)
		}
	}
	slices.Sort(r.Inputs)
	for _, k := range sortedKeys(s.paths) {
		r.Request = append(r.Request, s.paths[k])
	}
	return r
}

// costEstimator sizes what CEL cannot size at load time (store attributes,
// claims, request strings) as size, so that the estimate is finite and
// comparable to the limit.
type costEstimator struct{ size uint64 }

func (e costEstimator) EstimateSize(element cost.AstNode) *cost.SizeEstimate {
	if element.ComputedSize() != nil {
		return nil
	}
	return &cost.SizeEstimate{Min: 0, Max: e.size}
}

// EstimateCallCost sizes the results of the optional functions, which CEL
// leaves unbounded: without it user.?groups.orValue([]).filter(...) would
// be refused however small the lists. They cost one step each.
func (e costEstimator) EstimateCallCost(function, _ string, _ *cost.AstNode, _ []cost.AstNode) *cost.CallEstimate {
	switch function {
	case "orValue", "value", "or", operators.OptSelect, operators.OptIndex:
		return &cost.CallEstimate{CostEstimate: cost.Estimate{Min: 1, Max: 1}, ResultSize: &cost.SizeEstimate{Min: 0, Max: e.size}}
	}
	return nil
}
