package sampleapp

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// App is the sample web app. Its handler is safe for concurrent use.
type App struct {
	cfg      Config
	log      *slog.Logger
	sealer   cipher.AEAD // seals the login-state cookie
	sessions *sessionStore
	pages    *pages
	secure   bool // BaseURL is https: cookies get Secure
	handler  http.Handler

	mu       sync.Mutex    // guards provider and serializes discovery
	provider *providerInfo // nil until discovery succeeds
}

// providerInfo is what discovery yields, cached once it succeeds.
type providerInfo struct {
	provider   *oidc.Provider
	oauth      *oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string // end_session_endpoint, "" when the provider has none
}

// New returns the app for cfg. It does no I/O: the provider is discovered
// when a request first needs it (or when Discover is called), and the
// result is cached once discovery succeeds; until then every attempt is
// retried. So the app may start before its provider, as in the demo, which
// binds every listener first and serves them all at once.
func New(ctx context.Context, cfg Config) (*App, error) {
	cfg = cfg.withDefaults()
	if problems := cfg.problems(false); len(problems) > 0 {
		return nil, fmt.Errorf("sampleapp: %s", strings.Join(problems, "; "))
	}
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	sealer, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	pages, err := newPages()
	if err != nil {
		return nil, err
	}
	a := &App{
		cfg:      cfg,
		log:      cfg.Logger,
		sealer:   sealer,
		sessions: newSessionStore(cfg.MaxSessions, cfg.Now),
		pages:    pages,
		secure:   strings.HasPrefix(cfg.BaseURL, "https:"),
	}
	a.handler = a.routes()
	return a, nil
}

// Discover discovers the provider now, if it has not been yet, for a caller
// that wants to report a wrong ISSUER at start-up. An
// *oidc.IssuerMismatchError means the configuration is wrong; any other
// error may pass once the provider is up.
func (a *App) Discover(ctx context.Context) error {
	_, err := a.discover(ctx)
	return err
}

// Handler returns the app's HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// RedirectURL is the redirect URI to register with the provider.
func (a *App) RedirectURL() string { return a.cfg.BaseURL + CallbackPath }

// BaseURL is where browsers reach the app, and the post-logout redirect URI
// to register with the provider.
func (a *App) BaseURL() string { return a.cfg.BaseURL }

// Server returns an HTTP server for the app, with timeouts set. The caller
// serves it and shuts it down (the command and the demo share one graceful
// loop for every server they run).
func (a *App) Server() *http.Server {
	return &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // covers the token exchange in the callback
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
}

// providerContext carries the configured HTTP client to go-oidc and oauth2.
func (a *App) providerContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, a.cfg.HTTPClient)
}

// discover returns the provider's configuration, discovering it on first
// need and caching it on success. Callers wait for one discovery at a time.
func (a *App) discover(ctx context.Context) (*providerInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.provider != nil {
		return a.provider, nil
	}
	// The provider keeps the client from this context for its key set, so
	// keys are fetched with the configured client too.
	p, err := oidc.NewProvider(a.providerContext(ctx), a.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	var meta struct {
		EndSession  string   `json:"end_session_endpoint"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discovery document: %w", err)
	}
	endpoint := p.Endpoint()
	endpoint.AuthStyle = authStyle(meta.AuthMethods)
	a.provider = &providerInfo{
		provider: p,
		oauth: &oauth2.Config{
			ClientID:     a.cfg.ClientID,
			ClientSecret: a.cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  a.RedirectURL(),
			Scopes:       a.cfg.Scopes,
		},
		verifier:   p.Verifier(&oidc.Config{ClientID: a.cfg.ClientID, Now: a.cfg.Now}),
		endSession: meta.EndSession,
	}
	a.log.Info("provider discovered", "issuer", a.cfg.Issuer, "end_session", meta.EndSession != "")
	return a.provider, nil
}

// authStyle picks how the client authenticates at the token endpoint from
// the methods the provider advertises. It never leaves oauth2 to
// auto-detect: auto-detection retries a failed exchange with the other
// style, and that second try, with a code already spent, would replace the
// provider's real error (a hook's server_error, say) with invalid_grant.
func authStyle(supported []string) oauth2.AuthStyle {
	// client_secret_basic is the default when the provider lists nothing
	// (OpenID Connect Discovery 1.0, section 3).
	if len(supported) == 0 || slices.Contains(supported, "client_secret_basic") {
		return oauth2.AuthStyleInHeader
	}
	if slices.Contains(supported, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// routes lists every route in one place.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", a.handle(a.home))
	mux.Handle("GET /login", a.handle(a.login))
	mux.Handle("GET "+CallbackPath, a.handle(a.callback))
	mux.Handle("GET /profile", a.handle(a.profile))
	mux.Handle("POST /logout", a.handle(a.logout))
	mux.Handle("/logout", a.handle(func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Allow", http.MethodPost)
		return &pageError{Status: http.StatusMethodNotAllowed, Message: "Log out with the Log out button: logging out takes a POST."}
	}))
	mux.Handle("GET /static/app.css", a.handle(a.stylesheet))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent) // browsers ask; a 404 would only add log noise
	})
	mux.Handle("/", a.handle(func(http.ResponseWriter, *http.Request) error {
		return &pageError{Status: http.StatusNotFound, Message: "There is no such page."}
	}))
	// Logout changes state, so only same-origin browsers may post it. GET
	// and HEAD pass untouched.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(a.handle(func(http.ResponseWriter, *http.Request) error {
		return &pageError{Status: http.StatusForbidden, Message: "Cross-origin requests are not allowed to change anything here."}
	}))
	return a.recoverer(securityHeaders(csrf.Handler(mux)))
}

// handle adapts a handler that returns an error; errors become error pages.
func (a *App) handle(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.serveError(w, r, err)
		}
	})
}

// recoverer turns a panic into a 500 page, so none ever reaches a client.
func (a *App) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic in handler", "path", r.URL.Path)
				a.serveError(w, r, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets headers every page gets. no-referrer keeps the
// callback's query (code and state) out of Referer headers.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
