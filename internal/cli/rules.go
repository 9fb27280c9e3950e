package cli

import (
	"bufio"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/preview"
	"github.com/tokenhook/tokenhook/internal/rules"
	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/tokenhook"
	"github.com/tokenhook/tokenhook/internal/user"
)

func newRulesCmd(stdio IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check claim rules, or try them on a request without a server",
		Long: `Check the claim rules of a configuration, or run them on a token hook
request without a server. See docs/rules.md for the rule language.`,
	}
	cmd.AddCommand(newRulesCheckCmd(stdio), newRulesEvalCmd(stdio))
	return cmd
}

func newRulesCheckCmd(stdio IO) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate a configuration and compile its rules; list every problem",
		Long: `Load the configuration (--config, then TOKENHOOK_* variables), validate
it and compile its claim rules, exactly as 'tokenhook serve' does at start.
Every problem is listed at once: expression syntax and type errors, claims
Okta reserves for the chosen token, lifetimes outside 300-86400 s, two rules
writing one claim without precedences, expressions above the cost limit.
Exit status 0 when the configuration is valid, 1 otherwise.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := setup.LoadConfig(file, stdio.Environ, nil)
			if err != nil {
				return err
			}
			program, err := setup.CompileRules(cfg)
			if err != nil {
				return err
			}
			writeRulesSummary(stdio.Stdout, setup.RuleSpec(cfg), program)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "YAML configuration file")
	return cmd
}

// writeRulesSummary says what a valid configuration does.
func writeRulesSummary(w io.Writer, spec rules.Spec, p *rules.Program) {
	fmt.Fprintf(w, "ok: %d lookups, %d rules\n", len(spec.Lookups), len(spec.Rules))
	for _, l := range spec.Lookups {
		fmt.Fprintf(w, "  lookup %-12s %-11s key %s\n", l.Name, criticality(l.Required), l.Key)
	}
	for i, r := range spec.Rules {
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("rule %d", i+1)
		}
		var what string
		switch {
		case r.Deny != "":
			what = fmt.Sprintf("deny %q", r.Deny)
		case r.Lifetime != "":
			what = fmt.Sprintf("lifetime of the %s token", orID(r.Token))
		default:
			op := r.Op
			if op == "" {
				op = "add"
			}
			what = fmt.Sprintf("%s %s in the %s token", op, r.Claim, orID(r.Token))
		}
		if r.When != "" {
			what += " when " + r.When
		}
		fmt.Fprintf(w, "  rule   %-12s %-11s %s\n", name, criticality(r.Required), what)
	}
	reads := p.Reads()
	paths := make([]string, len(reads.Request))
	for i, path := range reads.Request {
		paths[i] = strings.Join(append([]string{"request"}, path...), ".")
	}
	fmt.Fprintf(w, "reads: inputs %s; request %s\n", orNone(strings.Join(reads.Inputs, ", ")), orNone(strings.Join(paths, ", ")))
}

func criticality(required bool) string {
	if required {
		return "required"
	}
	return "best-effort"
}

func orID(token string) string {
	if token == "" {
		return "id"
	}
	return token
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func newRulesEvalCmd(stdio IO) *cobra.Command {
	var (
		file, request, store, users, usersFormat string
		jsonOut                                  bool
	)
	cmd := &cobra.Command{
		Use:   "eval --request FILE [--config FILE] [--users FILE | --store DSN]",
		Short: "Run the rules on a request, without a server: the commands and the token diff",
		Long: `Run the configuration's lookups and rules on a token hook request (--request
FILE, "-" for standard input; Okta's Preview output works), as the server
would, and show what it would answer: each lookup's key and whether a record
was found, the rules that failed, the commands, Okta's verdict on them, and
each token's claims before and after.

Records come from --users FILE (a CSV, JSON or JSON lines users file, as for
'users import', loaded into memory for this run) or from the store
(--store, TOKENHOOK_STORE, or the configuration's store.dsn), which is only
read. The output shows keys and claim values: it is for your terminal, not
for a log.

Exit status 0 when Okta would apply the answer (or it asks for nothing), 1
when the rules deny the token or Okta would discard the answer, 2 for usage
errors.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if request == "" {
				return &usageError{errors.New("--request FILE is required")}
			}
			if users != "" && cmd.Flags().Changed("store") {
				return &usageError{errors.New("give --users or --store, not both")}
			}
			ctx := cmd.Context()
			cfg, err := setup.LoadConfig(file, stdio.Environ, func(c *config.Config) {
				if cmd.Flags().Changed("store") {
					c.Store.DSN = store
				}
				if users != "" {
					c.Store.DSN = "memory:"
				}
				c.Cache.Enabled = false // one call: a cache would only hide the store
			})
			if err != nil {
				return err
			}
			req, err := preview.ReadRequestFile(request, stdio.Stdin)
			if err != nil {
				return err
			}
			s, err := setup.OpenStore(ctx, cfg.Store.DSN)
			if err != nil {
				return err
			}
			defer s.Close()
			if users != "" {
				records, err := readUsersFile(users, usersFormat, stdio.Stdin)
				if err != nil {
					return err
				}
				if err := s.Import(ctx, records, user.ImportOptions{}); err != nil {
					return fmt.Errorf("%s: %w", users, err)
				}
			}
			finder, _ := setup.Finder(cfg, s)
			engine, err := setup.Transformer(cfg, finder, nil)
			if err != nil {
				return err
			}
			resp, trace := engine.Explain(ctx, req)
			ev := newEvaluation(req, resp, trace)
			if jsonOut {
				err = ev.writeJSON(stdio.Stdout)
			} else {
				err = ev.writeText(stdio.Stdout)
			}
			if err != nil {
				return err
			}
			if ev.Verdict == verdictDenied || ev.Verdict == verdictDiscarded {
				return fmt.Errorf("the rules' answer: %s", ev.Verdict)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "YAML configuration file")
	f.StringVar(&request, "request", "", `token hook request (JSON), "-" for standard input`)
	f.StringVar(&store, "store", "", "users store DSN to read records from")
	f.StringVar(&users, "users", "", "users file (CSV, JSON, JSON lines) to read records from instead of a store")
	f.StringVar(&usersFormat, "users-format", "auto", "format of --users: auto, csv, json or jsonl")
	f.BoolVar(&jsonOut, "json", false, "print one JSON document instead of the text report")
	return cmd
}

// Verdicts of an evaluation, in Okta's terms.
const (
	verdictApplied   = "applied"
	verdictNoOp      = "no-op"
	verdictDenied    = "denied"
	verdictDiscarded = "discarded"
)

// evaluation is the report of rules eval.
type evaluation struct {
	Lookups  []evalLookup          `json:"lookups"`
	Failed   []evalFailure         `json:"failedRules"`
	Skipped  []string              `json:"skipped"`
	Response jsontext.Value        `json:"response,omitzero"`
	Verdict  string                `json:"verdict"`
	Reasons  []string              `json:"reasons,omitzero"`
	Tokens   []preview.TokenReport `json:"tokens"`
}

type evalLookup struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Key      string `json:"key"`
	Found    bool   `json:"found"`
	Stale    bool   `json:"stale,omitzero"`
	Error    string `json:"error,omitzero"`
}

type evalFailure struct {
	Rule     string `json:"rule"`
	Required bool   `json:"required"`
	Error    string `json:"error"`
}

func newEvaluation(req *inlinehook.TokenRequest, resp *inlinehook.Response, trace *tokenhook.Trace) *evaluation {
	ev := &evaluation{Lookups: []evalLookup{}, Failed: []evalFailure{}, Skipped: trace.Skipped}
	if ev.Skipped == nil {
		ev.Skipped = []string{}
	}
	for _, l := range trace.Lookups {
		el := evalLookup{Name: l.Name, Required: l.Required, Key: l.Key, Found: l.Found, Stale: l.Stale}
		if l.Err != nil {
			el.Error = l.Err.Error()
		}
		ev.Lookups = append(ev.Lookups, el)
	}
	for _, f := range trace.Outcome.Failed {
		ev.Failed = append(ev.Failed, evalFailure{Rule: f.Rule, Required: f.Required, Error: f.Err.Error()})
	}
	if !resp.IsEmpty() {
		if body, err := inlinehook.EncodeResponse(resp); err == nil {
			ev.Response = body
		}
	}
	before, _ := inlinehook.Apply(req, nil)
	after, err := inlinehook.Apply(req, resp)
	var denied *inlinehook.DeniedError
	var invalid *inlinehook.ValidationError
	switch {
	case errors.As(err, &denied):
		ev.Verdict, ev.Reasons = verdictDenied, []string{denied.Summary}
	case errors.As(err, &invalid):
		// The server's guard would drop these; here they show a rule
		// that cannot work.
		ev.Verdict = verdictDiscarded
		for _, v := range invalid.Violations {
			ev.Reasons = append(ev.Reasons, v.Message)
		}
		after = nil
	case resp.IsEmpty():
		ev.Verdict = verdictNoOp
	default:
		ev.Verdict = verdictApplied
	}
	ev.Tokens = preview.DiffTokens(before, after, ev.Verdict != verdictDenied)
	return ev
}

func (ev *evaluation) writeJSON(w io.Writer) error {
	return json.MarshalWrite(w, ev, json.Deterministic(true), jsontext.WithIndent("  "), jsontext.EscapeForHTML(false))
}

func (ev *evaluation) writeText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "Lookups")
	if len(ev.Lookups) == 0 {
		fmt.Fprintln(bw, "  none")
	}
	for _, l := range ev.Lookups {
		var what string
		switch {
		case l.Error != "":
			what = "FAILED: " + l.Error
		case l.Key == "":
			what = "no key in this request: nothing looked up"
		case l.Found && l.Stale:
			what = fmt.Sprintf("%q: found (stale)", l.Key)
		case l.Found:
			what = fmt.Sprintf("%q: found", l.Key)
		default:
			what = fmt.Sprintf("%q: not found", l.Key)
		}
		fmt.Fprintf(bw, "  %s (%s): %s\n", l.Name, criticality(l.Required), what)
	}
	if len(ev.Failed) > 0 {
		fmt.Fprintln(bw, "Failed rules")
		for _, f := range ev.Failed {
			fmt.Fprintf(bw, "  %s (%s): %s\n", f.Rule, criticality(f.Required), f.Error)
		}
	}
	if len(ev.Skipped) > 0 {
		fmt.Fprintln(bw, "Left out")
		for _, s := range ev.Skipped {
			fmt.Fprintf(bw, "  %s\n", s)
		}
	}
	fmt.Fprintln(bw, "Answer")
	if len(ev.Response) == 0 {
		fmt.Fprintln(bw, "  204 No Content")
	} else {
		pretty := ev.Response.Clone()
		if err := pretty.Indent(jsontext.WithIndentPrefix("  "), jsontext.WithIndent("  ")); err != nil {
			pretty = ev.Response
		}
		fmt.Fprintf(bw, "  200 %s\n", pretty)
	}
	switch ev.Verdict {
	case verdictApplied:
		fmt.Fprintln(bw, "Verdict: APPLIED: Okta mints the tokens with these changes.")
	case verdictNoOp:
		fmt.Fprintln(bw, "Verdict: NO CHANGE: Okta mints the tokens as they are.")
	case verdictDenied:
		fmt.Fprintf(bw, "Verdict: DENIED: Okta mints no token; the requester gets server_error: %s\n", strings.Join(ev.Reasons, "; "))
	case verdictDiscarded:
		fmt.Fprintln(bw, "Verdict: DISCARDED: Okta would drop every command, because:")
		for _, r := range ev.Reasons {
			fmt.Fprintf(bw, "  - %s\n", r)
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return preview.WriteTokens(w, ev.Tokens)
}
