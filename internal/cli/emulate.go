package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenhook/tokenhook/internal/oktaemu"
	"github.com/tokenhook/tokenhook/internal/setup"
)

// emulatorHookAuthEnv carries --hook-auth-header's value, so the secret
// stays out of the shell history and the process list.
const emulatorHookAuthEnv = "TOKENHOOK_EMULATOR_HOOK_AUTH"

func newEmulateCmd(stdio IO) *cobra.Command {
	var (
		file, listen, hookURL, hookAuth, systemLog string
	)
	cmd := &cobra.Command{
		Use:   "emulate",
		Short: "Run a local Okta custom authorization server that calls the hook",
		Long: `Run a local stand-in for an Okta custom authorization server: OpenID Connect
discovery, a hosted sign-in page, /authorize, /token, userinfo, introspection,
revocation and logout. While minting tokens it calls the token inline hook
exactly as Okta does, then signs what Okta would sign.

Without --config it serves demo users (password ` + oktaemu.DemoPassword + `), the sample app's
client and a service client. --hook-url and --hook-auth-header override the
file's hook; the header's value may come from $` + emulatorHookAuthEnv + ` instead,
e.g. "Authorization: Basic YWRtaW46c3VwZXJzZWNyZXQ=". An http:// hook URL is
allowed (Okta requires https; this is local development).

System Log events of every hook call are written as JSON lines to
--system-log (or the config's systemLog), else to stdout, and shown on
/system-log. See docs/emulator.md.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			lookup := envLookup(stdio.Environ)
			cfg := oktaemu.DefaultConfig()
			if file != "" {
				var err error
				if cfg, err = oktaemu.LoadConfigEnv(file, lookup); err != nil {
					return err
				}
			}
			if hookAuth == "" {
				hookAuth, _ = lookup(emulatorHookAuthEnv)
			}
			if err := overrideHook(cfg, hookURL, hookAuth); err != nil {
				return err
			}
			if systemLog == "" {
				systemLog = cfg.SystemLog
			}
			return runEmulator(cmd.Context(), cfg, listen, systemLog, stdio)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "emulator configuration (YAML); default: the demo server")
	f.StringVar(&listen, "listen", oktaemu.DefaultListen, "address to listen on, host:port (port 0 picks a free one)")
	f.StringVar(&hookURL, "hook-url", "", "the token inline hook's URL (overrides the config)")
	f.StringVar(&hookAuth, "hook-auth-header", "", "the hook's authentication header, 'Name: value' (or $"+emulatorHookAuthEnv+")")
	f.StringVar(&systemLog, "system-log", "", "append System Log events (JSON lines) to this file instead of stdout")
	return cmd
}

// overrideHook applies --hook-url and --hook-auth-header to the
// configuration.
func overrideHook(cfg *oktaemu.Config, hookURL, hookAuth string) error {
	if hookURL != "" {
		if cfg.Hook == nil {
			cfg.Hook = &oktaemu.HookConfig{}
		}
		cfg.Hook.URL = hookURL
		if strings.HasPrefix(hookURL, "http://") {
			cfg.Hook.AllowHTTP = true
		}
	}
	if hookAuth == "" {
		return nil
	}
	if !cfg.Hook.Enabled() {
		return &usageError{errors.New("--hook-auth-header needs a hook: give --hook-url or a config with hook.url")}
	}
	name, value, ok := strings.Cut(hookAuth, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || value == "" {
		// Never echo the value: it is a secret.
		return &usageError{errors.New("--hook-auth-header: want 'Name: value', e.g. 'Authorization: Basic …'")}
	}
	cfg.Hook.Auth = oktaemu.HookAuth{Type: oktaemu.HookAuthHeader, Key: name, Value: value}
	return nil
}

// runEmulator binds the listener, so that port 0 works and the issuer
// carries the real address, then serves until ctx is done.
func runEmulator(ctx context.Context, cfg *oktaemu.Config, listen, systemLog string, stdio IO) error {
	logger := slog.New(slog.NewTextHandler(stdio.Stderr, nil)).With("part", "emulator")
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	if host, _, _ := net.SplitHostPort(listen); !isLoopbackHost(host) {
		fmt.Fprintln(stdio.Stderr, "warning: the emulator listens beyond this machine; its demo users and secrets are public.")
	}
	var events io.Writer = stdio.Stdout
	if systemLog != "" {
		f, err := os.OpenFile(systemLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("system log: %w", err)
		}
		defer f.Close()
		events = f
	}
	issuer := cfg.Issuer
	if issuer == "" {
		issuer = cfg.IssuerFor(ln.Addr().String())
	}
	emu, err := oktaemu.New(cfg, oktaemu.Options{Issuer: issuer, Log: events, Logger: logger})
	if err != nil {
		return err
	}
	printEmulatorBanner(stdio.Stdout, emu, ln.Addr().String())

	return setup.RunServer(ctx, emu.Server(), ln, 10*time.Second, logger)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// printEmulatorBanner says where everything is and how to sign in. Only
// the documented demo credentials are printed; configured secrets never.
func printEmulatorBanner(w io.Writer, emu *oktaemu.Emulator, addr string) {
	cfg := emu.Config()
	base := "http://" + addr
	hook := "none: tokens are minted unmodified"
	if cfg.Hook.Enabled() {
		hook = cfg.Hook.URL
		if i := strings.IndexAny(hook, "?#"); i >= 0 {
			hook = hook[:i]
		}
	}
	fmt.Fprintf(w, `tokenhook emulate: a local Okta custom authorization server

  issuer      %s
  discovery   %s/.well-known/openid-configuration
  home        %s/
  system log  %s/system-log
  hook        %s

`, emu.Issuer(), emu.Issuer(), base, base, hook)
	var demo []string
	for _, u := range cfg.Users {
		if u.Password == oktaemu.DemoPassword && u.Status == "ACTIVE" {
			demo = append(demo, u.Login)
		}
	}
	if len(demo) > 0 {
		fmt.Fprintf(w, "Demo users (password %s):\n", oktaemu.DemoPassword)
		for _, login := range demo {
			fmt.Fprintf(w, "  %s\n", login)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Clients:")
	for _, c := range cfg.Clients {
		secret := "public"
		switch {
		case c.TokenEndpointAuthMethod == oktaemu.AuthPrivateKeyJWT:
			secret = "private_key_jwt"
		case c.Secret == oktaemu.DemoClientSecret || c.Secret == oktaemu.DemoServiceClientSecret:
			secret = "secret " + c.Secret
		case c.Secret != "":
			secret = "secret configured"
		}
		fmt.Fprintf(w, "  %-20s %-8s %s\n", c.ID, c.Type, secret)
	}
	fmt.Fprintln(w)
}
