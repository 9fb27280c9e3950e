package tokenhook_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/rules"
	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/memory"
)

// BenchmarkTransform is the core's share of a hook call — lookup through
// the cache (a hit, as for a user who signs in again), rules, commands —
// for 1 and 20 rules, on a request decoded as the server decodes it.
func BenchmarkTransform(b *testing.B) {
	store := memory.New(memory.Config{})
	ctx := context.Background()
	if err := store.Put(ctx, &user.User{Key: "jessie.smith@example.com", Attributes: map[string]any{
		"patientId": "1235", "tier": "gold", "roles": []any{"nurse", "admin"}}}); err != nil {
		b.Fatal(err)
	}
	f, _ := setup.Finder(config.Default(), store) // the cache, as serve wires it
	for _, n := range []int{1, 20} {
		spec := rules.Spec{Lookups: []rules.LookupSpec{patientLookup}}
		for i := range n {
			r := rules.RuleSpec{Name: fmt.Sprintf("r%d", i), Claim: fmt.Sprintf("c%d", i), Value: "user.?patientId"}
			if i%2 == 1 {
				r.Token, r.When = "access", `has(user.tier) && user.tier == "gold"`
			}
			spec.Rules = append(spec.Rules, r)
		}
		e := newEngine(b, f, spec)
		req, err := e.DecodeRequest(fixture(b, "authorization_code"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, _ := e.Transform(ctx, req)
				if resp.IsEmpty() {
					b.Fatal("no commands")
				}
			}
		})
	}
}
