// Package demo runs the guide's whole scenario on loopback in one process:
// the hook server over an embedded SQLite store seeded with the guide's
// patients, the Okta emulator with the hook registered under a generated
// secret, and the sample app signing in through the emulator. Logging in as
// a patient shows patientId on the profile page; as anyone else, it doesn't.
//
// The three parts talk to each other only over HTTP, as they would with a
// real Okta org: the emulator calls the hook, the sample app uses OIDC.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
	"github.com/tokenhook/tokenhook/internal/sampleapp"
	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
)

// Patients returns the guide's patients, login → patientId: what the demo
// seeds the hook's store with. The emulator's demo users include the first
// two; its third user, pat.doe@example.com, is not a patient.
func Patients() []user.User {
	return []user.User{
		{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235"}},
		{Key: "kim.sato@example.com", Attributes: map[string]any{"patientId": "6789"}},
		{Key: "rajiv.tal@example.com", Attributes: map[string]any{"patientId": "4235"}},
	}
}

// Options are where the three parts listen and where the demo reports.
type Options struct {
	// AppListen, EmulatorListen and HookListen are host:port addresses;
	// port 0 picks a free one.
	AppListen, EmulatorListen, HookListen string
	// Dir holds the demo's SQLite file (demo.db); empty means a temporary
	// directory removed when the demo stops.
	Dir string
	// Out receives the banner: URLs and demo credentials.
	Out io.Writer
	// SystemLog receives the emulator's System Log events as JSON lines
	// (nil: only on the emulator's /system-log page).
	SystemLog io.Writer
	// Logger receives the parts' operational logs (nil: discarded).
	Logger *slog.Logger
}

// Defaults are the guide's ports: the sample app on 8080, the hook on 8082;
// the emulator takes 8081.
func Defaults() Options {
	return Options{AppListen: "127.0.0.1:8080", EmulatorListen: "127.0.0.1:8081", HookListen: "127.0.0.1:8082"}
}

// Run starts everything, prints the banner and serves until ctx is done,
// then shuts the three servers down gracefully.
func Run(ctx context.Context, opts Options) error {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// Bind first: each part's configuration names the others' addresses.
	lns, err := listenAll(opts.HookListen, opts.EmulatorListen, opts.AppListen)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range lns {
			l.Close() // after a clean run they are closed already
		}
	}()
	hookLn, emuLn, appLn := lns[0], lns[1], lns[2]

	dir := opts.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tokenhook-demo")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	secret, err := randomSecret()
	if err != nil {
		return err
	}

	// The hook server, as `tokenhook serve` runs it, with the guide's Basic
	// scheme under a secret generated for this run.
	cfg := config.Default()
	cfg.Server.Listen = hookLn.Addr().String()
	cfg.Store.DSN = "sqlite:" + filepath.Join(dir, "demo.db")
	cfg.Auth.Basic = config.BasicAuth{Username: "okta", Password: secret}
	cfg.Metrics.Listen = config.MetricsOff // the demo runs no admin listener
	hookLogger := opts.Logger.With("part", "hook")
	hook, err := setup.NewHook(ctx, cfg, hookLogger)
	if err != nil {
		return err
	}
	defer hook.Close()
	if err := hook.Store.Import(ctx, Patients(), user.ImportOptions{}); err != nil {
		return fmt.Errorf("seed the store: %w", err)
	}
	hookURL := "http://" + hookLn.Addr().String() + cfg.Server.Path

	// The emulator, with the hook registered as an admin would register it.
	appBase := "http://localhost:" + port(appLn)
	emuCfg := oktaemu.DefaultConfig()
	emuCfg.Issuer = emuCfg.IssuerFor(emuLn.Addr().String())
	emuCfg.Hook = &oktaemu.HookConfig{
		Name:      "Patient token hook",
		URL:       hookURL,
		AllowHTTP: true,
		Auth: oktaemu.HookAuth{
			Type:  oktaemu.HookAuthHeader,
			Key:   "Authorization",
			Value: "Basic " + base64.StdEncoding.EncodeToString([]byte("okta:"+secret)),
		},
	}
	client, err := emuCfg.SampleClient(appBase)
	if err != nil {
		return err
	}
	emuLogger := opts.Logger.With("part", "emulator")
	emu, err := oktaemu.New(emuCfg, oktaemu.Options{Log: opts.SystemLog, Logger: emuLogger})
	if err != nil {
		return err
	}

	appLogger := opts.Logger.With("part", "sampleapp")
	app, err := sampleapp.New(ctx, sampleapp.Config{
		Issuer:       emu.Issuer(),
		ClientID:     client.ID,
		ClientSecret: client.Secret,
		BaseURL:      appBase,
		Logger:       appLogger,
	})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return setup.ServeListener(gctx, hookLn, cfg, hook, hookLogger) })
	g.Go(func() error { return setup.RunServer(gctx, emu.Server(), emuLn, 5*time.Second, emuLogger) })
	g.Go(func() error { return setup.RunServer(gctx, app.Server(), appLn, 5*time.Second, appLogger) })
	printBanner(opts.Out, appBase, emu, hookURL)
	return g.Wait()
}

// listenAll binds every address, or none.
func listenAll(addrs ...string) ([]net.Listener, error) {
	lns := make([]net.Listener, 0, len(addrs))
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w (is another demo running? pick other ports with the --*-listen flags)", addr, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// printBanner says where everything is and how to sign in. The hook's
// generated secret is not printed: the demo's emulator is its only caller.
func printBanner(w io.Writer, app string, emu *oktaemu.Emulator, hook string) {
	cfg := emu.Config()
	fmt.Fprintf(w, `tokenhook demo is running. Open the sample app and log in:

  sample app   %s
  emulator     %s   (System Log: %s)
  hook server  %s

Demo users (password %q):
`, app, emu.Issuer(), cfg.SystemLogURL(), hook, oktaemu.DemoPassword)
	patients := Patients()
	for _, u := range cfg.Users {
		what := "not a patient: no patientId"
		for _, p := range patients {
			if p.Key == u.Login {
				what = fmt.Sprintf("patient: patientId %v", p.Attributes["patientId"])
			}
		}
		fmt.Fprintf(w, "  %-28s %s\n", u.Login, what)
	}
	fmt.Fprintln(w, "\nCtrl-C stops everything.")
}

func port(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// randomSecret is a fresh hook secret: 32 random bytes, base64url.
func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
