// Package cli is the tokenhook command tree. Each command parses its flags and
// calls into setup; the work itself lives in the packages setup wires, so
// main stays a few lines and tests run the very same commands in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

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
	root.AddCommand(newServeCmd(stdio), newUsersCmd(stdio), newRulesCmd(stdio), newEmulateCmd(stdio), newPreviewCmd(stdio), newSampleappCmd(stdio), newDemoCmd(stdio))
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
