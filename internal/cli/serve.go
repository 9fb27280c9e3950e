package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/setup"
)

// configFlags are the flags that override the configuration file and the
// environment.
type configFlags struct {
	file        string
	listen      string
	store       string
	logLevel    string
	logFormat   string
	requireAuth bool
}

func (f *configFlags) apply(cmd *cobra.Command) func(*config.Config) {
	return func(c *config.Config) {
		changed := cmd.Flags().Changed
		if changed("listen") {
			c.Server.Listen = f.listen
		}
		if changed("store") {
			c.Store.DSN = f.store
		}
		if changed("log-level") {
			c.Log.Level = f.logLevel
		}
		if changed("log-format") {
			c.Log.Format = f.logFormat
		}
		if changed("require-auth") {
			c.Auth.Require = f.requireAuth
		}
	}
}

func newServeCmd(stdio IO) *cobra.Command {
	var flags configFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hook server",
		Long: `Run the token inline hook server.

Configuration comes from --config (YAML), then TOKENHOOK_* environment
variables, then these flags. Without a configured secret, serve generates one
for this run and prints it once; --require-auth refuses to start instead.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := setup.LoadConfig(flags.file, stdio.Environ, flags.apply(cmd))
			if err != nil {
				return err
			}
			logger := setup.NewLogger(stdio.Stderr, cfg.Log)
			if _, set := lookupEnv(stdio.Environ, "GOGC"); !set && cfg.Server.GCPercent > 0 {
				debug.SetGCPercent(cfg.Server.GCPercent)
			}
			hook, err := setup.NewHook(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer hook.Close()
			if generated := hook.GeneratedSecret; generated != "" {
				// Printed once, straight to the terminal and not through the
				// logger: log pipelines must never carry a secret.
				fmt.Fprintf(stdio.Stderr, "No hook secret is configured, so this run generated one.\n"+
					"In Okta, set the hook's Authentication field to %q and its secret to:\n\n    %s\n\n"+
					"To keep a secret across runs set TOKENHOOK_AUTH_BASIC_USERNAME and TOKENHOOK_AUTH_BASIC_PASSWORD\n"+
					"(or TOKENHOOK_AUTH_HEADER_NAME and TOKENHOOK_AUTH_HEADER_VALUES); --require-auth refuses to start without one.\n\n",
					setup.GeneratedSecretHeader, generated)
			}
			// SIGHUP re-reads the configuration, its secret files and rules.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go reloadOnHUP(ctx, hup, hook, logger, func() (config.Config, error) {
				return setup.LoadConfig(flags.file, stdio.Environ, flags.apply(cmd))
			})
			return setup.ServeHook(ctx, cfg, hook, logger, func(addr, admin net.Addr) {
				// The admin line first: "listening" is the last line of a start.
				if admin != nil {
					logger.Info("admin listening", "addr", admin.String(), "metrics", cfg.Metrics.Path, "health", "/healthz", "ready", "/readyz")
				}
				if cfg.Tracing.Endpoint != "" {
					logger.Info("tracing", "endpoint", cfg.Tracing.Endpoint, "sample_ratio", cfg.Tracing.SampleRatio)
				}
				logger.Info("listening", "addr", addr.String(), "path", cfg.Server.Path, "store", storeKind(cfg.Store.DSN))
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&flags.file, "config", "c", "", "YAML configuration file")
	f.StringVar(&flags.listen, "listen", "", "address to listen on, host:port (default :8082)")
	f.StringVar(&flags.store, "store", "", "users store DSN: sqlite:PATH, postgres://USER@HOST/DB or memory: (default sqlite:tokenhook.db)")
	f.StringVar(&flags.logLevel, "log-level", "", "debug, info, warn or error (default info)")
	f.StringVar(&flags.logFormat, "log-format", "", "text or json (default text)")
	f.BoolVar(&flags.requireAuth, "require-auth", false, "refuse to start without a configured secret (production mode)")
	return cmd
}

// reloadOnHUP reloads the hook's configuration at each signal on hup until
// ctx ends. A configuration that does not load keeps the running one.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, hook *setup.Hook, logger *slog.Logger, load func() (config.Config, error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		cfg, err := load()
		var restart []string
		if err == nil {
			restart, err = hook.Reload(cfg)
		}
		if err != nil {
			// The problems name keys and files, never a secret.
			logger.Error("reload refused: the running configuration stays", "error", err.Error())
			continue
		}
		if len(restart) > 0 {
			logger.Warn("configuration reloaded; these changes need a restart", "restart", restart)
			continue
		}
		logger.Info("configuration reloaded")
	}
}

// storeKind names the backend of a DSN without the rest, which may hold a
// password.
func storeKind(dsn string) string {
	for i, c := range dsn {
		if c == ':' {
			return dsn[:i]
		}
	}
	return dsn
}
