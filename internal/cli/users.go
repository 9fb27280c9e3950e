package cli

import (
	"bufio"
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/userfile"
)

// usersCmd holds what every users subcommand shares: how to find the store.
type usersCmd struct {
	stdio IO
	file  string
	store string
}

// open opens the store named by --store, else the configuration.
func (u *usersCmd) open(cmd *cobra.Command) (user.Store, error) {
	cfg, err := config.Load(u.file, u.stdio.Environ)
	if err != nil {
		return nil, err
	}
	if cmd.Flags().Changed("store") {
		cfg.Store.DSN = u.store
	}
	return setup.OpenStore(cmd.Context(), cfg.Store.DSN)
}

// withStore runs fn with the open store and closes it.
func (u *usersCmd) withStore(fn func(ctx context.Context, cmd *cobra.Command, s user.Store, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := u.open(cmd)
		if err != nil {
			return err
		}
		err = fn(cmd.Context(), cmd, s, args)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		return err
	}
}

func newUsersCmd(stdio IO) *cobra.Command {
	u := &usersCmd{stdio: stdio}
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage the users store: import, list, get, put, delete, export",
		Long: `Manage the users store the hook looks tokens up in.

A user is a lookup key (the Okta login by default) and a JSON object of
attributes, e.g. {"patientId": "1235"}. The store is --store, else
TOKENHOOK_STORE, else the configuration's store.dsn (default
sqlite:tokenhook.db).`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVarP(&u.file, "config", "c", "", "YAML configuration file (for store.dsn)")
	pf.StringVar(&u.store, "store", "", "users store DSN: sqlite:PATH, postgres://USER@HOST/DB or memory:")
	cmd.AddCommand(u.importCmd(), u.listCmd(), u.getCmd(), u.putCmd(), u.deleteCmd(), u.exportCmd())
	return cmd
}

func (u *usersCmd) importCmd() *cobra.Command {
	var (
		format string
		quiet  bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import users from a CSV, JSON array or JSON lines file, all or nothing",
		Long: `Import users from FILE ("-" for standard input) in one transaction.

CSV: a header row with a "key" (or "login") column; every other column is a
string attribute. JSON: an array of {"key": ..., "attributes": {...}}. JSON
lines: one such object per line. The format follows the file extension
(.csv, .json, .jsonl, .ndjson) or its first byte; --format forces one.

If any record is bad, nothing is imported and the error names its line.
Existing users with the same key are replaced.

An import that runs longer than half a second shows its progress on
standard error, in two steps: reading (and checking) the file, then writing
the store. On a terminal each step is a line redrawn in place, writing with
a bar; otherwise plain lines, at most one a second and one per tenth of the
users, and the final count. Quicker imports show nothing; --quiet shows
nothing at all. Progress shows counts and times only, never attributes.`,
		Args: exactArgs(1),
	}
	cmd.Flags().StringVar(&format, "format", "auto", "auto, csv, json or jsonl")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "show no progress")
	cmd.RunE = u.withStore(func(ctx context.Context, cmd *cobra.Command, s user.Store, args []string) error {
		var p *progress // nil shows nothing
		if !quiet {
			p = newProgress(u.stdio.Stderr, isTerminal(u.stdio.Stderr), time.Now, "user", "users")
			p.animate(progressRedraw)
			defer p.close()
		}
		if args[0] != "-" || !isTerminal(u.stdio.Stdin) {
			p.phase("reading", 0) // not over what someone types
		}
		users, err := readUsersFile(args[0], format, u.stdio.Stdin)
		if err != nil {
			return err
		}
		p.done(len(users))
		p.phase("importing", len(users))
		if err := s.Import(ctx, users, user.ImportOptions{Progress: p.set}); err != nil {
			return fmt.Errorf("import %s: nothing imported: %w", args[0], err)
		}
		p.done(len(users))
		noun := "users"
		if len(users) == 1 {
			noun = "user"
		}
		fmt.Fprintf(u.stdio.Stdout, "imported %d %s\n", len(users), noun)
		return nil
	})
	return cmd
}

func readUsersFile(name, format string, stdin io.Reader) ([]user.User, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	br := bufio.NewReader(r)
	var f userfile.Format
	if format == "auto" {
		head, _ := br.Peek(512)
		f = userfile.Detect(name, head)
	} else {
		var err error
		if f, err = parseFormat(format); err != nil {
			return nil, err
		}
	}
	users, err := userfile.Read(br, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (nothing imported)", name, err)
	}
	return users, nil
}

func parseFormat(s string) (userfile.Format, error) {
	f, err := userfile.ParseFormat(s)
	if err != nil {
		return "", &usageError{err}
	}
	return f, nil
}

func (u *usersCmd) listCmd() *cobra.Command {
	var (
		after string
		limit int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users in key order, a page at a time",
		Args:  exactArgs(0),
	}
	cmd.Flags().StringVar(&after, "after", "", "list keys after this one (the previous page's next key)")
	cmd.Flags().IntVar(&limit, "limit", 100, "users per page (at most 1000)")
	cmd.RunE = u.withStore(func(ctx context.Context, cmd *cobra.Command, s user.Store, _ []string) error {
		page, err := s.List(ctx, user.ListOptions{After: after, Limit: limit})
		if err != nil {
			return err
		}
		for _, usr := range page.Users {
			attrs, _ := json.Marshal(usr.Attributes, json.Deterministic(true))
			fmt.Fprintf(u.stdio.Stdout, "%s\t%s\n", usr.Key, attrs)
		}
		if page.Next != "" {
			fmt.Fprintf(u.stdio.Stderr, "more: tokenhook users list --after %q\n", page.Next)
		}
		return nil
	})
	return cmd
}

// userJSON is how get prints a user.
type userJSON struct {
	Key        string         `json:"key"`
	Attributes map[string]any `json:"attributes"`
	CreatedAt  string         `json:"createdAt"`
	UpdatedAt  string         `json:"updatedAt"`
}

func (u *usersCmd) getCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get KEY",
		Short: "Print one user as JSON",
		Args:  exactArgs(1),
	}
	cmd.RunE = u.withStore(func(ctx context.Context, cmd *cobra.Command, s user.Store, args []string) error {
		usr, err := s.Get(ctx, args[0])
		if err != nil {
			return fmt.Errorf("user %q: %w", args[0], err)
		}
		out := userJSON{Key: usr.Key, Attributes: usr.Attributes,
			CreatedAt: usr.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
			UpdatedAt: usr.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
		b, err := json.Marshal(out, json.Deterministic(true), jsontext.WithIndent("  "))
		if err != nil {
			return err
		}
		fmt.Fprintln(u.stdio.Stdout, string(b))
		return nil
	})
	return cmd
}

func (u *usersCmd) putCmd() *cobra.Command {
	var (
		attrsJSON string
		set       []string
	)
	cmd := &cobra.Command{
		Use:   "put KEY",
		Short: "Create or replace one user",
		Long: `Create or replace the user KEY. Its attributes are --attributes (a JSON
object) plus any --set name=value pairs (string values).

  tokenhook users put jessie.smith@example.com --set patientId=1235`,
		Args: exactArgs(1),
	}
	cmd.Flags().StringVar(&attrsJSON, "attributes", "", `attributes as a JSON object, e.g. '{"patientId":"1235"}'`)
	cmd.Flags().StringArrayVar(&set, "set", nil, "name=value string attribute (repeatable)")
	attrs := map[string]any{}
	// Flags are checked before the store opens, so a usage error never
	// creates a database file.
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if attrsJSON != "" {
			if err := json.Unmarshal([]byte(attrsJSON), &attrs); err != nil {
				return &usageError{fmt.Errorf("--attributes: want a JSON object: %w", err)}
			}
		}
		for _, kv := range set {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return &usageError{fmt.Errorf("--set %q: want name=value", kv)}
			}
			attrs[k] = v
		}
		return nil
	}
	cmd.RunE = u.withStore(func(ctx context.Context, cmd *cobra.Command, s user.Store, args []string) error {
		if err := s.Put(ctx, &user.User{Key: args[0], Attributes: attrs}); err != nil {
			return err
		}
		fmt.Fprintf(u.stdio.Stdout, "stored %s\n", args[0])
		return nil
	})
	return cmd
}

func (u *usersCmd) deleteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete KEY",
		Short: "Delete one user",
		Args:  exactArgs(1),
	}
	cmd.RunE = u.withStore(func(ctx context.Context, cmd *cobra.Command, s user.Store, args []string) error {
		if err := s.Delete(ctx, args[0]); err != nil {
			return fmt.Errorf("user %q: %w", args[0], err)
		}
		fmt.Fprintf(u.stdio.Stdout, "deleted %s\n", args[0])
		return nil
	})
	return cmd
}

func (u *usersCmd) exportCmd() *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write every user as CSV, JSON or JSON lines (importable again)",
		Args:  exactArgs(0),
	}
	cmd.Flags().StringVar(&format, "format", "jsonl", "csv, json or jsonl")
	cmd.Flags().StringVarP(&output, "output", "o", "-", `file to write, "-" for standard output`)
	cmd.RunE = u.withStore(func(ctx context.Context, cmd *cobra.Command, s user.Store, _ []string) (err error) {
		f, err := parseFormat(format)
		if err != nil {
			return err
		}
		var w io.Writer = u.stdio.Stdout
		if output != "-" {
			file, err := os.Create(output)
			if err != nil {
				return err
			}
			defer func() {
				if cerr := file.Close(); err == nil {
					err = cerr
				}
			}()
			w = file
		}
		bw := bufio.NewWriter(w)
		if err := userfile.Write(bw, f, user.All(ctx, s)); err != nil {
			return err
		}
		return bw.Flush()
	})
	return cmd
}
