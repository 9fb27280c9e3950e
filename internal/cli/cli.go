// Package cli is the tokenhook command tree. Each command parses its flags and
// calls into setup; the work itself lives in the packages setup wires, so
// main stays a few lines and tests run the very same commands in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// IO is where a command reads and writes.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Environ is the environment as KEY=value pairs (os.Environ()); passed
	// in, never read from the process, so tests control it.
	Environ []string
}

// Run runs the tokenhook command line args and returns the exit code: 0 on
// success, 2 for usage errors, 1 otherwise.
func Run(ctx context.Context, args []string, stdio IO) int {
	root := newRoot(stdio)
	root.SetArgs(args)
	root.SetIn(stdio.Stdin)
	root.SetOut(stdio.Stdout)
	root.SetErr(stdio.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stdio.Stderr, "tokenhook:", err)
	var usage *usageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

// usageError marks errors in how a command was called.
type usageError struct{ error }

func (e *usageError) Unwrap() error { return e.error }

func newRoot(stdio IO) *cobra.Command {
	root := &cobra.Command{
		Use:           "tokenhook",
		Short:         "An Okta token inline hook server and the tools around it",
		Long:          "tokenhook answers Okta's token inline hook: it looks the user up in a store and adds their claims to the tokens Okta mints.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(newServeCmd(stdio), newUsersCmd(stdio), newRulesCmd(stdio), newEmulateCmd(stdio), newPreviewCmd(stdio), newSampleappCmd(stdio), newDemoCmd(stdio), newVersionCmd(stdio))
	return root
}

// exactArgs is cobra.ExactArgs, marked as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// lookupEnv returns the value of name in environ (KEY=value pairs, as
// os.Environ gives them); the last one wins, as in os/exec.
func lookupEnv(environ []string, name string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// getenv is lookupEnv without the second result: "" when unset.
func getenv(environ []string, name string) string {
	v, _ := lookupEnv(environ, name)
	return v
}

// envLookup is lookupEnv over environ as a function, for the packages that
// take one.
func envLookup(environ []string) func(string) (string, bool) {
	return func(name string) (string, bool) { return lookupEnv(environ, name) }
}
