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
	"os"
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
}

// HeaderAuth accepts a request whose header Name carries one of Values
// verbatim. Several values let a secret be rotated without downtime.
type HeaderAuth struct {
	Name   string   `yaml:"name" env:"NAME"`
	Values []string `yaml:"values" env:"VALUES"`
}

// BasicAuth accepts HTTP Basic credentials, as Okta's guide configures them
// ("Basic " + base64(user:password) in the Authorization header).
type BasicAuth struct {
	Username string `yaml:"username" env:"USERNAME"`
	Password string `yaml:"password" env:"PASSWORD"`
}

// Configured reports whether any secret is configured.
func (a Auth) Configured() bool {
	return len(a.Header.Values) > 0 || a.Basic.Username != "" || a.Basic.Password != ""
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
		},
		Store: Store{DSN: defaultStoreDSN},
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
	}
	if err := env.ParseWithOptions(&cfg, env.Options{
		Prefix:      EnvPrefix,
		Environment: envMap(environ),
	}); err != nil {
		return Config{}, fmt.Errorf("config: environment: %w", err)
	}
	cfg.fillDefaults()
	return cfg, nil
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
	if !strings.HasPrefix(c.Server.Path, "/") || strings.ContainsAny(c.Server.Path, " {}") || c.Server.Path == "/healthz" {
		add("server.path %q: want an absolute path other than /healthz, without spaces or braces", c.Server.Path)
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
	if c.Server.GCPercent < 0 {
		add("server.gc_percent %d: want 0 (Go's default) or a positive percentage", c.Server.GCPercent)
	}
	if c.Store.DSN == "" {
		add("store.dsn: required (sqlite:PATH, postgres://USER@HOST/DB or memory:)")
	}
	if c.Auth.Require && !c.Auth.Configured() {
		add("auth.require: no secret configured (set auth.header or auth.basic, e.g. TOKENHOOK_AUTH_BASIC_USERNAME and TOKENHOOK_AUTH_BASIC_PASSWORD)")
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
