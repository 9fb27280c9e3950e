package rules_test

import (
	"fmt"
	"testing"

	"github.com/tokenhook/tokenhook/internal/rules"
)

// BenchmarkEval evaluates 1, 10 and 50 claim rules against the guide's
// request and a store record: the rules' share of a hook call.
func BenchmarkEval(b *testing.B) {
	req := request(b, "authorization_code")
	record := map[string]any{"patientId": "1235", "roles": []any{"nurse"}, "tier": "gold"}
	for _, n := range []int{1, 10, 50} {
		spec := rules.Spec{Lookups: userLookup}
		for i := range n {
			spec.Rules = append(spec.Rules, rules.RuleSpec{
				Name:  fmt.Sprintf("r%d", i),
				Claim: fmt.Sprintf("claim%d", i),
				Value: "user.?patientId",
				When:  `has(user.tier) && user.tier == "gold"`,
			})
		}
		p := mustCompile(b, spec)
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				in := inputs(p, req, nil)
				in.SetRecord(0, record)
				if out := p.Eval(in); len(out.Actions) != n {
					b.Fatalf("%d actions", len(out.Actions))
				}
			}
		})
	}
}

// BenchmarkLookupKey is the key of the default lookup.
func BenchmarkLookupKey(b *testing.B) {
	req := request(b, "authorization_code")
	p := mustCompile(b, rules.Spec{Lookups: userLookup})
	b.ReportAllocs()
	for b.Loop() {
		if k, err := p.LookupKey(0, inputs(p, req, nil)); err != nil || k == "" {
			b.Fatal(k, err)
		}
	}
}
