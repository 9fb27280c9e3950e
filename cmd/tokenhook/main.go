// Command tokenhook is an Okta token inline hook server and the tools around
// it. See the README for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokenhook/tokenhook/internal/cli"
)

func main() {
	// SIGINT and SIGTERM cancel the context: serve then shuts down
	// gracefully, finishing in-flight requests.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ(),
	})
	stop()
	os.Exit(code)
}
