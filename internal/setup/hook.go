package setup

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/hookauth"
	"github.com/tokenhook/tokenhook/internal/rules"
	"github.com/tokenhook/tokenhook/internal/server"
	"github.com/tokenhook/tokenhook/internal/telemetry"
	"github.com/tokenhook/tokenhook/internal/tokenhook"
	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/cache"
	"github.com/tokenhook/tokenhook/internal/version"
)

// ShorthandLookup names the lookup the claims shorthand (lookup_keys and
// mappings) defines, unless the configuration's lookups define one of
// that name themselves.
const ShorthandLookup = "user"

// RuleSpec returns the rules cfg configures: its lookups and rules, after
// those the claims shorthand stands for — a lookup named user keyed by the
// first non-empty of claims.lookup_keys, and one rule per mapping copying
// an attribute of that record into a claim (left out when the record or
// the attribute is missing). Invalid mappings are left out: Validate
// reports them.
func RuleSpec(cfg config.Config) rules.Spec {
	spec := rules.Spec{Lookups: cfg.Lookups}
	var mappings []rules.RuleSpec
	for i, m := range cfg.Claims.Mappings {
		if m.Claim == "" || m.Attribute == "" || !m.ValidToken() {
			continue
		}
		mappings = append(mappings, rules.RuleSpec{
			Name:  fmt.Sprintf("claims.mappings[%d] %s", i, m.Claim),
			Token: m.Token,
			Claim: m.Claim,
			Value: fmt.Sprintf("%s[?%q]", ShorthandLookup, m.Attribute),
		})
	}
	defined := false
	for _, l := range cfg.Lookups {
		defined = defined || l.Name == ShorthandLookup
	}
	if len(mappings) > 0 && !defined {
		if key := lookupKeyExpr(cfg.Claims.LookupKeys); key != "" {
			spec.Lookups = append([]rules.LookupSpec{{Name: ShorthandLookup, Key: key}}, spec.Lookups...)
		}
	}
	spec.Rules = append(mappings, cfg.Rules...)
	return spec
}

// lookupKeyExpr is the CEL expression of the first non-empty string among
// the lookup sources, "" when none is valid.
func lookupKeyExpr(sources []string) string {
	if slices.Equal(sources, []string{config.SourceUserLogin, config.SourceIdentityClaims + "preferred_username"}) {
		// The default: exactly the login input, which costs less than
		// the expression spelled out.
		return tokenhook.InputLogin
	}
	expr := `""`
	for i := len(sources) - 1; i >= 0; i-- {
		s := sourceExpr(sources[i])
		if s == "" {
			continue
		}
		if expr == `""` {
			expr = s
		} else {
			expr = fmt.Sprintf("%s != \"\" ? %s : (%s)", s, s, expr)
		}
	}
	if expr == `""` {
		return ""
	}
	return expr
}

// sourceExpr is the CEL expression of one lookup source: a string, "" when
// the request lacks it or it is not a string.
func sourceExpr(src string) string {
	switch src {
	case config.SourceUserLogin, config.SourceUserID, config.SourceSessionLogin, config.SourceClientID:
		return "request." + src
	}
	for _, prefix := range []string{config.SourceIdentityClaims, config.SourceAccessClaims} {
		name, ok := strings.CutPrefix(src, prefix)
		if !ok || name == "" {
			continue
		}
		claims := "request." + strings.TrimSuffix(prefix, ".")
		// has() keeps the partial decode to this one claim; a name that is
		// not an identifier needs the in operator, which decodes them all.
		present := fmt.Sprintf("%q in %s", name, claims)
		value := fmt.Sprintf("%s[%q]", claims, name)
		if isIdent(name) {
			present, value = fmt.Sprintf("has(%s.%s)", claims, name), claims+"."+name
		}
		return fmt.Sprintf("(%s && type(%s) == string ? string(%s) : \"\")", present, value, value)
	}
	return ""
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// CompileRules compiles cfg's rules against Okta's reserved claims.
func CompileRules(cfg config.Config) (*rules.Program, error) {
	return rules.Compile(RuleSpec(cfg), tokenhook.RulesEnv(inlinehook.Rules{}, cfg.Policy.MaxRuleCost))
}

// Finder returns what the core looks records up in: the cache cfg
// configures in front of store, or the store itself.
func Finder(cfg config.Config, store cache.Getter) (tokenhook.Finder, *cache.Cache) {
	k := cfg.Cache
	if !k.Enabled {
		return storeFinder{store}, nil
	}
	staleFor := k.StaleFor
	if staleFor == 0 {
		staleFor = -1 // the configuration's zero turns stale serving off; the cache's zero is its default
	}
	c := cache.New(store, cache.Config{
		TTL: k.TTL, NegativeTTL: k.NegativeTTL, StaleFor: staleFor, MaxEntries: k.MaxEntries,
		// The core bounds its wait for each lookup by the same timeout; this
		// bounds the load itself, for a store that ignores its context.
		LoadTimeout: cfg.Policy.StoreTimeout,
	})
	return cacheFinder{c}, c
}

// storeFinder looks records up in the store directly.
type storeFinder struct{ store cache.Getter }

func (f storeFinder) Find(ctx context.Context, key string) (tokenhook.Record, error) {
	u, err := f.store.Get(ctx, key)
	switch {
	case errors.Is(err, user.ErrNotFound):
		return tokenhook.Record{}, nil
	case err != nil:
		return tokenhook.Record{}, err
	}
	return tokenhook.Record{Attributes: u.Attributes, Found: true}, nil
}

// cacheFinder looks records up through the cache.
type cacheFinder struct{ cache *cache.Cache }

func (f cacheFinder) Find(ctx context.Context, key string) (tokenhook.Record, error) {
	r, err := f.cache.Lookup(ctx, key)
	if err != nil || !r.Found {
		return tokenhook.Record{Stale: r.Stale}, err
	}
	return tokenhook.Record{Attributes: r.User.Attributes, Found: true, Stale: r.Stale}, nil
}

// Peek implements tokenhook.Peeker: a fresh cache entry, with no store call.
func (f cacheFinder) Peek(key string) (tokenhook.Record, bool) {
	r, ok := f.cache.Peek(key)
	if !ok || !r.Found {
		return tokenhook.Record{}, ok
	}
	return tokenhook.Record{Attributes: r.User.Attributes, Found: true}, true
}

// Transformer builds the core over finder: cfg's rules, and its policy.
func Transformer(cfg config.Config, finder tokenhook.Finder, logger *slog.Logger) (*tokenhook.Engine, error) {
	return transformer(cfg, finder, logger, nil)
}

// transformer is Transformer with the hook's telemetry (nil: none).
func transformer(cfg config.Config, finder tokenhook.Finder, logger *slog.Logger, tel *Telemetry) (*tokenhook.Engine, error) {
	program, err := CompileRules(cfg)
	if err != nil {
		return nil, err
	}
	tc := tokenhook.Config{
		Program:        program,
		Finder:         finder,
		Budget:         cfg.Policy.Budget,
		StoreTimeout:   cfg.Policy.StoreTimeout,
		FailureSummary: cfg.Policy.FailureSummary,
		Logger:         logger,
		Limits:         inlinehook.Limits{MaxDepth: cfg.Limits.MaxJSONDepth, MaxStringBytes: cfg.Limits.MaxStringBytes},
		// The audit line and the call's span name the client, the grant
		// type and the user. At log level warn the answered calls' lines
		// are not written, so without tracing the protocol part (some 9 %
		// of the hook's own time) is left undecoded.
		Decode:       inlinehook.Parts{Protocol: auditsAnswers(cfg.Log) || cfg.Tracing.Endpoint != "", User: true},
		DebugContext: tokenhook.DebugContext{Lookups: slices.Contains(cfg.Audit.DebugContext, config.DebugLookups), Rules: slices.Contains(cfg.Audit.DebugContext, config.DebugRules)},
	}
	if tel != nil {
		tc.Observer, tc.Tracer = tel.coreObserver(), tel.tracer()
	}
	return tokenhook.New(tc)
}

// Hook is the hook server's parts, wired from one configuration: what
// `tokenhook serve` and the demo run. It is the server's http.Handler;
// [Hook.Reload] swaps in new authentication, rules and limits without a
// restart.
type Hook struct {
	// Store is the users store the handler reads; Close closes it.
	Store user.Store
	// Cache is the cache in front of the store, nil when it is off.
	Cache *cache.Cache
	// GeneratedSecret is the secret generated for this run when none is
	// configured ("" otherwise); the caller prints it once, never logs it.
	GeneratedSecret string

	// Telemetry is the hook's metrics and tracing, kept across reloads.
	Telemetry Telemetry

	handler  atomic.Pointer[server.Server]
	reloadMu sync.Mutex    // one Reload at a time
	started  config.Config // what the store, cache and listener were built from
	finder   tokenhook.Finder
	auth     hookauth.Authenticator // the generated secret's, kept across reloads
	ready    *readiness
	logger   *slog.Logger
}

// Telemetry is what operators watch the hook by.
type Telemetry struct {
	// Metrics are nil when the admin listener is off (metrics.listen: off).
	Metrics *telemetry.Metrics
	// Tracing is nil unless tracing.endpoint is set.
	Tracing *telemetry.Tracing
}

// The interfaces the server and the core take, nil (not a typed nil) for
// what is off.

func (t *Telemetry) callObserver() server.Observer {
	if t.Metrics == nil {
		return nil
	}
	return t.Metrics
}

func (t *Telemetry) coreObserver() tokenhook.Observer {
	if t.Metrics == nil {
		return nil
	}
	return t.Metrics
}

func (t *Telemetry) tracer() tokenhook.Tracer {
	if t.Tracing == nil {
		return nil
	}
	return t.Tracing
}

// NewHook opens the store and builds the authenticator, the cache, the core
// and the handler for cfg.
func NewHook(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Hook, error) {
	auth, generated, err := Authenticator(cfg.Auth)
	if err != nil {
		return nil, err
	}
	store, err := OpenStore(ctx, cfg.Store.DSN)
	if err != nil {
		return nil, err
	}
	var tel Telemetry
	var getter cache.Getter = store
	build := version.Get()
	if cfg.Metrics.Enabled() {
		tel.Metrics = telemetry.NewMetrics(build)
		getter = tel.Metrics.InstrumentStore(store)
	}
	if t := cfg.Tracing; t.Endpoint != "" {
		if tel.Tracing, err = telemetry.NewTracing(telemetry.TracingConfig{Endpoint: t.Endpoint, SampleRatio: t.SampleRatio, ServiceName: t.ServiceName}, build); err != nil {
			store.Close()
			return nil, err
		}
	}
	finder, c := Finder(cfg, getter)
	if c != nil && tel.Metrics != nil {
		tel.Metrics.RegisterCache(c)
	}
	h := &Hook{Store: store, Cache: c, GeneratedSecret: generated, Telemetry: tel, started: cfg, finder: finder,
		ready: &readiness{store: store, every: time.Second}, logger: logger}
	if generated != "" {
		h.auth = auth
	}
	if err := h.swap(cfg, auth); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// swap builds the handler for cfg and auth and makes it the one serving.
func (h *Hook) swap(cfg config.Config, auth hookauth.Authenticator) error {
	t, err := transformer(cfg, h.finder, h.logger, &h.Telemetry)
	if err != nil {
		return err
	}
	sc := serverConfig(cfg, auth, t, h.logger)
	sc.Ready = h.ready.check
	sc.Observer, sc.Tracer = h.Telemetry.callObserver(), h.Telemetry.tracer()
	if cfg.Audit.Login == config.AuditLoginHash {
		sc.HashLogin = loginHasher(cfg.Audit.HashKey)
	}
	if prev := h.handler.Load(); prev != nil {
		h.handler.Store(prev.Successor(sc))
	} else {
		h.handler.Store(server.New(sc))
	}
	return nil
}

// ServeHTTP implements http.Handler with the configuration in force.
func (h *Hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.handler.Load().ServeHTTP(w, r)
}

// Handler is the hook listener's handler: the hook, continuing the
// caller's trace when tracing is on.
func (h *Hook) Handler() http.Handler {
	if h.Telemetry.Tracing != nil {
		return h.Telemetry.Tracing.Middleware(h)
	}
	return h
}

// AdminHandler serves the admin listener: the metrics at path, /healthz
// and /readyz.
func (h *Hook) AdminHandler(path string) http.Handler {
	mux := http.NewServeMux()
	if h.Telemetry.Metrics != nil {
		mux.Handle("GET "+path, h.Telemetry.Metrics.Handler())
	}
	mux.HandleFunc("GET /healthz", server.HandleHealth)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { h.handler.Load().HandleReady(w, r) })
	return mux
}

// auditsAnswers reports whether the log level writes the audit line of
// answered calls (info).
func auditsAnswers(l config.Log) bool {
	return l.Level == "" || l.Level == "debug" || l.Level == "info"
}

// loginHasher returns the audit line's login hash: HMAC-SHA256 keyed by
// key, the first 16 bytes in hex — enough to tell users apart, and no
// dictionary of logins finds them without the key.
func loginHasher(key string) func(string) string {
	k := []byte(key)
	return func(login string) string {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(login))
		return hex.EncodeToString(mac.Sum(nil)[:16])
	}
}

// readiness checks that the store answers, at most once per every: a
// probe, or anyone reaching /readyz on the hook's listener, must not turn
// into store load.
type readiness struct {
	store user.Store
	every time.Duration

	mu      sync.Mutex
	checked time.Time
	err     error
}

// readinessProbeKey is looked up to check the store: not finding it is
// the answer of a store that works.
const readinessProbeKey = "tokenhook-readiness-probe"

func (r *readiness) check(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.checked.IsZero() && time.Since(r.checked) < r.every {
		return r.err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := r.store.Get(ctx, readinessProbeKey)
	if errors.Is(err, user.ErrNotFound) {
		err = nil
	}
	r.checked, r.err = time.Now(), err
	return err
}

// Reload makes cfg's authentication (secrets, secret files, bearer issuer),
// claim rules, policy and limits the ones in force. Calls in flight finish
// with the previous ones; none is dropped. A run that generated its secret
// keeps it while the configuration still sets none. What only a restart
// changes (the listener, TLS files, timeouts, store, cache) is kept, and
// named in restart. On an error nothing changes.
func (h *Hook) Reload(cfg config.Config) (restart []string, err error) {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	auth := h.auth
	if auth == nil || cfg.Auth.Configured() {
		var generated string
		if auth, generated, err = Authenticator(cfg.Auth); err != nil {
			return nil, err
		}
		if generated != "" {
			return nil, errors.New("reload: no secret is configured: the run's generated secret would change")
		}
	}
	was := h.started
	next := cfg
	next.Server = was.Server // the path and body cap go with the listener
	next.Log = was.Log       // the logger was made at start
	if err := h.swap(next, auth); err != nil {
		return nil, err
	}
	for name, changed := range map[string]bool{
		"server (listen, path, timeouts, TLS, connections)": !reflect.DeepEqual(was.Server, cfg.Server),
		"store.dsn": was.Store != cfg.Store,
		"cache":     was.Cache != cfg.Cache,
		"log":       was.Log != cfg.Log,
		"metrics":   was.Metrics != cfg.Metrics,
		"tracing":   was.Tracing != cfg.Tracing,
	} {
		if changed {
			restart = append(restart, name)
		}
	}
	slices.Sort(restart)
	return restart, nil
}

// Close exports the spans still buffered (for up to 5 s) and releases the
// store.
func (h *Hook) Close() error {
	var errs []error
	if h.Telemetry.Tracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Telemetry.Tracing.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("tracing: %w", err))
		}
	}
	errs = append(errs, h.Store.Close())
	return errors.Join(errs...)
}
