package cli

import (
	"encoding/json/v2"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokenhook/tokenhook/internal/version"
)

func newVersionCmd(stdio IO) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go toolchain of this binary",
		Long: `Print which build of tokenhook this is: the module version (set by
'go install github.com/tokenhook/tokenhook/cmd/tokenhook@VERSION'), the VCS
commit and its time when built in a checkout ("+dirty" when the work tree had
changes), and the Go toolchain. --json prints the same as a JSON object.`,
		Args: exactArgs(0),
		RunE: func(*cobra.Command, []string) error {
			info := version.Get()
			if !asJSON {
				_, err := fmt.Fprintln(stdio.Stdout, info.String())
				return err
			}
			b, err := json.Marshal(info)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdio.Stdout, "%s\n", b)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the version information as JSON")
	return cmd
}
