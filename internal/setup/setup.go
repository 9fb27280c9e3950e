// Package setup wires tokenhook's parts together from a [config.Config]: the
// store chosen by DSN, the logger, the authenticator, the core and the HTTP
// server. The cmd and the end-to-end tests share it, so what is tested is
// what runs.
package setup

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/sync/errgroup"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/certs"
	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/hookauth"
	"github.com/tokenhook/tokenhook/internal/server"
	"github.com/tokenhook/tokenhook/internal/tokenhook"
	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/memory"
	"github.com/tokenhook/tokenhook/internal/user/postgres"
	"github.com/tokenhook/tokenhook/internal/user/sqlite"
)

// OpenStore opens the users store named by dsn: "sqlite:PATH" (a file, or
// :memory:), "memory:", or a PostgreSQL URL "postgres://..." (or
// "postgresql://...", passed to the driver unchanged, so every libpq and
// pgx parameter works). Its switch is the one place that knows which
// backends exist.
func OpenStore(ctx context.Context, dsn string) (user.Store, error) {
	scheme, rest, hasScheme := strings.Cut(dsn, ":")
	rest = strings.TrimPrefix(rest, "//")
	var (
		s   user.Store
		err error
	)
	switch {
	case hasScheme && scheme == "sqlite":
		if rest == "" {
			return nil, errors.New("open store sqlite: a sqlite DSN needs a path, e.g. sqlite:tokenhook.db")
		}
		s, err = sqlite.Open(ctx, sqlite.Config{Path: rest})
	case hasScheme && scheme == "memory":
		s = memory.New(memory.Config{})
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		s, err = postgres.Open(ctx, postgres.Config{DSN: dsn})
	default:
		shown := fmt.Sprintf("%q", dsn)
		if strings.ContainsAny(dsn, "@=") {
			// Perhaps a mistyped URL or a keyword/value string,
			// with a password in it.
			shown = "(not shown: it may hold a password)"
		}
		return nil, fmt.Errorf("store DSN %s: want sqlite:PATH, postgres://USER@HOST/DATABASE (or postgresql://...), or memory: for a store kept in memory only", shown)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", scheme, err)
	}
	return s, nil
}

// Reserved reports whether Okta refuses writes of claim to the token named
// "id" or "access". It asks inlinehook, the one place that knows Okta's rules.
func Reserved(token, claim string) bool {
	cmdType := inlinehook.IdentityPatch
	if token == config.TokenAccess {
		cmdType = inlinehook.AccessPatch
	}
	return inlinehook.Rules{}.IsReserved(cmdType, claim)
}

// LoadConfig loads the configuration, validates it and compiles its rules,
// and reports every problem of both at once.
func LoadConfig(path string, environ []string, override func(*config.Config)) (config.Config, error) {
	cfg, err := config.Load(path, environ)
	if err != nil {
		return cfg, err
	}
	if override != nil {
		override(&cfg)
	}
	errs := []error{cfg.Validate()}
	if _, err := CompileRules(cfg); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// NewLogger returns the logger cfg asks for, writing to w.
func NewLogger(w io.Writer, cfg config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Authenticator builds the authenticator for cfg. When no secret is
// configured it generates a random header secret for this run and returns it
// in generated, so that the first run works; the caller prints it once.
func Authenticator(cfg config.Auth) (auth hookauth.Authenticator, generated string, err error) {
	var chain hookauth.AnyOf
	if len(cfg.Header.Values) > 0 {
		chain = append(chain, hookauth.NewHeaderSecret(cfg.Header.Name, cfg.Header.Values...))
	}
	if cfg.Basic.Username != "" {
		chain = append(chain, hookauth.NewBasic(cfg.Basic.Username, cfg.Basic.Password))
	}
	if b := cfg.Bearer; b.Enabled() {
		bearer, err := hookauth.NewBearer(hookauth.BearerConfig{
			Issuer: b.Issuer, JWKSURI: b.JWKSURI, Audience: b.Audience, Scope: b.Scope,
			ClientIDs: b.ClientIDs, Algorithms: b.Algorithms, Leeway: b.Leeway, KeysRefreshMin: b.KeysRefreshMin,
		})
		if err != nil {
			return nil, "", fmt.Errorf("auth.bearer: %w", err)
		}
		chain = append(chain, bearer)
	}
	if len(chain) > 0 {
		return chain, "", nil
	}
	if cfg.Require {
		return nil, "", errors.New("authentication is required but no secret is configured")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	generated = base64.RawURLEncoding.EncodeToString(b)
	return hookauth.NewHeaderSecret(GeneratedSecretHeader, generated), generated, nil
}

// GeneratedSecretHeader carries the secret generated when none is
// configured.
const GeneratedSecretHeader = "Authorization"

// Handler builds the hook's HTTP handler.
func Handler(cfg config.Config, auth hookauth.Authenticator, t tokenhook.Transformer, logger *slog.Logger) http.Handler {
	return server.New(serverConfig(cfg, auth, t, logger))
}

func serverConfig(cfg config.Config, auth hookauth.Authenticator, t tokenhook.Transformer, logger *slog.Logger) server.Config {
	return server.Config{
		HookPath:      cfg.Server.Path,
		MaxBodyBytes:  cfg.Server.MaxBodyBytes,
		Auth:          auth,
		Transformer:   t,
		Logger:        logger,
		RatePerSource: cfg.Limits.RatePerSource,
		RateBurst:     cfg.Limits.RateBurst,
		ReplayWindow:  cfg.Limits.ReplayWindow,
	}
}

// ServeHook runs the hook's listener and, unless metrics.listen is off, the
// admin listener (metrics, /healthz, /readyz) until ctx is done, then shuts
// both down gracefully: the listeners close at once and in-flight requests
// get up to cfg.Server.ShutdownTimeout to finish. Both addresses are bound
// before either serves, so a port in use fails the start. ready, when not
// nil, is called with the bound addresses (admin nil when off) once both
// accept connections.
func ServeHook(ctx context.Context, cfg config.Config, hook *Hook, logger *slog.Logger, ready func(hookAddr, adminAddr net.Addr)) error {
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return err
	}
	var adminLn net.Listener
	if cfg.Metrics.Enabled() {
		if adminLn, err = net.Listen("tcp", cfg.Metrics.Listen); err != nil {
			ln.Close()
			return fmt.Errorf("metrics.listen: %w", err)
		}
	}
	if ready != nil {
		var adminAddr net.Addr
		if adminLn != nil {
			adminAddr = adminLn.Addr()
		}
		ready(ln.Addr(), adminAddr)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ServeListener(gctx, ln, cfg, hook.Handler(), logger) })
	if adminLn != nil {
		admin := &http.Server{
			Handler:           hook.AdminHandler(cfg.Metrics.Path),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		g.Go(func() error {
			return RunServer(gctx, admin, adminLn, cfg.Server.ShutdownTimeout, logger.With("listener", "admin"))
		})
	}
	return g.Wait()
}

// ServeListener serves the hook's handler h on a listener the caller
// bound, so that a caller running several servers (the demo) knows every
// address before any starts. It closes ln.
//
// It serves HTTPS when cfg.Server.TLS has a certificate and key, reloading
// them when they change on disk (see package certs); it fails, closing ln,
// if they do not load. cfg.Server.MaxConnections bounds the connections
// served at once (TLS handshakes included): more wait to be accepted.
func ServeListener(ctx context.Context, ln net.Listener, cfg config.Config, h http.Handler, logger *slog.Logger) error {
	maxHeader := cfg.Server.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = 64 << 10
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if n := cfg.Server.MaxConnections; n > 0 {
		ln = netutil.LimitListener(ln, n)
	}
	if t := cfg.Server.TLS; t.Enabled() {
		pair, err := certs.New(certs.Config{CertFile: t.CertFile, KeyFile: t.KeyFile, Logger: logger})
		if err != nil {
			ln.Close()
			return fmt.Errorf("server.tls: %w", err)
		}
		minVersion := uint16(tls.VersionTLS12)
		if t.MinVersion == "1.3" {
			minVersion = tls.VersionTLS13
		}
		srv.TLSConfig = pair.TLSConfig(minVersion)
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	return RunServer(ctx, srv, ln, cfg.Server.ShutdownTimeout, logger)
}

// RunServer serves srv on ln until ctx is done, then shuts it down
// gracefully: the listener closes at once and requests in flight get up to
// grace to finish. Every server tokenhook runs (hook, emulator, sample app)
// stops this way. It closes ln.
func RunServer(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", grace)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
