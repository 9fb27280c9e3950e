package hookauth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Defaults and limits of the bearer scheme.
const (
	// DefaultKeysTTL is how long fetched keys are trusted before the next
	// use refetches them.
	DefaultKeysTTL = time.Hour
	// DefaultKeysRefreshMin is the least time between two fetches of the
	// issuer's keys (the configuration's default too).
	DefaultKeysRefreshMin = 30 * time.Second
	// maxTokenBytes bounds the token looked at. Okta's access tokens are
	// around 1 KiB; a few custom claims do not come near this.
	maxTokenBytes = 16 << 10
)

// BearerConfig configures [NewBearer]. It mirrors the configuration's
// auth.bearer section, plus what tests and setup inject.
type BearerConfig struct {
	// Issuer is the required iss, compared exactly (e.g.
	// https://example.okta.com/oauth2/aus1hook). Required.
	Issuer string
	// JWKSURI is where the issuer's keys are. Empty: discovered from
	// Issuer + "/.well-known/openid-configuration", falling back to
	// Issuer + "/.well-known/oauth-authorization-server".
	JWKSURI string
	// Audience lists the accepted aud values; the token must carry one of
	// them. At least one is required.
	Audience []string
	// Scope is a scope the token must carry in scp (or in a space-separated
	// scope claim). Empty: none is required.
	Scope string
	// ClientIDs, when not empty, restricts cid to these clients.
	ClientIDs []string
	// Algorithms are the accepted JWS algorithms: RS256, RS384, RS512,
	// PS256, PS384, PS512, ES256, ES384, ES512. Empty: RS256 (what Okta
	// signs with). none and HS* are refused: see [NewBearer].
	Algorithms []string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero: none.
	Leeway time.Duration
	// KeysRefreshMin is the least time between two fetches of the keys,
	// whatever prompts them (an unknown kid, expired keys). Zero:
	// [DefaultKeysRefreshMin].
	KeysRefreshMin time.Duration
	// KeysTTL is how long fetched keys are trusted before the next use
	// refetches them (no background goroutine). Zero: [DefaultKeysTTL].
	KeysTTL time.Duration
	// HTTPClient fetches the discovery document and the keys. Nil: a
	// client on http.DefaultTransport. Either way redirects are followed
	// only within the same scheme and host, each fetch of the keys has a
	// budget of 2 s and responses are capped at 1 MiB.
	HTTPClient *http.Client
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Bearer accepts "Authorization: Bearer <JWT>": an OAuth 2.0 access token
// that Okta obtained from an authorization server (client_secret_post or
// private_key_jwt) and sends with every call.
//
// Nothing it compares is secret — the token is proven by its signature and
// the claims are public — so, unlike [HeaderSecret] and [Basic], it needs no
// constant-time comparisons. What it must get right is which key and which
// algorithm may vouch for a token; see [NewBearer].
type Bearer struct {
	issuer    string
	audience  []string
	scope     string
	clientIDs []string
	algs      []jose.SignatureAlgorithm
	leeway    time.Duration
	now       func() time.Time
	keys      *keySource
}

// NewBearer checks cfg and returns a bearer authenticator. It does not
// contact the issuer: keys are fetched on first use, so the server starts
// even when the issuer is down (and refuses bearer tokens until it is up).
//
// none and the HMAC algorithms (HS256, HS384, HS512) are refused even if
// configured: the issuer's keys are public, and a verifier that accepts
// HS256 can be fed a token "signed" with the public key as the HMAC secret.
// EdDSA and ML-DSA are refused too: only RSA and EC keys are used.
func NewBearer(cfg BearerConfig) (*Bearer, error) {
	if err := checkIssuerURL("issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.JWKSURI != "" {
		if err := checkIssuerURL("jwks_uri", cfg.JWKSURI); err != nil {
			return nil, err
		}
	}
	if len(cfg.Audience) == 0 {
		return nil, errors.New("bearer: at least one audience is required")
	}
	// An empty entry would accept a token whose aud (or cid) is "".
	if slices.Contains(cfg.Audience, "") {
		return nil, errors.New("bearer: empty audience")
	}
	if slices.Contains(cfg.ClientIDs, "") {
		return nil, errors.New("bearer: empty client id")
	}
	if strings.ContainsFunc(cfg.Scope, isSpace) {
		return nil, errors.New("bearer: scope must be a single scope (no spaces)")
	}
	if cfg.Leeway < 0 || cfg.KeysRefreshMin < 0 || cfg.KeysTTL < 0 {
		return nil, errors.New("bearer: leeway, keys refresh interval and keys TTL must not be negative")
	}
	names := cfg.Algorithms
	if len(names) == 0 {
		names = []string{string(jose.RS256)}
	}
	var algs []jose.SignatureAlgorithm
	for _, name := range names {
		alg, err := parseAlgorithm(name)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(algs, alg) {
			algs = append(algs, alg)
		}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient // a copy: the caller's client keeps its redirect policy
		client = &c
	}
	client.CheckRedirect = sameOrigin
	return &Bearer{
		issuer:    cfg.Issuer,
		audience:  slices.Clone(cfg.Audience),
		scope:     cfg.Scope,
		clientIDs: slices.Clone(cfg.ClientIDs),
		algs:      algs,
		leeway:    cfg.Leeway,
		now:       now,
		keys: &keySource{
			issuer:     cfg.Issuer,
			jwksURI:    cfg.JWKSURI,
			client:     client,
			now:        now,
			ttl:        cmpOr(cfg.KeysTTL, DefaultKeysTTL),
			refreshMin: cmpOr(cfg.KeysRefreshMin, DefaultKeysRefreshMin),
		},
	}, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// checkIssuerURL accepts an absolute http(s) URL without query or fragment.
// (Whether plain http is acceptable is the configuration's policy.)
func checkIssuerURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("bearer: %s %q: want an absolute http(s) URL without query or fragment", what, s)
	}
	return nil
}

// parseAlgorithm maps a configured algorithm name to the JWS algorithm.
func parseAlgorithm(name string) (jose.SignatureAlgorithm, error) {
	up := strings.ToUpper(strings.TrimSpace(name))
	switch {
	case up == "NONE" || strings.HasPrefix(up, "HS"):
		return "", fmt.Errorf("bearer: algorithm %q is refused: the issuer's keys are public, so HMAC or no signature would let anyone mint tokens", name)
	}
	switch alg := jose.SignatureAlgorithm(up); alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512:
		return alg, nil
	}
	return "", fmt.Errorf("bearer: algorithm %q is not supported (want RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or ES512)", name)
}

// tokenClaims are the claims checked. They are decoded with go-jose's JSON
// fork, which matches member names case-sensitively and rejects duplicate
// members, so "ISS" cannot stand in for "iss" nor a second "aud" shadow the
// first.
type tokenClaims struct {
	Issuer    string           `json:"iss"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	Scp       scopes           `json:"scp"`
	Scope     scopes           `json:"scope"`
	ClientID  string           `json:"cid"`
}

// scopes reads Okta's scp (an array of strings) or the space-separated
// string of RFC 8693's scope claim (which some servers put in scp too).
type scopes []string

func (s *scopes) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = strings.Fields(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("scope claim: want a string or an array of strings")
	}
	*s = many
	return nil
}

// Authenticate implements [Authenticator]. The checks run in the order an
// attacker's work increases: header shape, token shape, algorithm, key,
// signature, and only then the (now trusted) claims.
func (b *Bearer) Authenticate(r *http.Request) error {
	token, err := bearerToken(r)
	if err != nil {
		return err
	}
	jws, err := b.parse(token)
	if err != nil {
		return err
	}
	payload, err := b.verify(r, jws)
	if err != nil {
		return err
	}
	return b.checkClaims(payload)
}

// bearerToken extracts the token of the one Authorization header.
func bearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", mismatch("missing Authorization header")
	case len(values) > 1:
		// Two headers could be read differently by a proxy and by us.
		return "", failure("repeated Authorization header")
	case values[0] == "":
		return "", failure("empty Authorization header")
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", mismatch("Authorization header is not Bearer")
	}
	token := strings.TrimLeft(rest, " ") // RFC 6750: "Bearer" 1*SP token
	switch {
	case token == "":
		return "", failure("empty bearer token")
	case strings.ContainsFunc(token, isSpace):
		return "", failure("malformed bearer token (more than one token)")
	case len(token) > maxTokenBytes:
		return "", failure("malformed bearer token (too long)")
	}
	return token, nil
}

// parse accepts a JWS in compact serialization whose alg is allowed.
func (b *Bearer) parse(token string) (*jose.JSONWebSignature, error) {
	if reason := checkCompact(token); reason != "" {
		return nil, failure(reason)
	}
	jws, err := jose.ParseSignedCompact(token, b.algs)
	if err != nil {
		var alg *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &alg) {
			return nil, failure(algReason(alg.Got))
		}
		return nil, failure("malformed JWT header")
	}
	if len(jws.Signatures) != 1 { // compact serialization has exactly one
		return nil, failure("malformed JWT")
	}
	h := jws.Signatures[0].Header
	// No extension is understood, and RFC 7515 says a token naming one
	// it does not understand must be refused. (go-jose would accept b64.)
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, failure("critical header not supported")
	}
	if _, ok := h.ExtraHeaders["b64"]; ok {
		return nil, failure("unencoded payload (b64) not supported")
	}
	return jws, nil
}

// checkCompact checks the shape of a compact JWS before any decoding: three
// base64url segments in canonical form, so that one token has exactly one
// spelling. It returns a reason, or "" when the shape is right.
func checkCompact(token string) string {
	if token[0] == '{' {
		return "JWS JSON serialization not accepted"
	}
	dots := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c == '.' {
			dots++
		} else if b64Value(c) < 0 {
			return "malformed JWT (not base64url)"
		}
	}
	switch dots {
	case 2:
	case 4:
		return "encrypted token (JWE) not accepted"
	default:
		return "malformed JWT (want 3 parts)"
	}
	for seg := range strings.SplitSeq(token, ".") {
		if !canonicalB64(seg) {
			return "malformed JWT (bad base64url)"
		}
	}
	return ""
}

// b64Value is the value of a base64url digit, or -1.
func b64Value(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// canonicalB64 reports whether seg (base64url digits, unpadded) decodes and
// has zero trailing bits, which Go's non-strict decoder would ignore.
func canonicalB64(seg string) bool {
	if seg == "" {
		return true
	}
	last := b64Value(seg[len(seg)-1])
	switch len(seg) % 4 {
	case 1:
		return false
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return true
}

// algReason names a refused alg; only names of real algorithms are logged,
// anything else an attacker wrote is not.
func algReason(alg jose.SignatureAlgorithm) string {
	switch alg {
	case "":
		return "missing alg"
	case "none", jose.HS256, jose.HS384, jose.HS512, jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
		jose.MLDSA44, jose.MLDSA65, jose.MLDSA87:
		return "alg " + string(alg) + " not allowed"
	}
	return "alg not allowed (unknown algorithm)"
}

// verify finds the issuer key the token names and checks the signature. The
// key comes only from the issuer's JWKS by kid; jwk, jku, x5u and x5c
// headers are ignored, as they would let the token choose its own key.
func (b *Bearer) verify(r *http.Request, jws *jose.JSONWebSignature) ([]byte, error) {
	h := jws.Signatures[0].Header
	if h.KeyID == "" {
		return nil, failure("missing key id")
	}
	keys, reason := b.keys.lookup(r.Context(), h.KeyID)
	if reason != "" {
		return nil, failure(reason)
	}
	alg := jose.SignatureAlgorithm(h.Algorithm)
	usable := false
	for _, k := range keys {
		if !k.fits(alg) {
			continue
		}
		usable = true
		if payload, err := jws.Verify(k.key); err == nil {
			return payload, nil
		}
	}
	if !usable {
		return nil, failure("key not usable for alg " + string(alg))
	}
	return nil, failure("bad signature")
}

// checkClaims checks the verified claims. Reasons name the claim, never its
// value.
func (b *Bearer) checkClaims(payload []byte) error {
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return failure("malformed claims")
	}
	now := b.now()
	switch {
	case c.Issuer != b.issuer:
		return failure("wrong issuer")
	case !slices.ContainsFunc(b.audience, c.Audience.Contains):
		return failure("wrong audience")
	case c.Expiry == nil:
		return failure("missing exp")
	// RFC 7519: valid while now is before exp; the leeway extends that.
	case !now.Before(c.Expiry.Time().Add(b.leeway)):
		return failure("expired token")
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(b.leeway)):
		return failure("token not yet valid (nbf)")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(b.leeway)):
		return failure("token issued in the future (iat)")
	case b.scope != "" && !slices.Contains(c.Scp, b.scope) && !slices.Contains(c.Scope, b.scope):
		return failure("missing scope")
	case len(b.clientIDs) > 0 && !slices.Contains(b.clientIDs, c.ClientID):
		return failure("client id not allowed")
	}
	return nil
}

// fits reports whether the key may verify a signature made with alg: the
// key's own alg, when the JWKS gives one, must be alg, and the key type
// (and EC curve) must be alg's.
func (k verifyKey) fits(alg jose.SignatureAlgorithm) bool {
	if k.alg != "" && k.alg != string(alg) {
		return false
	}
	switch key := k.key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
			return true
		}
	case *ecdsa.PublicKey:
		curve := key.Curve.Params().Name
		return (alg == jose.ES256 && curve == "P-256") ||
			(alg == jose.ES384 && curve == "P-384") ||
			(alg == jose.ES512 && curve == "P-521")
	}
	return false
}
