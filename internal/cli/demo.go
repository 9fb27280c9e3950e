package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/tokenhook/tokenhook/internal/demo"
)

func newDemoCmd(stdio IO) *cobra.Command {
	opts := demo.Defaults()
	var systemLog, logLevel string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the guide's whole scenario on this machine: hook, Okta emulator, sample app",
		Long: `Run Okta's token inline hook guide end to end on loopback, in one command:

  - the hook server (as 'tokenhook serve') over an embedded SQLite store
    seeded with the guide's patients;
  - the Okta emulator (as 'tokenhook emulate') with demo users, a client for
    the sample app, and the hook registered with a secret generated for this
    run;
  - the sample app (as 'tokenhook sampleapp') signing in through the emulator.

Open the sample app, log in as jessie.smith@example.com (a patient): the
profile page shows patientId in the ID token. Log in as pat.doe@example.com
(not a patient): it does not. Every hook call is on the emulator's System Log
page. Ctrl-C stops everything.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return &usageError{fmt.Errorf("--log-level: %w", err)}
			}
			opts.Out = stdio.Stdout
			opts.Logger = slog.New(slog.NewTextHandler(stdio.Stderr, &slog.HandlerOptions{Level: level}))
			if systemLog != "" {
				f, err := os.OpenFile(systemLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
				if err != nil {
					return fmt.Errorf("system log: %w", err)
				}
				defer f.Close()
				opts.SystemLog = io.Writer(f)
			}
			return demo.Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.AppListen, "app-listen", opts.AppListen, "the sample app's address (port 0 picks a free one)")
	f.StringVar(&opts.EmulatorListen, "emulator-listen", opts.EmulatorListen, "the Okta emulator's address")
	f.StringVar(&opts.HookListen, "hook-listen", opts.HookListen, "the hook server's address")
	f.StringVar(&opts.Dir, "dir", "", "keep the demo's SQLite store (demo.db) in this directory (default: a temporary one)")
	f.StringVar(&systemLog, "system-log", "", "append the emulator's System Log events (JSON lines) to this file")
	f.StringVar(&logLevel, "log-level", "info", "operational logs on stderr: debug, info, warn or error")
	return cmd
}
