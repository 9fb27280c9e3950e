package hookauth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/hookauth"
)

// fuzzBearer is an authenticator over the in-memory issuer with a fixed
// clock, and the attack table for that clock.
func fuzzBearer(f *testing.F) (*hookauth.Bearer, []attack) {
	is := newMemIssuer()
	b := is.bearer(f, func(c *hookauth.BearerConfig) { c.Now = func() time.Time { return testNow } })
	return b, is.attacks(f, testNow)
}

// FuzzBearerHeader: whatever the Authorization header holds, Authenticate
// does not panic, and without a token the issuer signed it accepts nothing.
// The seeds are the table's refused headers (none of them valid).
func FuzzBearerHeader(f *testing.F) {
	b, attacks := fuzzBearer(f)
	for _, a := range attacks {
		if a.reason != "" && len(a.headers) == 2 {
			f.Add(a.headers[1])
		}
	}
	for _, s := range []string{"Bearer", "Bearer ", "bearer  .", "Bearer ..", "Bearer a.b.c", "BEARER e30.e30.", "Bearer \t", "Bearer {}", "Bearer ....", "Basic Og=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		err := b.Authenticate(request("Authorization", value))
		if err == nil {
			t.Fatalf("accepted %q", value)
		}
		if !errors.Is(err, hookauth.ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
	})
}

// FuzzParseJWT: arbitrary tokens after "Bearer ". Only the table's valid
// tokens, spelled exactly so, are accepted (the canonical base64 check
// leaves one spelling per token); no reason quotes the token.
func FuzzParseJWT(f *testing.F) {
	b, attacks := fuzzBearer(f)
	valid := map[string]bool{}
	for _, a := range attacks {
		for i := 1; i < len(a.headers); i += 2 {
			_, tok, _ := strings.Cut(a.headers[i], " ")
			f.Add(tok)
			if a.reason == "" {
				valid[tok] = true
			}
		}
	}
	f.Fuzz(func(t *testing.T, tok string) {
		err := b.Authenticate(request("Authorization", "Bearer "+tok))
		if err == nil {
			if !valid[strings.TrimLeft(tok, " ")] {
				t.Fatalf("accepted a token that is not one of the valid seeds: %q", tok)
			}
			return
		}
		if !errors.Is(err, hookauth.ErrUnauthorized) {
			t.Fatalf("error %v does not wrap ErrUnauthorized", err)
		}
		if len(tok) >= 12 && strings.Contains(err.Error(), tok) {
			t.Fatalf("reason %q quotes the token", err)
		}
	})
}
