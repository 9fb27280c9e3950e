package hookauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokenhook/tokenhook/internal/hookauth"
)

// The tests here run in synctest bubbles where time matters: time.Now, the
// authenticator's default clock, is the bubble's, and time.Sleep advances
// it at once when everything else is blocked.

func mustPass(t *testing.T, b *hookauth.Bearer, tok, what string) {
	t.Helper()
	if err := b.Authenticate(bearerRequest(tok)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustFail(t *testing.T, b *hookauth.Bearer, tok, reason, what string) {
	t.Helper()
	err := b.Authenticate(bearerRequest(tok))
	if !errors.Is(err, hookauth.ErrUnauthorized) || !strings.Contains(err.Error(), reason) {
		t.Fatalf("%s: Authenticate = %v, want %q", what, err, reason)
	}
}

func wantHits(t *testing.T, is *testIssuer, want int64, what string) {
	t.Helper()
	if got := is.jwksHits.Load(); got != want {
		t.Fatalf("%s: %d JWKS fetches, want %d", what, got, want)
	}
}

// TestBearerKeyRotation: the issuer swaps k1 for k2 while requests flow. The
// first k2 token costs one refetch; k1 tokens keep passing (the previous
// fetch's keys are kept) until a later fetch no longer has k1 either.
func TestBearerKeyRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kr := keyring()
		is := newMemIssuer()
		b := is.bearer(t, nil)
		mustPass(t, b, is.valid(t, time.Now()), "k1 before rotation")
		wantHits(t, is, 1, "first use")

		time.Sleep(time.Minute)
		is.setKeys(publicJWK(kr.rsa2, "k2")) // abrupt: k1 is gone at once
		oldTok := is.valid(t, time.Now())
		newTok := token(t, jose.RS256, kr.rsa2, "k2", is.claims(time.Now()))
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				tok := oldTok
				if i%2 == 1 {
					tok = newTok
				}
				if err := b.Authenticate(bearerRequest(tok)); err != nil {
					t.Errorf("request %d during rotation: %v", i, err)
				}
			})
		}
		wg.Wait()
		wantHits(t, is, 2, "rotation")
		mustPass(t, b, oldTok, "k1 after rotation")
		mustPass(t, b, newTok, "k2 after rotation")
		wantHits(t, is, 2, "after rotation")

		// An hour on, the keys have expired: the next use refetches, and
		// k1 is in neither of the last two fetches.
		time.Sleep(time.Hour)
		mustPass(t, b, token(t, jose.RS256, kr.rsa2, "k2", is.claims(time.Now())), "k2 after the TTL")
		wantHits(t, is, 3, "TTL refetch")
		// k1 is unknown now: one fetch for it (the last for an unknown
		// kid was an hour ago), which does not have it either.
		mustFail(t, b, is.valid(t, time.Now()), "unknown key id", "k1 two fetches after its removal")
		wantHits(t, is, 4, "k1's refetch")
		mustFail(t, b, is.valid(t, time.Now()), "unknown key id", "k1 again")
		wantHits(t, is, 4, "k1 refused within the refresh interval")
	})
}

// TestBearerRotationRightAfterAFetch: a rotation that lands just after the
// keys were fetched — at first use, or for their TTL — still gets its
// refetch: only fetches for unknown kids limit those for unknown kids.
func TestBearerRotationRightAfterAFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kr := keyring()
		is := newMemIssuer()
		b := is.bearer(t, nil)
		mustPass(t, b, is.valid(t, time.Now()), "k1, first use")
		is.setKeys(publicJWK(kr.rsa2, "k2"))
		mustPass(t, b, token(t, jose.RS256, kr.rsa2, "k2", is.claims(time.Now())), "k2 right after the first fetch")
		wantHits(t, is, 2, "first use and the rotation")
		mustFail(t, b, token(t, jose.RS256, kr.evil, "made-up", is.claims(time.Now())), "unknown key id", "a made-up kid right after")
		wantHits(t, is, 2, "a second unknown kid within the interval")

		time.Sleep(2 * time.Hour) // past the TTL: the next use refetches
		mustPass(t, b, token(t, jose.RS256, kr.rsa2, "k2", is.claims(time.Now())), "k2 after the TTL")
		wantHits(t, is, 3, "TTL refetch")
		is.setKeys(publicJWK(kr.rsa1, "k1"))
		mustPass(t, b, is.valid(t, time.Now()), "k1 right after the TTL refetch")
		wantHits(t, is, 4, "the second rotation")
	})
}

// TestBearerRotationAnnounced: Okta publishes the next key before it
// signs with it; the new kid costs one refetch, nothing else does.
func TestBearerRotationAnnounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kr := keyring()
		is := newMemIssuer()
		b := is.bearer(t, nil)
		mustPass(t, b, is.valid(t, time.Now()), "k1")
		time.Sleep(time.Minute)
		is.setKeys(publicJWK(kr.rsa1, "k1"), publicJWK(kr.rsa2, "k2"))
		mustPass(t, b, token(t, jose.RS256, kr.rsa2, "k2", is.claims(time.Now())), "k2")
		mustPass(t, b, is.valid(t, time.Now()), "k1")
		wantHits(t, is, 2, "announced rotation")
	})
}

// TestBearerUnknownKidSharedFetch: a burst of tokens with unknown kids
// waits on one fetch, not one each.
func TestBearerUnknownKidSharedFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kr := keyring()
		is := newMemIssuer()
		b := is.bearer(t, nil)
		mustPass(t, b, is.valid(t, time.Now()), "warm-up")
		time.Sleep(time.Minute)
		is.setDelay(100 * time.Millisecond)
		toks := make([]string, 8)
		for i := range toks {
			toks[i] = token(t, jose.RS256, kr.evil, fmt.Sprintf("made-up-%d", i), is.claims(time.Now()))
		}
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				err := b.Authenticate(bearerRequest(toks[i%len(toks)]))
				if err == nil || !strings.Contains(err.Error(), "unknown key id") {
					t.Errorf("request %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		wantHits(t, is, 2, "100 concurrent unknown kids")
	})
}

// TestBearerFirstUseSharedFetch: requests arriving together at start-up
// share the first fetch, and all pass.
func TestBearerFirstUseSharedFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newMemIssuer()
		is.setDelay(100 * time.Millisecond)
		b := is.bearer(t, nil)
		tok := is.valid(t, time.Now())
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				if err := b.Authenticate(bearerRequest(tok)); err != nil {
					t.Errorf("request %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		wantHits(t, is, 1, "50 concurrent first uses")
	})
}

// TestBearerRefreshRateLimit: a flood of made-up kids for 100 s costs one
// fetch per KeysRefreshMin (30 s), not one per token.
func TestBearerRefreshRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kr := keyring()
		is := newMemIssuer()
		b := is.bearer(t, nil)
		mustPass(t, b, is.valid(t, time.Now()), "warm-up")
		toks := make([]string, 10)
		for i := range toks {
			toks[i] = token(t, jose.RS256, kr.evil, fmt.Sprintf("flood-%d", i), is.claims(time.Now()))
		}
		start := time.Now()
		for i := range 1000 {
			mustFail(t, b, toks[i%len(toks)], "unknown key id", "flood")
			time.Sleep(100 * time.Millisecond)
		}
		elapsed := time.Since(start)
		// Fetches at +0 s, +30 s, +60 s and +90 s, after the warm-up's
		// (which was no fetch for an unknown kid).
		wantHits(t, is, 2+int64(elapsed/(30*time.Second)), fmt.Sprintf("1000 made-up kids over %s", elapsed))
		// Good tokens were never held up.
		mustPass(t, b, is.valid(t, time.Now()), "good token after the flood")
	})
}

// TestBearerIssuerDown: once keys are cached, an outage does not lock Okta
// out — not even past the TTL — while unknown kids fail closed.
func TestBearerIssuerDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kr := keyring()
		is := newMemIssuer()
		b := is.bearer(t, nil)
		mustPass(t, b, is.valid(t, time.Now()), "before the outage")
		is.setDown(true)
		time.Sleep(time.Minute)
		mustPass(t, b, is.valid(t, time.Now()), "known kid during the outage")
		wantHits(t, is, 1, "known kid needs no fetch")
		unknown := token(t, jose.RS256, kr.evil, "evil", is.claims(time.Now()))
		mustFail(t, b, unknown, "unknown key id (fetching keys: GET https://issuer.test/oauth2/aus1hook/v1/keys: 503", "unknown kid during the outage")
		wantHits(t, is, 2, "unknown kid tries once")
		mustFail(t, b, unknown, "unknown key id", "unknown kid again")
		wantHits(t, is, 2, "and not again within the refresh interval")

		time.Sleep(2 * time.Hour) // keys past their TTL
		mustPass(t, b, is.valid(t, time.Now()), "stale keys during the outage")
		wantHits(t, is, 3, "a refetch was tried")
		mustPass(t, b, is.valid(t, time.Now()), "stale keys, next request")
		wantHits(t, is, 3, "refetch rate limited")

		is.setDown(false)
		time.Sleep(31 * time.Second)
		mustPass(t, b, is.valid(t, time.Now()), "after the outage")
		wantHits(t, is, 4, "keys refreshed after the outage")
		mustPass(t, b, is.valid(t, time.Now()), "fresh keys")
		wantHits(t, is, 4, "fresh keys need no fetch")
	})
}

// TestBearerIssuerDownAtStart: the server starts without the issuer; bearer
// tokens are refused until the keys can be fetched.
func TestBearerIssuerDownAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newMemIssuer()
		is.setDown(true)
		b := is.bearer(t, nil)
		mustFail(t, b, is.valid(t, time.Now()), "unknown key id (no keys fetched yet: GET", "issuer down")
		is.setDown(false)
		mustFail(t, b, is.valid(t, time.Now()), "no keys fetched yet", "within the refresh interval")
		wantHits(t, is, 1, "one try")
		time.Sleep(30 * time.Second)
		mustPass(t, b, is.valid(t, time.Now()), "issuer back")
		wantHits(t, is, 2, "second try")
	})
}

// TestBearerFetchTimeout: a hanging issuer costs a request at most 2 s.
func TestBearerFetchTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newMemIssuer()
		is.setDelay(time.Minute)
		b := is.bearer(t, nil)
		start := time.Now()
		mustFail(t, b, is.valid(t, time.Now()), "context deadline exceeded", "hanging issuer")
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("request waited %s, want 2s", d)
		}
		time.Sleep(time.Minute) // let the fake issuer's handler finish
	})
}

// TestBearerRequestCancelled: a caller whose request ends stops waiting;
// the shared fetch goes on and serves the next request.
func TestBearerRequestCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := newMemIssuer()
		is.setDelay(time.Second)
		b := is.bearer(t, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		tok := is.valid(t, time.Now())
		start := time.Now()
		err := b.Authenticate(bearerRequest(tok).WithContext(ctx))
		if err == nil || time.Since(start) != 100*time.Millisecond {
			t.Fatalf("Authenticate = %v after %s, want a failure after 100ms", err, time.Since(start))
		}
		time.Sleep(time.Second)
		is.setDelay(0)
		mustPass(t, b, tok, "after the fetch completed")
		wantHits(t, is, 1, "the fetch was shared")
	})
}

func TestBearerDiscovery(t *testing.T) {
	tests := []struct {
		name        string
		jwksURI     bool // configure the JWKS URI
		oidc, oauth bool // documents served
		docIssuer   string
		reason      string // "" for accepted
		oidcHits    int64
		oauthHits   int64
	}{
		{name: "explicit jwks_uri", jwksURI: true, oidc: true, oauth: true},
		{name: "openid-configuration", oidc: true, oauth: true, oidcHits: 1},
		{name: "fallback to oauth-authorization-server", oauth: true, oidcHits: 1, oauthHits: 1},
		{name: "no discovery document", reason: "no keys fetched yet", oidcHits: 1, oauthHits: 1},
		// A document for another issuer must not supply the keys.
		{name: "document names another issuer", oidc: true, oauth: true, docIssuer: "https://attacker.test", reason: "differs", oidcHits: 1, oauthHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := newHTTPIssuer(t)
			is.oidc, is.oauth, is.docIssuer = tt.oidc, tt.oauth, tt.docIssuer
			clock := &fakeClock{t: testNow}
			b := is.bearer(t, func(c *hookauth.BearerConfig) {
				c.Now = clock.Now
				if !tt.jwksURI {
					c.JWKSURI = ""
				}
			})
			err := b.Authenticate(bearerRequest(is.valid(t, testNow)))
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("Authenticate = %v", err)
			case tt.reason != "" && (err == nil || !strings.Contains(err.Error(), tt.reason)):
				t.Fatalf("Authenticate = %v, want %q", err, tt.reason)
			}
			if o, a := is.oidcHits.Load(), is.oauthHits.Load(); o != tt.oidcHits || a != tt.oauthHits {
				t.Errorf("discovery hits: openid-configuration %d, oauth-authorization-server %d; want %d, %d", o, a, tt.oidcHits, tt.oauthHits)
			}
			if tt.reason != "" {
				return
			}
			// A refetch (unknown kid) reuses the discovered URI.
			clock.Set(testNow.Add(time.Minute))
			evil := token(t, jose.RS256, keyring().evil, "evil", is.claims(clock.Now()))
			if err := b.Authenticate(bearerRequest(evil)); err == nil {
				t.Fatal("evil token accepted")
			}
			if n := is.jwksHits.Load(); n != 2 {
				t.Errorf("%d JWKS fetches, want 2", n)
			}
			if o, a := is.oidcHits.Load(), is.oauthHits.Load(); o != tt.oidcHits || a != tt.oauthHits {
				t.Errorf("refetch rediscovered: openid-configuration %d, oauth-authorization-server %d", o, a)
			}
		})
	}
}

// TestBearerDiscoveryHTTPSOnly: an https issuer's document may not send the
// key fetch to plain http.
func TestBearerDiscoveryHTTPSOnly(t *testing.T) {
	is := newMemIssuer()
	is.client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		_ = json.NewEncoder(rec).Encode(map[string]string{"issuer": is.base, "jwks_uri": "http://issuer.test/keys"})
		return rec.Result(), nil
	})}
	b := is.bearer(t, func(c *hookauth.BearerConfig) { c.JWKSURI = ""; c.Now = func() time.Time { return testNow } })
	err := b.Authenticate(bearerRequest(is.valid(t, testNow)))
	if err == nil || !strings.Contains(err.Error(), "not an https URL") {
		t.Fatalf("Authenticate = %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBearerFetchLimits(t *testing.T) {
	other := newHTTPIssuer(t) // another host (port) serving the same keys
	tests := []struct {
		name   string
		setup  func(is *testIssuer)
		reason string
	}{
		{"oversized JWKS", func(is *testIssuer) {
			is.setJWKS([]byte(`{"keys":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`))
		}, "larger than 1048576 bytes"},
		{"not JSON", func(is *testIssuer) { is.setJWKS([]byte("<html>")) }, "bad JSON"},
		{"empty key set", func(is *testIssuer) { is.setKeys() }, "no usable signing keys"},
		{"server error", func(is *testIssuer) { is.setDown(true) }, "503"},
		{"redirect to another host", func(is *testIssuer) { is.redirect = other.base + "/v1/keys" }, "redirect to another host refused"},
		{"redirect on the same host", func(is *testIssuer) { is.redirect = is.base + "/v1/keys/../keys2" }, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := newHTTPIssuer(t)
			tt.setup(is)
			b := is.bearer(t, func(c *hookauth.BearerConfig) { c.Now = func() time.Time { return testNow } })
			err := b.Authenticate(bearerRequest(is.valid(t, testNow)))
			if err == nil || !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), "unknown key id") {
				t.Fatalf("Authenticate = %v, want unknown key id and %q", err, tt.reason)
			}
		})
	}
	if n := other.jwksHits.Load(); n != 0 {
		t.Errorf("the other host was asked %d times", n)
	}
}

// TestBearerKeyFilter: only RSA (2048 bits or more) and EC public keys for
// signatures are taken from the JWKS; the rest is skipped, not fatal.
func TestBearerKeyFilter(t *testing.T) {
	kr := keyring()
	is := newMemIssuer()
	rs384 := publicJWK(kr.rsa2, "rs384")
	rs384.Algorithm = "RS384"
	enc := publicJWK(kr.rsa2, "enc")
	enc.Use = "enc"
	private := jose.JSONWebKey{Key: kr.rsa2, KeyID: "private", Use: "sig"}
	is.setKeys(
		publicJWK(kr.rsa1, "k1"),
		jose.JSONWebKey{Key: []byte("a shared secret, of all things, 32+ bytes"), KeyID: "sym", Algorithm: "HS256"},
		publicJWK(kr.small, "small"),
		enc,
		private,
		rs384,
		json.RawMessage(`{"kty":"RSA","kid":"ops","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"}`),
		json.RawMessage(`{"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`),
		json.RawMessage(`{"kty":"EC","kid":"bad-ec","crv":"P-256","x":"AAAA","y":"AAAA"}`),
		json.RawMessage(`{"kty":"future","kid":"future"}`),
		json.RawMessage(`"not a key"`),
	)
	b := is.bearer(t, func(c *hookauth.BearerConfig) {
		c.Now = func() time.Time { return testNow }
		c.Algorithms = []string{"RS256", "RS384"}
	})
	c := is.claims(testNow)
	mustPass(t, b, token(t, jose.RS256, kr.rsa1, "k1", c), "k1 next to junk")
	for _, tt := range []struct {
		name, tok, reason string
	}{
		{"symmetric key", sign(t, jose.HS256, []byte("a shared secret, of all things, 32+ bytes"), []byte(`{}`), map[jose.HeaderKey]any{"kid": "sym"}, false), "alg HS256 not allowed"},
		{"symmetric key, RS256 header", token(t, jose.RS256, kr.rsa2, "sym", c), "unknown key id"},
		{"1024-bit RSA key", token(t, jose.RS256, kr.small, "small", c), "unknown key id"},
		{"encryption key", token(t, jose.RS256, kr.rsa2, "enc", c), "unknown key id"},
		{"private key published", token(t, jose.RS256, kr.rsa2, "private", c), "unknown key id"},
		{"key_ops without verify", token(t, jose.RS256, kr.rsa2, "ops", c), "unknown key id"},
		{"key for another alg", token(t, jose.RS256, kr.rsa2, "rs384", c), "key not usable for alg RS256"},
	} {
		t.Run(tt.name, func(t *testing.T) { mustFail(t, b, tt.tok, tt.reason, tt.name) })
	}
	mustPass(t, b, token(t, jose.RS384, kr.rsa2, "rs384", c), "RS384 key with its alg")
}
