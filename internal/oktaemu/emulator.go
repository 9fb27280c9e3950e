package oktaemu

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json/v2"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// Options are the emulator's run-time choices and test knobs. The zero
// value is usable when the Config has an issuer.
type Options struct {
	// Issuer overrides Config.Issuer: tests and the command bind a
	// listener first, then pass http://<addr>/oauth2/<id>. One of the two
	// is required.
	Issuer string
	// Now is the clock (nil: time.Now). A knob: with a fixed clock iat, exp
	// and auth_time are deterministic.
	Now func() time.Time
	// HookDelay is added before every hook call, inside its budget: a knob
	// that simulates a slow network (hookcall.Caller.Delay).
	HookDelay time.Duration
	// Key is a fixed signing key; it must be an *rsa.PrivateKey. It
	// overrides Config.KeyFile. Nil: the key file's, or one generated.
	Key crypto.Signer
	// NextKey returns the key each rotation (RotateKey, keyRotation.every)
	// installs; it must be an *rsa.PrivateKey (nil: a 2048-bit key is
	// generated). A knob: pre-generated keys keep tests fast. It must not
	// call the emulator.
	NextKey func() (crypto.Signer, error)
	// HTTPClient calls the hook (nil: a default client). The hook caller
	// never follows redirects, whatever its policy.
	HTTPClient *http.Client
	// Log receives the System Log events as JSON lines (nil: kept in
	// memory only, for the /system-log page).
	Log io.Writer
	// Logger gets operational logs, which never carry a secret, token, code
	// or claim value (nil: discarded).
	Logger *slog.Logger
}

// systemLogCapacity is how many hook events the /system-log page keeps.
const systemLogCapacity = 500

// Emulator is the authorization server. It is safe for concurrent use.
type Emulator struct {
	as      *authServer
	prefix  string // the issuer's path, /oauth2/<id>, where the endpoints live
	secure  bool   // https issuer: cookies are Secure
	now     func() time.Time
	logger  *slog.Logger
	caller  *hookcall.Caller // nil without a hook
	log     *hookcall.Log
	csrfKey []byte
	pages   map[string]*template.Template

	// ring holds the signing keys; rotateMu serializes rotations; newKey
	// is Options.NextKey.
	ring     *keyRing
	rotateMu sync.Mutex
	newKey   func() (crypto.Signer, error)

	// clientKeys are the private_key_jwt clients' public keys, by client
	// id; assertionIDs the jti of the client assertions already used,
	// until they expire.
	clientKeys   map[string][]clientKey
	assertionIDs *expiringMap[struct{}]

	// passwordHashes hashes each plaintext password once, on first use,
	// so startup stays fast; dummyHash serves unknown users, so a wrong
	// login costs what a wrong password costs.
	passwordHashes map[string]func() []byte
	dummyHash      func() []byte

	sessions *expiringMap[*session]      // by cookie value
	codes    *expiringMap[*codeGrant]    // by code
	refresh  *expiringMap[*refreshGrant] // by refresh token
	revoked  *expiringMap[struct{}]      // revoked access token ids, until they expire

	handler http.Handler
}

// codeGrant is an authorization code: the tokens minted (and hooked) when
// /authorize completed, and what the token request must prove.
type codeGrant struct {
	clientID    string
	redirectURI string
	challenge   string
	tokens      *mintedTokens
	refresh     *refreshGrant // registered when the code is redeemed
}

// New returns an emulator for cfg, which it copies and fills with defaults.
// It fails on an invalid configuration, a missing issuer or an unusable
// key.
func New(cfg *Config, opts Options) (*Emulator, error) {
	c := cloneConfig(cfg)
	c.fillDefaults()
	if opts.Issuer != "" {
		c.Issuer = opts.Issuer
	}
	if c.Issuer == "" {
		return nil, errors.New("oktaemu: no issuer: set Config.Issuer or Options.Issuer")
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("oktaemu: invalid configuration:\n%w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Emulator{
		as:       newAuthServer(c, c.Issuer, now()),
		now:      now,
		logger:   logger,
		log:      hookcall.NewLog(opts.Log, systemLogCapacity),
		csrfKey:  make([]byte, 32),
		sessions: newExpiringMap[*session](now, maxStored),
		codes:    newExpiringMap[*codeGrant](now, maxStored),
		refresh:  newExpiringMap[*refreshGrant](now, maxStored),
		revoked:  newExpiringMap[struct{}](now, maxStored),

		newKey:       opts.NextKey,
		clientKeys:   map[string][]clientKey{},
		assertionIDs: newExpiringMap[struct{}](now, maxStored),
	}
	_, _ = rand.Read(e.csrfKey)
	e.prefix = "/oauth2/" + c.AuthorizationServerID
	e.secure = strings.HasPrefix(c.Issuer, "https://")

	if err := e.setKey(c, opts.Key); err != nil {
		return nil, err
	}
	for i := range c.Clients {
		cl := &c.Clients[i]
		if cl.TokenEndpointAuthMethod != AuthPrivateKeyJWT {
			continue
		}
		keys, errs := cl.publicKeys()
		if len(errs) > 0 { // Validate read the same keys a moment ago
			return nil, fmt.Errorf("oktaemu: clients[%d]: %w", i, errors.Join(errs...))
		}
		e.clientKeys[cl.ID] = keys
	}
	if c.Hook.Enabled() {
		hook, err := c.Hook.callerHook()
		if err != nil {
			return nil, fmt.Errorf("oktaemu: %w", err)
		}
		e.caller = &hookcall.Caller{
			Hook:   hook,
			Client: opts.HTTPClient,
			Now:    opts.Now,
			Delay:  opts.HookDelay,
			Record: e.log.Record,
		}
	}
	e.passwordHashes = make(map[string]func() []byte, len(c.Users))
	for i := range c.Users {
		u := &c.Users[i]
		if u.PasswordHash != "" {
			h := []byte(u.PasswordHash)
			e.passwordHashes[u.ID] = func() []byte { return h }
			continue
		}
		password := u.Password
		e.passwordHashes[u.ID] = sync.OnceValue(func() []byte {
			h, _ := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
			return h
		})
	}
	e.dummyHash = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte(randomToken(16)), bcrypt.DefaultCost)
		return h
	})
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("oktaemu: templates: %w", err)
	}
	e.pages = pages
	e.handler = e.routes()
	return e, nil
}

func (e *Emulator) setKey(c *Config, fixed crypto.Signer) error {
	var key *rsa.PrivateKey
	var kid string
	switch {
	case fixed != nil:
		k, ok := fixed.(*rsa.PrivateKey)
		if !ok {
			return errors.New("oktaemu: Options.Key must be an *rsa.PrivateKey (tokens are signed RS256)")
		}
		key = k
	case c.KeyFile != "":
		k, fileKid, err := loadOrCreateKey(c.KeyFile)
		if err != nil {
			return fmt.Errorf("oktaemu: %w", err)
		}
		key, kid = k, fileKid
	default:
		k, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
		if err != nil {
			return err
		}
		key = k
	}
	sk, err := newSigningKey(key, kid, e.now())
	if err != nil {
		return fmt.Errorf("oktaemu: %w", err)
	}
	e.ring = &keyRing{current: sk, keep: keepPrevious(c)}
	return nil
}

// Handler returns the emulator's HTTP handler: the authorization server's
// endpoints under the issuer's path, the hosted login page, the home page
// and the System Log pages.
func (e *Emulator) Handler() http.Handler { return e.handler }

// Server returns an HTTP server for the emulator, with timeouts set; the
// caller serves and shuts it down.
func (e *Emulator) Server() *http.Server {
	return &http.Server{
		Handler:           e.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// The token endpoint waits for the hook: its budget plus room.
		WriteTimeout:   time.Minute,
		IdleTimeout:    time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(e.logger.Handler(), slog.LevelWarn),
	}
}

// Issuer returns the issuer the emulator signs tokens as.
func (e *Emulator) Issuer() string { return e.as.issuer }

// Config returns the emulator's configuration, with defaults filled. The
// caller must not modify it.
func (e *Emulator) Config() *Config { return e.as.cfg }

// Events returns the System Log events of the hook calls kept in memory,
// oldest first.
func (e *Emulator) Events() []hookcall.Event { return e.log.Events() }

// checkPassword reports whether password is u's. It runs bcrypt whether
// or not the user exists or may sign in, so timing reveals neither.
func (e *Emulator) checkPassword(u *User, password string) bool {
	hash := e.dummyHash
	if u != nil {
		hash = e.passwordHashes[u.ID]
	}
	ok := bcrypt.CompareHashAndPassword(hash(), []byte(password)) == nil
	return ok && u != nil && u.Status == "ACTIVE"
}

// mintedTokens are signed tokens ready for a response.
type mintedTokens struct {
	idToken     string
	accessToken string
	accessJTI   string
	expiresIn   int // the access token's lifetime, as the hook left it
	scopes      []string
	refreshJTI  string
}

// hookTriggers reports whether a mint of the grant calls the hook, like
// the grant type condition of the policy rule that names it.
func (e *Emulator) hookTriggers(grant string) bool {
	if e.caller == nil {
		return false
	}
	g := e.as.cfg.Hook.GrantTypes
	return len(g) == 0 || slices.Contains(g, grant)
}

// mint builds the tokens m describes, calls the hook when it applies, and
// signs what Okta would sign: the patched tokens when the hook's answer is
// applied, the unmodified ones otherwise. A denying hook returns the OAuth
// error server_error with the hook's summary.
func (e *Emulator) mint(ctx context.Context, m *mintRequest) (*mintedTokens, *oauthError) {
	req := e.as.payload(m, e.now())
	result := before(req)
	verdict := "none"
	if e.hookTriggers(m.grantType) {
		out := e.caller.Call(ctx, req)
		verdict = string(out.Verdict)
		if out.Verdict == hookcall.Denied {
			summary := out.ErrorSummary
			if summary == "" {
				summary = inlinehook.DefaultErrorSummary
			}
			e.logger.Info("token request denied by the hook", "grant", m.grantType, "client_id", m.client.ID)
			return nil, &oauthError{status: e.as.cfg.Hook.DeniedStatus, code: "server_error", description: summary}
		}
		if out.After != nil {
			result = out.After
		}
	}
	iat := e.now()
	t := &mintedTokens{scopes: m.scopes, refreshJTI: m.refreshJTI}
	var err error
	if a := result.Access; a != nil && m.accessToken {
		claims := copyClaims(a.Claims)
		scp := make([]any, len(m.scopes))
		for i, s := range m.scopes {
			scp[i] = s
		}
		claims["scp"] = scp
		claims["iat"] = float64(iat.Unix())
		claims["exp"] = float64(iat.Unix() + int64(a.Lifetime))
		t.accessJTI, _ = claims["jti"].(string)
		t.expiresIn = a.Lifetime
		if t.accessToken, err = e.sign(claims); err != nil {
			return nil, e.internalError(err)
		}
	}
	if id := result.Identity; id != nil && m.idToken {
		claims := copyClaims(id.Claims)
		claims["iat"] = float64(iat.Unix())
		claims["exp"] = float64(iat.Unix() + int64(id.Lifetime))
		if t.accessToken != "" {
			claims["at_hash"] = halfHash(t.accessToken)
		}
		if t.idToken, err = e.sign(claims); err != nil {
			return nil, e.internalError(err)
		}
	}
	e.logger.Info("tokens minted", "grant", m.grantType, "client_id", m.client.ID,
		"id_token", t.idToken != "", "access_token", t.accessToken != "", "refresh_token", t.refreshJTI != "", "hook", verdict)
	return t, nil
}

func (e *Emulator) internalError(err error) *oauthError {
	e.logger.Error("signing failed", "error", err)
	return &oauthError{status: http.StatusInternalServerError, code: "server_error", description: "The server could not sign the tokens."}
}

// sign serializes claims as a compact JWS, RS256 with the current key's
// kid.
func (e *Emulator) sign(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims, json.Deterministic(true))
	if err != nil {
		return "", err
	}
	exp, _ := claims["exp"].(float64)
	jws, err := e.signerFor(time.Unix(int64(exp), 0)).Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// halfHash is at_hash: the left half of the token's SHA-256, base64url
// (OpenID Connect Core §3.2.2.9).
func halfHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// verifyToken checks a JWT the emulator signed and returns its claims. It
// checks the signature with the published key of its kid (the current one
// or a previous one still kept), the issuer, and, unless ignoreExpiry,
// that it has not expired.
func (e *Emulator) verifyToken(token string, ignoreExpiry bool) (map[string]any, bool) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, false
	}
	pub := e.ring.publicKey(jws.Signatures[0].Header.KeyID, e.now())
	if pub == nil {
		return nil, false
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, false
	}
	if iss, _ := claims["iss"].(string); iss != e.as.issuer {
		return nil, false
	}
	exp, _ := claims["exp"].(float64)
	if !ignoreExpiry && float64(e.now().Unix()) >= exp {
		return nil, false
	}
	return claims, true
}

// verifyAccessToken verifies an access token the emulator issued and that
// is neither expired nor revoked.
func (e *Emulator) verifyAccessToken(token string) (map[string]any, bool) {
	claims, ok := e.verifyToken(token, false)
	if !ok {
		return nil, false
	}
	jti, _ := claims["jti"].(string)
	if !strings.HasPrefix(jti, "AT.") {
		return nil, false // an ID token is not an access token
	}
	if _, revoked := e.revoked.get(jti); revoked {
		return nil, false
	}
	return claims, true
}
