package hookauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/json"
	"golang.org/x/sync/singleflight"
)

const (
	// fetchTimeout is the budget of one refresh of the keys, discovery
	// included. Okta gives the whole hook call 3 s; a request waiting for
	// keys must still be able to answer in time.
	fetchTimeout = 2 * time.Second
	// maxKeysBytes caps a discovery document or JWKS (Okta's are a few KiB).
	maxKeysBytes = 1 << 20
	// minRSABits refuses RSA keys too short to trust.
	minRSABits = 2048
)

// errRateLimited reports a refresh skipped because the last one was too
// recent.
var errRateLimited = errors.New("keys fetched too recently")

// verifyKey is one public key of the issuer.
type verifyKey struct {
	key crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey
	alg string           // the JWK's alg, "" if it has none
}

// keySet is an immutable snapshot of the issuer's keys.
type keySet struct {
	fetched time.Time
	// byKID is what tokens are checked against: the keys of the last fetch
	// and those of the one before. A key the issuer drops stays trusted
	// until the next fetch, so tokens minted just before a rotation still
	// pass; a key removed for good is gone after two fetches.
	byKID  map[string][]verifyKey
	latest map[string][]verifyKey // the last fetch alone
}

// keySource fetches and caches the issuer's keys. The fast path is one
// atomic load and a map lookup; fetches happen only on first use, for a kid
// not in the set, or once the set is older than ttl — never in the
// background. Fetches for unknown kids happen at most once per refreshMin,
// so a flood of tokens with made-up kids costs the issuer one request per
// refreshMin; the other fetches are limited apart (see refresh).
// Concurrent callers share one fetch.
type keySource struct {
	issuer     string
	jwksURI    string // configured; "" to discover
	client     *http.Client
	now        func() time.Time
	ttl        time.Duration
	refreshMin time.Duration

	set   atomic.Pointer[keySet]
	group singleflight.Group

	mu           sync.Mutex
	lastAttempt  time.Time // of any fetch
	lastKIDFetch time.Time // of the last fetch for an unknown kid
	lastErr      error     // of the last fetch, nil if it succeeded
	discovered   string    // jwks_uri from discovery, cached until a fetch fails
}

// lookup returns the keys with kid, refreshing the set when kid is unknown
// or the set is older than the TTL. If the refresh fails the keys already
// held keep working: an issuer outage does not lock Okta out, while a kid
// never seen fails closed. It returns a reason when kid has no key.
func (s *keySource) lookup(ctx context.Context, kid string) ([]verifyKey, string) {
	set := s.set.Load()
	if set != nil && s.now().Sub(set.fetched) < s.ttl {
		if keys := set.byKID[kid]; len(keys) > 0 {
			return keys, ""
		}
	}
	// A kid the held keys lack is a rotation (or a forgery); keys merely
	// past their TTL, or none yet, are a refresh. The two are limited
	// apart, so that a rotation just after a refresh is not refused.
	forKID := set != nil && len(set.byKID[kid]) == 0
	err := s.refresh(ctx, forKID)
	if set = s.set.Load(); set != nil {
		if keys := set.byKID[kid]; len(keys) > 0 {
			return keys, ""
		}
	}
	switch {
	case set == nil:
		s.mu.Lock()
		last := s.lastErr
		s.mu.Unlock()
		if last == nil {
			last = err
		}
		return nil, fmt.Sprintf("unknown key id (no keys fetched yet: %v)", last)
	case err == nil, errors.Is(err, errRateLimited):
		return nil, "unknown key id"
	case ctx.Err() != nil:
		return nil, "unknown key id (request ended while fetching keys)"
	}
	return nil, fmt.Sprintf("unknown key id (fetching keys: %v)", err)
}

// refresh fetches the keys unless that was done less than refreshMin ago:
// for an unknown kid (forKID), less than refreshMin after the last fetch
// for an unknown kid; otherwise less than refreshMin after any attempt.
// Made-up kids thus cost one fetch per refreshMin, and so do refreshes of
// an issuer that is down. Callers arriving while a fetch of their kind is
// on join it. The fetch itself is not tied to ctx — others may be waiting
// for it — but the caller stops waiting when ctx ends.
func (s *keySource) refresh(ctx context.Context, forKID bool) error {
	key := "keys"
	if forKID {
		key = "kid"
	}
	ch := s.group.DoChan(key, func() (any, error) { return nil, s.fetchLimited(forKID) })
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *keySource) fetchLimited(forKID bool) error {
	now := s.now()
	s.mu.Lock()
	last := s.lastAttempt
	if forKID {
		last = s.lastKIDFetch
	}
	if !last.IsZero() && now.Sub(last) < s.refreshMin {
		s.mu.Unlock()
		return errRateLimited
	}
	s.lastAttempt = now
	if forKID {
		s.lastKIDFetch = now
	}
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	latest, err := s.fetch(ctx)
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	byKID := maps.Clone(latest)
	if prev := s.set.Load(); prev != nil {
		for kid, keys := range prev.latest {
			if _, ok := byKID[kid]; !ok {
				byKID[kid] = keys
			}
		}
	}
	s.set.Store(&keySet{fetched: now, byKID: byKID, latest: latest})
	return nil
}

// fetch reads the JWKS, discovering its URI first if need be.
func (s *keySource) fetch(ctx context.Context) (map[string][]verifyKey, error) {
	uri := s.jwksURI
	if uri == "" {
		var err error
		if uri, err = s.discover(ctx); err != nil {
			return nil, err
		}
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	err := s.getJSON(ctx, uri, &doc)
	if err == nil {
		keys := make(map[string][]verifyKey)
		for _, raw := range doc.Keys {
			if kid, k, ok := parseKey(raw); ok {
				keys[kid] = append(keys[kid], k)
			}
		}
		if len(keys) > 0 {
			return keys, nil
		}
		// An empty set is treated as a failure, so that a glitch at the
		// issuer does not wipe out the keys held.
		err = fmt.Errorf("%s: no usable signing keys", uri)
	}
	if s.jwksURI == "" {
		// The issuer may have moved its keys: discover again next time.
		s.mu.Lock()
		s.discovered = ""
		s.mu.Unlock()
	}
	return nil, err
}

// parseKey accepts an RSA (at least 2048 bits) or EC public key with a kid,
// meant for signatures (use "sig" or none, key_ops with "verify" or none).
// Anything else is skipped: a symmetric key in particular, which would turn
// a public document into a signing secret, and keys carrying private
// parameters, which go-jose warns are unsafe to parse from the network.
func parseKey(raw []byte) (kid string, k verifyKey, ok bool) {
	var meta struct {
		Kty    string   `json:"kty"`
		Kid    string   `json:"kid"`
		Use    string   `json:"use"`
		KeyOps []string `json:"key_ops"`
		D      any      `json:"d"`
		P      any      `json:"p"`
		Q      any      `json:"q"`
		DP     any      `json:"dp"`
		DQ     any      `json:"dq"`
		QI     any      `json:"qi"`
		K      any      `json:"k"`
		Priv   any      `json:"priv"`
	}
	if json.Unmarshal(raw, &meta) != nil || meta.Kid == "" ||
		(meta.Kty != "RSA" && meta.Kty != "EC") ||
		(meta.Use != "" && meta.Use != "sig") ||
		(meta.KeyOps != nil && !slices.Contains(meta.KeyOps, "verify")) ||
		meta.D != nil || meta.P != nil || meta.Q != nil || meta.DP != nil ||
		meta.DQ != nil || meta.QI != nil || meta.K != nil || meta.Priv != nil {
		return "", verifyKey{}, false
	}
	var jwk jose.JSONWebKey
	if jwk.UnmarshalJSON(raw) != nil || !jwk.Valid() {
		return "", verifyKey{}, false
	}
	switch pub := jwk.Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return "", verifyKey{}, false
		}
	case *ecdsa.PublicKey:
	default:
		return "", verifyKey{}, false
	}
	return jwk.KeyID, verifyKey{key: jwk.Key, alg: jwk.Algorithm}, true
}

// discover finds the issuer's jwks_uri: OpenID Connect discovery first,
// then OAuth 2.0 authorization server metadata (RFC 8414), both under the
// issuer's path as Okta serves them.
func (s *keySource) discover(ctx context.Context) (string, error) {
	s.mu.Lock()
	uri := s.discovered
	s.mu.Unlock()
	if uri != "" {
		return uri, nil
	}
	base := strings.TrimSuffix(s.issuer, "/")
	uri, err := s.discoverAt(ctx, base+"/.well-known/openid-configuration")
	if err != nil && ctx.Err() == nil {
		var err2 error
		if uri, err2 = s.discoverAt(ctx, base+"/.well-known/oauth-authorization-server"); err2 != nil {
			return "", fmt.Errorf("%w; %v", err, err2)
		}
		err = nil
	}
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.discovered = uri
	s.mu.Unlock()
	return uri, nil
}

func (s *keySource) discoverAt(ctx context.Context, uri string) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := s.getJSON(ctx, uri, &doc); err != nil {
		return "", err
	}
	// OpenID Connect Discovery 4.3 and RFC 8414 3.3: the document must
	// name the issuer it was fetched for, or it describes someone else.
	if doc.Issuer != s.issuer {
		return "", fmt.Errorf("%s: issuer in the document differs from the configured one", uri)
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && strings.HasPrefix(s.issuer, "http://"))) {
		return "", fmt.Errorf("%s: jwks_uri missing or not an https URL", uri)
	}
	return doc.JWKSURI, nil
}

// getJSON GETs uri and decodes its JSON body of at most maxKeysBytes.
func (s *keySource) getJSON(ctx context.Context, uri string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", uri, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", uri, err)
	}
	if len(body) > maxKeysBytes {
		return fmt.Errorf("GET %s: response larger than %d bytes", uri, maxKeysBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: bad JSON: %w", uri, err)
	}
	return nil
}

// sameOrigin lets the key fetches follow a few redirects, but not to
// another scheme or host: the issuer's keys come from the issuer.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("too many redirects")
	}
	if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
		return errors.New("redirect to another host refused")
	}
	return nil
}
