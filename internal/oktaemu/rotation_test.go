package oktaemu_test

import (
	"crypto"
	"crypto/rsa"
	"encoding/json/v2"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

// rotationKeys are generated once for every rotation test.
var rotationKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 6)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i] = mustRSA() })
	}
	wg.Wait()
	return keys
})

// nextKeys is an Options.NextKey handing out rotationKeys in order.
func nextKeys() func() (crypto.Signer, error) {
	var mu sync.Mutex
	i := 0
	return func() (crypto.Signer, error) {
		mu.Lock()
		defer mu.Unlock()
		keys := rotationKeys()
		if i == len(keys) {
			return nil, errors.New("out of test keys")
		}
		i++
		return keys[i-1], nil
	}
}

// jwksKids returns the kids /v1/keys lists, in order.
func jwksKids(t *testing.T, emu *testEmu) []string {
	t.Helper()
	resp, err := http.Get(emu.Issuer + "/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS: %v\n%s", err, body)
	}
	var kids []string
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" || k.Algorithm != "RS256" {
			t.Errorf("JWK %s: public %v, use %q, alg %q", k.KeyID, k.IsPublic(), k.Use, k.Algorithm)
		}
		kids = append(kids, k.KeyID)
	}
	return kids
}

// tokenKid is the kid in a token's header.
func tokenKid(t *testing.T, raw string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

// serviceToken is a client credentials access token of svc.
func serviceToken(t *testing.T, emu *testEmu) string {
	t.Helper()
	status, tok, _ := tokenRequest(t, emu, url.Values{"grant_type": {"client_credentials"}, "scope": {"patients.read"}}, svcID, svcSecret)
	if status != http.StatusOK {
		t.Fatalf("client credentials: %d %+v", status, tok)
	}
	return tok.AccessToken
}

// verifies reports whether a token verifies against the JWKS /v1/keys
// serves now, as a resource server would check it.
func verifies(t *testing.T, emu *testEmu, raw string) bool {
	t.Helper()
	resp, err := http.Get(emu.Issuer + "/v1/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	return tok.Claims(set, &claims) == nil
}

// introspectActive asks the emulator itself whether a token is active.
func introspectActive(t *testing.T, emu *testEmu, raw string) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, emu.Issuer+"/v1/introspect", strings.NewReader(url.Values{"token": {raw}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(svcID, svcSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("introspect %d: %s", resp.StatusCode, body)
	}
	return out["active"] == true
}

func TestKeyRotation(t *testing.T) {
	clk := newClock()
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{Now: clk.Now, NextKey: nextKeys()})
	first := emu.Kid()
	if kids := jwksKids(t, emu); !slices.Equal(kids, []string{first}) {
		t.Fatalf("JWKS before rotation %v, want [%s]", kids, first)
	}
	old := serviceToken(t, emu)
	if tokenKid(t, old) != first {
		t.Fatalf("token kid %s, want %s", tokenKid(t, old), first)
	}

	second, err := emu.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	if second == first || emu.Kid() != second {
		t.Fatalf("RotateKey = %s (Kid %s), first %s", second, emu.Kid(), first)
	}
	if kids := jwksKids(t, emu); !slices.Equal(kids, []string{second, first}) {
		t.Errorf("JWKS after rotation %v, want [%s %s]", kids, second, first)
	}
	// A token issued before the rotation still verifies, for a resource
	// server (against /v1/keys) and for the emulator (introspection).
	if !verifies(t, emu, old) || !introspectActive(t, emu, old) {
		t.Error("a token issued before the rotation does not verify after it")
	}
	verifyAccessToken(t, emu, old)
	fresh := serviceToken(t, emu)
	if tokenKid(t, fresh) != second {
		t.Errorf("a new token's kid %s, want %s", tokenKid(t, fresh), second)
	}
	verifyAccessToken(t, emu, fresh)

	// The old key stays while the token it signed lives (an hour), then
	// drops out.
	clk.Advance(time.Hour - time.Second)
	if kids := jwksKids(t, emu); !slices.Contains(kids, first) || !verifies(t, emu, old) {
		t.Errorf("JWKS %v a second before the old token expires", kids)
	}
	clk.Advance(time.Second)
	if kids := jwksKids(t, emu); !slices.Equal(kids, []string{second}) {
		t.Errorf("JWKS %v after the old token expired, want [%s]", kids, second)
	}
	if verifies(t, emu, old) {
		t.Error("a token of a dropped key still verifies")
	}
	if !verifies(t, emu, fresh) {
		t.Error("the current key's token does not verify")
	}
}

// TestKeyRotationKeepsKeysForLongTokens: a key stays published while a
// token it signed is valid, even when the hook made it outlive
// keepPrevious; keepPrevious keeps a key that signed nothing.
func TestKeyRotationKeepsKeysForLongTokens(t *testing.T) {
	hook := newTestHook(t, func(req *inlinehook.TokenRequest) *inlinehook.Response {
		return &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchAccess(inlinehook.SetLifetime(7200))}}
	})
	clk := newClock()
	cfg := withHook(testConfig(t), hook.URL)
	cfg.KeyRotation.KeepPrevious = 30 * time.Minute
	emu := newTestEmu(t, cfg, oktaemu.Options{Now: clk.Now, NextKey: nextKeys()})
	first := emu.Kid()
	long := serviceToken(t, emu)
	if at := verifyAccessToken(t, emu, long); lifetime(at) != 7200 {
		t.Fatalf("the hook did not extend the token: lifetime %d", lifetime(at))
	}
	second, err := emu.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	third, err := emu.RotateKey() // second signed nothing: keepPrevious alone keeps it
	if err != nil {
		t.Fatal(err)
	}
	if kids := jwksKids(t, emu); !slices.Equal(kids, []string{third, second, first}) {
		t.Errorf("JWKS %v, want [%s %s %s]", kids, third, second, first)
	}
	clk.Advance(30 * time.Minute)
	if kids := jwksKids(t, emu); !slices.Equal(kids, []string{third, first}) {
		t.Errorf("JWKS %v after keepPrevious, want [%s %s]", kids, third, first)
	}
	clk.Advance(90*time.Minute - time.Second)
	if !verifies(t, emu, long) {
		t.Error("the hook-extended token no longer verifies before its exp")
	}
	clk.Advance(time.Second)
	if kids := jwksKids(t, emu); !slices.Equal(kids, []string{third}) {
		t.Errorf("JWKS %v after the long token expired, want [%s]", kids, third)
	}
}

func TestKeyRotationBounded(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{Now: newClock().Now, NextKey: nextKeys()})
	kids := []string{emu.Kid()}
	for range oktaemu.MaxPreviousKeys + 2 {
		kid, err := emu.RotateKey()
		if err != nil {
			t.Fatal(err)
		}
		kids = append([]string{kid}, kids...)
	}
	if got := jwksKids(t, emu); !slices.Equal(got, kids[:oktaemu.MaxPreviousKeys+1]) {
		t.Errorf("JWKS %v, want the %d newest of %v", got, oktaemu.MaxPreviousKeys+1, kids)
	}
}

func TestKeyRotationErrors(t *testing.T) {
	same := testKey()
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{NextKey: func() (crypto.Signer, error) { return same, nil }})
	if _, err := emu.RotateKey(); err == nil {
		t.Error("rotating to the current key succeeded")
	}
	emu = newTestEmu(t, testConfig(t), oktaemu.Options{NextKey: func() (crypto.Signer, error) { return clientECKey(), nil }})
	if _, err := emu.RotateKey(); err == nil {
		t.Error("rotating to an EC key succeeded")
	}
	if kids := jwksKids(t, emu); len(kids) != 1 || kids[0] != emu.Kid() {
		t.Errorf("a failed rotation changed the JWKS: %v", kids)
	}
}

func TestKeyRotationEvery(t *testing.T) {
	clk := newClock()
	cfg := testConfig(t)
	cfg.KeyRotation.Every = 24 * time.Hour
	emu := newTestEmu(t, cfg, oktaemu.Options{Now: clk.Now, NextKey: nextKeys()})
	first := emu.Kid()
	clk.Advance(23*time.Hour + 30*time.Minute)
	old := serviceToken(t, emu)
	if tokenKid(t, old) != first {
		t.Fatal("rotated before its time")
	}
	clk.Advance(30 * time.Minute)
	kids := jwksKids(t, emu) // reading the keys is enough to rotate
	if len(kids) != 2 || kids[0] == first || kids[1] != first {
		t.Fatalf("JWKS %v a day after %s", kids, first)
	}
	if got := tokenKid(t, serviceToken(t, emu)); got != kids[0] {
		t.Errorf("new token kid %s, want %s", got, kids[0])
	}
	if !verifies(t, emu, old) {
		t.Error("a token signed before the scheduled rotation does not verify")
	}
	clk.Advance(24 * time.Hour)
	if tok := serviceToken(t, emu); tokenKid(t, tok) == kids[0] { // signing is enough too
		t.Error("no rotation a day later")
	}
	if n := len(jwksKids(t, emu)); n != 2 {
		t.Errorf("%d keys, want 2 (the first one's tokens have expired)", n)
	}
}

// TestKeyRotationConcurrent rotates while tokens are issued, verified and
// introspected: with -race it checks the key ring is safe for concurrent
// use, and every token verifies afterwards.
func TestKeyRotationConcurrent(t *testing.T) {
	emu := newTestEmu(t, testConfig(t), oktaemu.Options{NextKey: nextKeys()})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		tokens []string
	)
	errs := make(chan string, 64)
	report := func(msg string) {
		select {
		case errs <- msg:
		default: // enough said
		}
	}
	stop := make(chan struct{})
	halt := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer halt()
	for range 6 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok := serviceToken(t, emu)
				if !introspectActive(t, emu, tok) {
					report("a fresh token is not active")
				}
				if !verifies(t, emu, tok) {
					report("a fresh token does not verify against /v1/keys")
				}
				mu.Lock()
				tokens = append(tokens, tok)
				mu.Unlock()
			}
		})
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(tokens)
	}
	// waitFor waits until n tokens were issued.
	waitFor := func(n int) {
		deadline := time.Now().Add(20 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d tokens issued, want %d", count(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(1) // one token of the first key
	for range 3 {
		waitFor(count() + 2)
		if _, err := emu.RotateKey(); err != nil {
			t.Error(err)
		}
	}
	// Past the tokens in flight: one signed by the last key.
	waitFor(count() + 7)
	halt()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	kids := map[string]bool{}
	for _, tok := range tokens {
		kids[tokenKid(t, tok)] = true
		if !verifies(t, emu, tok) {
			t.Fatal("a token issued during the rotations does not verify")
		}
	}
	if len(tokens) == 0 || len(kids) < 2 {
		t.Errorf("%d tokens with %d kids: the rotations did not interleave with signing", len(tokens), len(kids))
	}
}
