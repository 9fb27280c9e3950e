// Package config turns a YAML file and TOKENHOOK_* environment variables into
// tokenhook's typed configuration.
//
// Our own file is decoded strictly: an unknown key is an error, because a
// misspelt key silently ignored is a claim silently missing from every token.
// Environment variables override the file, so secrets never need to be in it.
// [Config.Validate] reports every problem at once.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"go.yaml.in/yaml/v3"

	"github.com/tokenhook/tokenhook/internal/rules"
)

// EnvPrefix prefixes every environment variable that overrides the file.
const EnvPrefix = "TOKENHOOK_"

// Config is tokenhook's whole configuration. Its zero value is not usable;
// start from [Default].
type Config struct {
	// secretsInFile records that the YAML file itself holds a secret,
	// which production mode (auth.require) refuses.
	secretsInFile bool

	Server Server `yaml:"server" envPrefix:""`
	Store  Store  `yaml:"store" envPrefix:""`
	Auth   Auth   `yaml:"auth" envPrefix:"AUTH_"`
	Log    Log    `yaml:"log" envPrefix:"LOG_"`
	// Claims is the shorthand for the common case: one store lookup by
	// login and attributes copied into claims. It becomes a lookup named
	// user and one rule per mapping.
	Claims Claims `yaml:"claims"`
	// Lookups and Rules are the claim rules in full (docs/rules.md).
	Lookups []rules.LookupSpec `yaml:"lookups"`
	Rules   []rules.RuleSpec   `yaml:"rules"`
	Policy  Policy             `yaml:"policy" envPrefix:"POLICY_"`
	Cache   Cache              `yaml:"cache" envPrefix:"CACHE_"`
	Limits  Limits             `yaml:"limits" envPrefix:"LIMITS_"`
	Metrics Metrics            `yaml:"metrics" envPrefix:"METRICS_"`
	Tracing Tracing            `yaml:"tracing" envPrefix:"TRACING_"`
	Audit   Audit              `yaml:"audit" envPrefix:"AUDIT_"`
}

// MetricsOff, as metrics.listen, turns the admin listener off.
const MetricsOff = "off"

// Metrics configures the admin listener: Prometheus metrics, /healthz and
// /readyz, apart from the hook's listener so that neither Okta nor the
// internet reaches them.
type Metrics struct {
	// Listen is the admin listener's host:port, or "off".
	Listen string `yaml:"listen" env:"LISTEN"`
	// Path is where the metrics are served.
	Path string `yaml:"path" env:"PATH"`
}

// Enabled reports whether the admin listener runs.
func (m Metrics) Enabled() bool { return m.Listen != MetricsOff }

// Tracing configures OpenTelemetry traces, exported over OTLP/HTTP.
type Tracing struct {
	// Endpoint is the OTLP/HTTP receiver's base URL (spans go to
	// Endpoint/v1/traces), e.g. http://otel-collector:4318; empty turns
	// tracing off.
	Endpoint string `yaml:"endpoint" env:"ENDPOINT"`
	// SampleRatio is the share of calls traced (0 to 1), unless the
	// caller's traceparent decides.
	SampleRatio float64 `yaml:"sample_ratio" env:"SAMPLE_RATIO"`
	// ServiceName is the service.name resource attribute.
	ServiceName string `yaml:"service_name" env:"SERVICE_NAME"`
}

// What Audit.DebugContext may list.
const (
	DebugLookups = "lookups"
	DebugRules   = "rules"
)

// Audit login modes.
const (
	AuditLoginOmit = "omit" // the login never appears in the audit line
	AuditLoginHash = "hash" // an HMAC-SHA256 of it, keyed by hash_key
)

// Audit configures the line logged per hook call and the debugContext
// sent back to Okta. Neither ever holds a claim value.
type Audit struct {
	// Login says whether the user's login (personal data) is in the line:
	// omit (default; the Okta user id is always there) or hash.
	Login string `yaml:"login" env:"LOGIN"`
	// HashKey keys the login's HMAC, so that a log reader cannot hash
	// known logins to find their lines. A secret: give it through the
	// environment or HashKeyFile.
	HashKey     string `yaml:"hash_key" env:"HASH_KEY"`
	HashKeyFile string `yaml:"hash_key_file" env:"HASH_KEY_FILE"`
	// DebugContext lists what tokenhook puts in the response's
	// debugContext, which Okta copies into its System Log: "lookups"
	// (each lookup's result: found, not_found, stale, failed, skipped),
	// "rules" (the names of the rules whose commands were sent). Empty
	// sends none. Only on answers with commands or an error: a call with
	// nothing to do stays a 204.
	DebugContext []string `yaml:"debug_context" env:"DEBUG_CONTEXT"`
}

// TLS makes serve speak HTTPS itself. Without CertFile and KeyFile it
// serves plain HTTP, for a TLS-terminating proxy in front of it.
type TLS struct {
	// CertFile and KeyFile are PEM files: the certificate chain and its
	// key. They are read again when they change on disk, so a renewed
	// certificate is served without a restart.
	CertFile string `yaml:"cert_file" env:"CERT_FILE"`
	KeyFile  string `yaml:"key_file" env:"KEY_FILE"`
	// MinVersion is "1.2" (default) or "1.3".
	MinVersion string `yaml:"min_version" env:"MIN_VERSION"`
}

// Enabled reports whether serve speaks HTTPS.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Limits bound what a caller may make the server do. Okta's requests are a
// few KB with shallow JSON; anything far beyond is not Okta.
type Limits struct {
	// MaxJSONDepth bounds the nesting of the request's JSON.
	MaxJSONDepth int `yaml:"max_json_depth" env:"MAX_JSON_DEPTH"`
	// MaxStringBytes bounds each JSON string of the request (names and
	// values), after unescaping.
	MaxStringBytes int `yaml:"max_string_bytes" env:"MAX_STRING_BYTES"`
	// RatePerSource limits each client address to this many requests a
	// second (with bursts of RateBurst); 0 turns the limit off. Behind a
	// proxy, every request has the proxy's address: leave it off there.
	RatePerSource float64 `yaml:"rate_per_source" env:"RATE_PER_SOURCE"`
	RateBurst     int     `yaml:"rate_burst" env:"RATE_BURST"`
	// ReplayWindow rejects a request whose eventId was seen within the
	// window (409); 0 turns the guard off. Okta never retries a token
	// hook, so a repeated eventId is a replay.
	ReplayWindow time.Duration `yaml:"replay_window" env:"REPLAY_WINDOW"`
}

// Policy bounds a hook call in time and says what a failure costs. Okta
// gives the hook 3 s in total and does not retry, so the answer must
// arrive in time even when the store is slow or down.
type Policy struct {
	// Budget is the deadline of one call's lookups; best-effort lookups
	// still unanswered then are given up, and the answer goes out.
	Budget time.Duration `yaml:"budget" env:"BUDGET"`
	// StoreTimeout bounds each store call within the budget.
	StoreTimeout time.Duration `yaml:"store_timeout" env:"STORE_TIMEOUT"`
	// FailureSummary is the errorSummary Okta shows (to users too) when a
	// required lookup or rule fails and the token is denied; empty means the
	// core's default (tokenhook.DefaultFailureSummary).
	FailureSummary string `yaml:"failure_summary" env:"FAILURE_SUMMARY"`
	// MaxRuleCost bounds each rule expression, in CEL cost units,
	// estimated at load and counted at run time.
	MaxRuleCost uint64 `yaml:"max_rule_cost" env:"MAX_RULE_COST"`
}

// Cache configures the cache in front of the users store.
type Cache struct {
	// Enabled puts the cache in front of the store (default true).
	Enabled bool `yaml:"enabled" env:"ENABLED"`
	// TTL is how long a found record is served without asking the store;
	// a change in the store reaches tokens within it.
	TTL time.Duration `yaml:"ttl" env:"TTL"`
	// NegativeTTL is how long "no such record" is remembered; a record
	// added to the store reaches tokens within it.
	NegativeTTL time.Duration `yaml:"negative_ttl" env:"NEGATIVE_TTL"`
	// StaleFor is how long past its TTL a record (or its absence) may still
	// be served while the store fails: last known good. Zero turns it off.
	StaleFor time.Duration `yaml:"stale_for" env:"STALE_FOR"`
	// MaxEntries bounds the cache's size.
	MaxEntries int `yaml:"max_entries" env:"MAX_ENTRIES"`
}

// Server configures the HTTP listener.
type Server struct {
	// Listen is the address to listen on, host:port.
	Listen string `yaml:"listen" env:"LISTEN"`
	// Path is where Okta POSTs the hook request.
	Path string `yaml:"path" env:"HOOK_PATH"`
	// MaxBodyBytes caps the request body; larger bodies get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes" env:"MAX_BODY_BYTES"`
	// Timeouts of the HTTP server. Okta gives a hook 3 s in total, so the
	// defaults stay well inside that.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" env:"READ_HEADER_TIMEOUT"`
	ReadTimeout       time.Duration `yaml:"read_timeout" env:"READ_TIMEOUT"`
	WriteTimeout      time.Duration `yaml:"write_timeout" env:"WRITE_TIMEOUT"`
	IdleTimeout       time.Duration `yaml:"idle_timeout" env:"IDLE_TIMEOUT"`
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after SIGTERM or SIGINT.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"SHUTDOWN_TIMEOUT"`
	// MaxHeaderBytes bounds the request's header section.
	MaxHeaderBytes int `yaml:"max_header_bytes" env:"MAX_HEADER_BYTES"`
	// MaxConnections bounds the connections served at once; more wait to
	// be accepted. 0 means no bound.
	MaxConnections int `yaml:"max_connections" env:"MAX_CONNECTIONS"`
	// TLS serves HTTPS from a certificate and key.
	TLS TLS `yaml:"tls" envPrefix:"TLS_"`
	// GCPercent is the garbage collector's GOGC for serve, unless the GOGC
	// environment variable sets it. The hook's live heap is a few MB and
	// every call allocates ~10 KB, so Go's default of 100 collects dozens
	// of times a second under load; 400 spends a fifth less CPU per call
	// for some 20 MB more memory (docs/performance.md). 0 keeps Go's.
	GCPercent int `yaml:"gc_percent" env:"GC_PERCENT"`
}

// Store selects the users store by DSN: "sqlite:PATH", "memory:".
type Store struct {
	DSN string `yaml:"dsn" env:"STORE"`
}

// Auth configures how Okta's call is authenticated. Header and Basic may be
// combined: a request passes when either accepts it.
type Auth struct {
	// Require refuses to start without a configured secret (production
	// mode). Without it, serve generates a random secret for the run.
	Require bool       `yaml:"require" env:"REQUIRE"`
	Header  HeaderAuth `yaml:"header" envPrefix:"HEADER_"`
	Basic   BasicAuth  `yaml:"basic" envPrefix:"BASIC_"`
	// Bearer accepts OAuth 2.0 access tokens: Okta's "OAuth 2.0 – client
	// secret" and "– private key" schemes.
	Bearer BearerAuth `yaml:"bearer" envPrefix:"BEARER_"`
}

// BearerAuth validates "Authorization: Bearer <JWT>" against an issuer's
// keys. Okta fetches the token from the authorization server the hook is
// registered with and sends it on every call.
type BearerAuth struct {
	// Issuer is the token's required iss, e.g.
	// https://example.okta.com/oauth2/aus1hook; setting it turns the
	// scheme on. Its keys come from JWKSURI, else from the issuer's
	// discovery document.
	Issuer  string `yaml:"issuer" env:"ISSUER"`
	JWKSURI string `yaml:"jwks_uri" env:"JWKS_URI"`
	// Audience lists the accepted aud values (at least one is required).
	Audience []string `yaml:"audience" env:"AUDIENCE"`
	// Scope is a scope the token must carry (scp), the custom scope
	// created for the hook. Empty: none required.
	Scope string `yaml:"scope" env:"SCOPE"`
	// ClientIDs, when set, restricts cid to these clients.
	ClientIDs []string `yaml:"client_ids" env:"CLIENT_IDS"`
	// Algorithms are the accepted signature algorithms (default RS256).
	// none and the HMAC algorithms are always refused: the issuer's keys
	// are public.
	Algorithms []string `yaml:"algorithms" env:"ALGORITHMS"`
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration `yaml:"leeway" env:"LEEWAY"`
	// KeysRefreshMin is the least time between two fetches of the keys
	// for a token signed with an unknown kid.
	KeysRefreshMin time.Duration `yaml:"keys_refresh_min" env:"KEYS_REFRESH_MIN"`
}

// Enabled reports whether the bearer scheme is configured.
func (b BearerAuth) Enabled() bool { return b.Issuer != "" }

// HeaderAuth accepts a request whose header Name carries one of Values
// verbatim. Several values let a secret be rotated without downtime.
type HeaderAuth struct {
	Name   string   `yaml:"name" env:"NAME"`
	Values []string `yaml:"values" env:"VALUES"`
	// ValuesFile names a file of secrets, one a line, added to Values:
	// a mounted secret, so that none is in the file or the environment.
	ValuesFile string `yaml:"values_file" env:"VALUES_FILE"`
}

// BasicAuth accepts HTTP Basic credentials, as Okta's guide configures them
// ("Basic " + base64(user:password) in the Authorization header).
type BasicAuth struct {
	Username string `yaml:"username" env:"USERNAME"`
	Password string `yaml:"password" env:"PASSWORD"`
	// PasswordFile names a file holding the password (a trailing newline
	// is dropped), instead of Password.
	PasswordFile string `yaml:"password_file" env:"PASSWORD_FILE"`
}

// Configured reports whether any secret is configured.
func (a Auth) Configured() bool {
	return len(a.Header.Values) > 0 || a.Basic.Username != "" || a.Basic.Password != "" || a.Bearer.Enabled()
}

// Log configures logging.
type Log struct {
	Format string `yaml:"format" env:"FORMAT"` // text or json
	Level  string `yaml:"level" env:"LEVEL"`   // debug, info, warn, error
}

// Claims maps store attributes to token claims.
type Claims struct {
	// LookupKeys are tried in order; the first non-empty one is the key of
	// the store record. See [LookupSources] for what may be named.
	LookupKeys []string `yaml:"lookup_keys" env:"LOOKUP_KEYS"`
	// Mappings turn attributes of the record found into claims.
	Mappings []Mapping `yaml:"mappings"`
}

// Mapping puts one attribute of the user record into one claim.
type Mapping struct {
	Claim     string `yaml:"claim"`     // claim name in the token
	Attribute string `yaml:"attribute"` // attribute of the user record; defaults to Claim
	Token     string `yaml:"token"`     // id, access or both; defaults to id
}

// ValidToken reports whether m.Token names id, access or both.
func (m Mapping) ValidToken() bool {
	switch m.Token {
	case TokenID, TokenAccess, TokenBoth:
		return true
	}
	return false
}

// Token names for [Mapping.Token].
const (
	TokenID     = "id"
	TokenAccess = "access"
	TokenBoth   = "both"
)

// Lookup sources that [Claims.LookupKeys] may name. The claims forms take a
// claim name after the last dot.
const (
	SourceUserLogin       = "data.context.user.profile.login"
	SourceUserID          = "data.context.user.id"
	SourceSessionLogin    = "data.context.session.login"
	SourceClientID        = "data.context.protocol.client.id"
	SourceIdentityClaims  = "data.identity.claims."
	SourceAccessClaims    = "data.access.claims."
	defaultListen         = ":8082"
	defaultHookPath       = "/hooks/okta/token"
	defaultStoreDSN       = "sqlite:tokenhook.db"
	defaultMaxBodyBytes   = 1 << 20
	defaultPatientIDClaim = "patientId"
)

// LookupSources lists the fixed lookup sources, for messages and docs.
var LookupSources = []string{SourceUserLogin, SourceUserID, SourceSessionLogin, SourceClientID,
	SourceIdentityClaims + "NAME", SourceAccessClaims + "NAME"}

// Default returns the configuration used when the file leaves a field out:
// the guide's patient scenario on the embedded SQLite store.
func Default() Config {
	return Config{
		Server: Server{
			Listen:            defaultListen,
			Path:              defaultHookPath,
			MaxBodyBytes:      defaultMaxBodyBytes,
			ReadHeaderTimeout: 2 * time.Second,
			ReadTimeout:       5 * time.Second,
			WriteTimeout:      5 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   10 * time.Second,
			GCPercent:         400,
			MaxHeaderBytes:    32 << 10,
			MaxConnections:    4096,
			TLS:               TLS{MinVersion: "1.2"},
		},
		Store: Store{DSN: defaultStoreDSN},
		Auth:  Auth{Bearer: BearerAuth{Algorithms: []string{"RS256"}, Leeway: 30 * time.Second, KeysRefreshMin: 30 * time.Second}},
		Log:   Log{Format: "text", Level: "info"},
		Claims: Claims{
			LookupKeys: []string{SourceUserLogin, SourceIdentityClaims + "preferred_username"},
			Mappings:   DefaultMappings(),
		},
		Policy: Policy{
			Budget:       2 * time.Second,
			StoreTimeout: time.Second,
			MaxRuleCost:  rules.DefaultMaxCost,
		},
		Limits:  Limits{MaxJSONDepth: 32, MaxStringBytes: 64 << 10, RateBurst: 20},
		Metrics: Metrics{Listen: "127.0.0.1:9464", Path: "/metrics"},
		Tracing: Tracing{SampleRatio: 1, ServiceName: "tokenhook"},
		Audit:   Audit{Login: AuditLoginOmit, DebugContext: []string{DebugLookups, DebugRules}},
		Cache: Cache{
			Enabled:     true,
			TTL:         30 * time.Second,
			NegativeTTL: 5 * time.Second,
			StaleFor:    time.Hour,
			MaxEntries:  100_000,
		},
	}
}

// DefaultMappings is the guide's scenario: the record's patientId in the
// ID token. It applies when the file configures no mappings, lookups or
// rules.
func DefaultMappings() []Mapping {
	return []Mapping{{Claim: defaultPatientIDClaim, Attribute: defaultPatientIDClaim, Token: TokenID}}
}

// Load reads the YAML file at path (none when path is ""), applies the
// environment overrides from environ ("KEY=value" pairs, as os.Environ
// returns them) and fills defaults. It does not validate: call Validate.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		defer f.Close()
		if err := Decode(f, &cfg); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
		cfg.secretsInFile = len(cfg.Auth.Header.Values) > 0 || cfg.Auth.Basic.Password != "" || cfg.Audit.HashKey != ""
	}
	if err := env.ParseWithOptions(&cfg, env.Options{
		Prefix:      EnvPrefix,
		Environment: envMap(environ),
	}); err != nil {
		return Config{}, fmt.Errorf("config: environment: %w", err)
	}
	if err := cfg.readSecretFiles(); err != nil {
		return Config{}, err
	}
	cfg.fillDefaults()
	return cfg, nil
}

// readSecretFiles reads the secrets the configuration names files for.
// Errors name the file, never its content.
func (c *Config) readSecretFiles() error {
	if name := c.Auth.Basic.PasswordFile; name != "" {
		if c.Auth.Basic.Password != "" {
			return errors.New("config: auth.basic: password and password_file are exclusive")
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("config: auth.basic.password_file: %w", err)
		}
		c.Auth.Basic.Password = strings.TrimRight(string(b), "\r\n")
	}
	if name := c.Audit.HashKeyFile; name != "" {
		if c.Audit.HashKey != "" {
			return errors.New("config: audit: hash_key and hash_key_file are exclusive")
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("config: audit.hash_key_file: %w", err)
		}
		c.Audit.HashKey = strings.TrimRight(string(b), "\r\n")
	}
	if name := c.Auth.Header.ValuesFile; name != "" {
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("config: auth.header.values_file: %w", err)
		}
		for line := range strings.Lines(string(b)) {
			if v := strings.TrimRight(line, "\r\n"); v != "" {
				c.Auth.Header.Values = append(c.Auth.Header.Values, v)
			}
		}
	}
	return nil
}

// Decode decodes YAML into cfg strictly: unknown keys are errors. Keys the
// document leaves out keep the value cfg already has.
func Decode(r io.Reader, cfg *Config) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	// A mappings list in the file replaces the default one rather than
	// merging into it element by element.
	cfg.Claims.Mappings = nil
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return err
	}
	if cfg.Claims.Mappings == nil && len(cfg.Lookups) == 0 && len(cfg.Rules) == 0 {
		cfg.Claims.Mappings = DefaultMappings()
	}
	return nil
}

func (c *Config) fillDefaults() {
	for i := range c.Claims.Mappings {
		m := &c.Claims.Mappings[i]
		if m.Attribute == "" {
			m.Attribute = m.Claim
		}
		if m.Token == "" {
			m.Token = TokenID
		}
	}
}

// Validate reports every structural problem of the configuration at once,
// joined, or nil. What the rules mean (expressions, Okta's reserved claims,
// two rules writing one claim) is checked when they compile: see
// setup.LoadConfig, which reports both together.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		add("server.listen %q: want host:port", c.Server.Listen)
	}
	if !strings.HasPrefix(c.Server.Path, "/") || strings.ContainsAny(c.Server.Path, " {}") || c.Server.Path == "/healthz" || c.Server.Path == "/readyz" {
		add("server.path %q: want an absolute path other than /healthz and /readyz, without spaces or braces", c.Server.Path)
	}
	if c.Server.MaxBodyBytes < 4096 {
		add("server.max_body_bytes %d: want at least 4096 (Okta's requests are a few KB)", c.Server.MaxBodyBytes)
	}
	for name, d := range map[string]time.Duration{
		"read_header_timeout": c.Server.ReadHeaderTimeout, "read_timeout": c.Server.ReadTimeout,
		"write_timeout": c.Server.WriteTimeout, "idle_timeout": c.Server.IdleTimeout,
		"shutdown_timeout": c.Server.ShutdownTimeout,
	} {
		if d <= 0 {
			add("server.%s %s: want a positive duration", name, d)
		}
	}
	if c.Server.MaxHeaderBytes < 4096 {
		add("server.max_header_bytes %d: want at least 4096", c.Server.MaxHeaderBytes)
	}
	if c.Server.MaxConnections < 0 {
		add("server.max_connections %d: want 0 (no bound) or a positive number", c.Server.MaxConnections)
	}
	if t := c.Server.TLS; t.Enabled() && (t.CertFile == "" || t.KeyFile == "") {
		add("server.tls: cert_file and key_file go together")
	}
	switch c.Server.TLS.MinVersion {
	case "1.2", "1.3":
	default:
		add("server.tls.min_version %q: want 1.2 or 1.3", c.Server.TLS.MinVersion)
	}
	if m := c.Metrics; m.Enabled() {
		if _, port, err := net.SplitHostPort(m.Listen); err != nil {
			add("metrics.listen %q: want host:port, or off", m.Listen)
		} else if m.Listen == c.Server.Listen && port != "0" {
			add("metrics.listen %q: the hook's own address (server.listen); give the admin listener another port", m.Listen)
		}
		if !strings.HasPrefix(m.Path, "/") || m.Path == "/healthz" || m.Path == "/readyz" {
			add("metrics.path %q: want an absolute path other than /healthz and /readyz", m.Path)
		}
	}
	if t := c.Tracing; t.Endpoint != "" {
		if u, err := url.Parse(t.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("tracing.endpoint %q: want the OTLP/HTTP receiver's http:// or https:// URL, e.g. http://otel-collector:4318", t.Endpoint)
		}
	}
	if r := c.Tracing.SampleRatio; r < 0 || r > 1 {
		add("tracing.sample_ratio %v: want 0 to 1", r)
	}
	switch c.Audit.Login {
	case AuditLoginOmit:
	case AuditLoginHash:
		if len(c.Audit.HashKey) < 16 {
			add("audit.hash_key: at least 16 characters are required with audit.login: hash (TOKENHOOK_AUDIT_HASH_KEY or audit.hash_key_file)")
		}
	default:
		add("audit.login %q: want omit or hash", c.Audit.Login)
	}
	for _, d := range c.Audit.DebugContext {
		if d != DebugLookups && d != DebugRules {
			add("audit.debug_context %q: want lookups or rules", d)
		}
	}
	if l := c.Limits; l.MaxJSONDepth < 8 || l.MaxStringBytes < 1024 {
		add("limits.max_json_depth %d, limits.max_string_bytes %d: want at least 8 and 1024 (Okta's requests need them)", l.MaxJSONDepth, l.MaxStringBytes)
	}
	if l := c.Limits; l.RatePerSource < 0 || (l.RatePerSource > 0 && l.RateBurst < 1) || l.ReplayWindow < 0 {
		add("limits: rate_per_source and replay_window must not be negative, rate_burst at least 1 with a rate")
	}
	if b := c.Auth.Bearer; b.Enabled() {
		if !strings.HasPrefix(b.Issuer, "https://") && !strings.HasPrefix(b.Issuer, "http://127.0.0.1") && !strings.HasPrefix(b.Issuer, "http://localhost") {
			add("auth.bearer.issuer %q: want an https:// URL (http:// only to this machine, for the emulator)", b.Issuer)
		}
		if len(b.Audience) == 0 {
			add("auth.bearer.audience: at least one is required with auth.bearer.issuer")
		}
		for _, alg := range b.Algorithms {
			switch {
			case strings.EqualFold(alg, "none") || strings.HasPrefix(strings.ToUpper(alg), "HS"):
				add("auth.bearer.algorithms: %q is refused: the issuer's keys are public", alg)
			case !slices.Contains([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}, alg):
				add("auth.bearer.algorithms: %q: want RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or ES512", alg)
			}
		}
		if b.Leeway < 0 || b.Leeway > 5*time.Minute {
			add("auth.bearer.leeway %s: want 0 to 5m", b.Leeway)
		}
	}
	if c.Server.GCPercent < 0 {
		add("server.gc_percent %d: want 0 (Go's default) or a positive percentage", c.Server.GCPercent)
	}
	if c.Store.DSN == "" {
		add("store.dsn: required (sqlite:PATH, postgres://USER@HOST/DB or memory:)")
	}
	if c.Auth.Require && !c.Auth.Configured() {
		add("auth.require: no secret configured (set auth.header or auth.basic, e.g. TOKENHOOK_AUTH_BASIC_USERNAME and TOKENHOOK_AUTH_BASIC_PASSWORD, or auth.bearer)")
	}
	if c.Auth.Require && c.secretsInFile {
		add("auth.require: the configuration file holds a secret (auth.header.values or auth.basic.password): in production give it through the environment or a *_file")
	}
	if len(c.Auth.Header.Values) > 0 && c.Auth.Header.Name == "" {
		add("auth.header.name: required when auth.header.values is set")
	}
	if c.Auth.Header.Name != "" && len(c.Auth.Header.Values) == 0 {
		add("auth.header.values: at least one secret is required when auth.header.name is set")
	}
	for i, v := range c.Auth.Header.Values {
		if len(v) < 16 {
			add("auth.header.values[%d]: a secret must be at least 16 characters", i)
		}
	}
	if (c.Auth.Basic.Username == "") != (c.Auth.Basic.Password == "") {
		add("auth.basic: username and password must both be set")
	}
	if strings.Contains(c.Auth.Basic.Username, ":") {
		add("auth.basic.username: must not contain ':'")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format %q: want text or json", c.Log.Format)
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		add("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	if len(c.Claims.LookupKeys) == 0 {
		add("claims.lookup_keys: at least one is required")
	}
	for i, k := range c.Claims.LookupKeys {
		if !ValidLookupSource(k) {
			add("claims.lookup_keys[%d] %q: want one of %s", i, k, strings.Join(LookupSources, ", "))
		}
	}
	for i, m := range c.Claims.Mappings {
		if m.Claim == "" {
			add("claims.mappings[%d].claim: required", i)
			continue
		}
		if m.Attribute == "" {
			add("claims.mappings[%d].attribute: required", i)
		}
		if !m.ValidToken() {
			add("claims.mappings[%d].token %q: want id, access or both", i, m.Token)
		}
	}
	p := c.Policy
	if p.Budget <= 0 || p.Budget >= 3*time.Second {
		add("policy.budget %s: want a positive duration under Okta's 3s", p.Budget)
	}
	if p.StoreTimeout <= 0 || p.StoreTimeout > p.Budget {
		add("policy.store_timeout %s: want a positive duration within policy.budget", p.StoreTimeout)
	}
	if len(p.FailureSummary) > 1024 {
		add("policy.failure_summary: want at most 1024 bytes")
	}
	if p.MaxRuleCost == 0 {
		add("policy.max_rule_cost: want a positive number")
	}
	if k := c.Cache; k.Enabled {
		if k.TTL <= 0 || k.NegativeTTL <= 0 {
			add("cache.ttl %s, cache.negative_ttl %s: want positive durations (or cache.enabled: false)", k.TTL, k.NegativeTTL)
		}
		if k.StaleFor < 0 {
			add("cache.stale_for %s: want zero (off) or a positive duration", k.StaleFor)
		}
		if k.MaxEntries <= 0 {
			add("cache.max_entries %d: want a positive number", k.MaxEntries)
		}
	}
	return errors.Join(errs...)
}

// ValidLookupSource reports whether s names a lookup source.
func ValidLookupSource(s string) bool {
	switch s {
	case SourceUserLogin, SourceUserID, SourceSessionLogin, SourceClientID:
		return true
	}
	for _, prefix := range []string{SourceIdentityClaims, SourceAccessClaims} {
		if name, ok := strings.CutPrefix(s, prefix); ok && name != "" {
			return true
		}
	}
	return false
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
