package preview

import (
	"bufio"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	return json.MarshalWrite(w, r, json.Deterministic(true), jsontext.WithIndent("  "), jsontext.EscapeForHTML(false))
}

// labelWidth aligns the text report's values.
const labelWidth = 11

// WriteText writes the report for a terminal: the request, the hook, the
// answer (JSON pretty-printed), Okta's verdict in words, and per token the
// claims that changed, one per line: "+ name: value" (added), "- name:
// value" (removed), "~ name: old → new" (changed), values as JSON.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(bw, "%-*s%s\n", labelWidth, label, fmt.Sprintf(format, args...))
	}
	more := func(format string, args ...any) { line("", format, args...) }

	q := r.Request
	head := orDash(q.GrantType)
	if q.ResponseType != "" {
		head += " (response_type " + q.ResponseType + ")"
	}
	if q.ClientID != "" {
		head += " · client " + q.ClientID
		if q.ClientName != "" {
			head += " (" + q.ClientName + ")"
		}
	}
	if q.User != "" {
		head += " · user " + q.User
	} else {
		head += " · no user"
	}
	line("Request", "%s", head)
	more("scopes: %s", orDash(strings.Join(q.Scopes, " ")))
	more("minting: %s", orDash(tokenNames(q.Minted)))
	if q.EventID != "" {
		more("eventId: %s", q.EventID)
	}
	line("Hook", "POST %s · auth: %s · timeout %s", r.Hook.URL, r.Hook.Auth, r.Hook.Timeout)

	if r.Status == 0 {
		line("Answer", "none, after %d ms", r.DurationMS)
	} else {
		line("Answer", "%d %s in %d ms (%d bytes)", r.Status, http.StatusText(r.Status), r.DurationMS, r.ResponseSize)
	}
	switch {
	case len(r.Response) > 0:
		pretty := r.Response.Clone()
		prefix := strings.Repeat(" ", labelWidth)
		if err := pretty.Indent(jsontext.WithIndentPrefix(prefix), jsontext.WithIndent("  ")); err != nil {
			pretty = r.Response
		}
		fmt.Fprintf(bw, "%s%s\n", prefix, pretty)
	case r.ResponseText != "":
		for l := range strings.Lines(r.ResponseText) {
			more("%s", strings.TrimRight(l, "\r\n"))
		}
		if r.ResponseTruncated {
			more("… (%d bytes shown)", len(r.ResponseText))
		}
	}

	switch r.Verdict {
	case hookcall.Applied:
		line("Verdict", "APPLIED: Okta mints the tokens with the hook's changes.")
	case hookcall.NoOp:
		line("Verdict", "NO CHANGE: the hook asked for nothing; Okta mints the tokens as they were.")
	case hookcall.Discarded:
		line("Verdict", "DISCARDED: Okta drops every command and mints the tokens unmodified, because:")
		for _, v := range r.Violations {
			more("- %s", v.Message)
		}
	case hookcall.Denied:
		line("Verdict", "DENIED: Okta mints no token; the requester gets the OAuth error")
		if e := r.OAuthError; e != nil {
			more("error=%s", e.Error)
			more("error_description=%s", e.ErrorDescription)
		}
	case hookcall.Failed:
		line("Verdict", "FAILED: %s. Okta mints the tokens unmodified.", strings.TrimSuffix(r.Cause, "."))
	default:
		line("Verdict", "%s", r.Verdict)
	}

	writeTokens(bw, r.Tokens)

	if len(r.Events) > 0 {
		fmt.Fprintf(bw, "\nSystem Log\n")
		for _, e := range r.Events {
			msg, _ := e.DebugContext.DebugData[hookcall.DebugErrorMessage].(string)
			if msg != "" {
				msg = ": " + msg
			}
			fmt.Fprintf(bw, "  %s %s%s\n", e.EventType, e.Outcome.Result, msg)
		}
	}
	return bw.Flush()
}

// WriteTokens writes, per token, the claims that changed, as the text
// report does: "+ name: value" (added), "- name: value" (removed), "~ name:
// old → new" (changed), values as JSON, and the lifetime when it changed.
func WriteTokens(w io.Writer, tokens []TokenReport) error {
	bw := bufio.NewWriter(w)
	writeTokens(bw, tokens)
	return bw.Flush()
}

func writeTokens(bw *bufio.Writer, tokens []TokenReport) {
	for _, t := range tokens {
		fmt.Fprintf(bw, "\n%s\n", tokenName(t.Token))
		if !t.Minted {
			fmt.Fprintln(bw, "  not minted")
			continue
		}
		for _, c := range t.Changes {
			switch c.Kind {
			case Added:
				fmt.Fprintf(bw, "  + %s: %s\n", c.Claim, c.After)
			case Removed:
				fmt.Fprintf(bw, "  - %s: %s\n", c.Claim, c.Before)
			case Changed:
				fmt.Fprintf(bw, "  ~ %s: %s → %s\n", c.Claim, c.Before, c.After)
			}
		}
		if t.LifetimeAfter != t.LifetimeBefore {
			fmt.Fprintf(bw, "  ~ lifetime: %d s → %d s\n", t.LifetimeBefore, t.LifetimeAfter)
		}
		if len(t.Changes) == 0 && t.LifetimeAfter == t.LifetimeBefore {
			fmt.Fprintf(bw, "  no change (lifetime %d s, %d claims)\n", t.LifetimeBefore, len(t.Before))
		}
	}
}

func tokenName(t string) string {
	switch t {
	case "id_token":
		return "ID token"
	case "access_token":
		return "Access token"
	case "refresh_token":
		return "refresh token"
	}
	return t
}

func tokenNames(ts []string) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		switch t {
		case "id_token":
			names[i] = "ID token"
		default:
			names[i] = strings.ReplaceAll(t, "_", " ")
		}
	}
	return strings.Join(names, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
