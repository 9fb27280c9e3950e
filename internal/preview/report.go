package preview

import (
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// Report is everything a preview found out. Its JSON form (WriteJSON) is
// the documented output of `tokenhook preview --json`; the field names are
// stable.
type Report struct {
	Request RequestSummary `json:"request"`
	Hook    HookSummary    `json:"hook"`
	// Verdict is hookcall's: applied, no-op, discarded, denied, failed.
	Verdict hookcall.Verdict `json:"verdict"`
	// Status is the hook's HTTP status; 0 when none arrived.
	Status     int   `json:"status"`
	DurationMS int64 `json:"durationMs"`
	// Cause explains a failed verdict.
	Cause string `json:"cause,omitempty"`
	// Violations are why Okta would discard the answer (and, for a body
	// too large, the size).
	Violations []Violation `json:"violations,omitempty"`
	// OAuthError is what the token requester gets for a denied verdict.
	OAuthError *OAuthError `json:"oauthError,omitempty"`
	// Response is the hook's body when it is JSON; ResponseText holds any
	// other body (cut at maxResponseText bytes, ResponseTruncated then
	// set). ResponseSize is the body's size as read (at most the cap + 1).
	Response          jsontext.Value `json:"response,omitzero"`
	ResponseText      string         `json:"responseText,omitempty"`
	ResponseTruncated bool           `json:"responseTruncated,omitzero"`
	ResponseSize      int            `json:"responseSize"`
	// Tokens are the ID token and the access token, those being minted.
	Tokens []TokenReport `json:"tokens"`
	// Events are the System Log events Okta would write for the call.
	Events []hookcall.Event `json:"events"`
}

// RequestSummary says what the request is about.
type RequestSummary struct {
	EventID string `json:"eventId,omitempty"`
	Source  string `json:"source,omitempty"`
	// GrantType is protocol.request.grant_type, or for /authorize requests
	// (which carry none) authorization_code or implicit from the
	// response_type.
	GrantType    string   `json:"grantType,omitempty"`
	ResponseType string   `json:"responseType,omitempty"`
	ClientID     string   `json:"clientId,omitempty"`
	ClientName   string   `json:"clientName,omitempty"`
	User         string   `json:"user,omitempty"` // the login; empty without a user
	Scopes       []string `json:"scopes"`
	// Minted lists the tokens being minted: id_token, access_token,
	// refresh_token.
	Minted []string `json:"minted"`
}

// HookSummary says where the request went. The URL has no query: it may
// carry a key.
type HookSummary struct {
	URL     string `json:"url"`
	Auth    string `json:"auth"` // none, header NAME, oauth client_secret_post|private_key_jwt
	Timeout string `json:"timeout"`
}

// Violation is one reason Okta would discard the answer.
type Violation struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Command int    `json:"command"` // index into commands; -1: the whole response
	Op      int    `json:"op"`      // index into the command's value; -1: the whole command
	Path    string `json:"path,omitempty"`
}

// OAuthError is the OAuth 2.0 error Okta answers the requester with.
type OAuthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// TokenReport is one token before and after the hook.
type TokenReport struct {
	Token string `json:"token"` // id_token or access_token
	// Minted is false when the verdict is denied: no token is issued.
	Minted         bool              `json:"minted"`
	LifetimeBefore int               `json:"lifetimeBefore"`
	LifetimeAfter  int               `json:"lifetimeAfter,omitzero"`
	Changes        []Change          `json:"changes"`
	Before         inlinehook.Claims `json:"before"`
	After          inlinehook.Claims `json:"after,omitzero"`
}

// Change is one difference of a top-level claim. Lifetimes are compared in
// TokenReport itself.
type Change struct {
	Kind   string         `json:"kind"` // added, removed, changed
	Claim  string         `json:"claim"`
	Before jsontext.Value `json:"before,omitzero"`
	After  jsontext.Value `json:"after,omitzero"`
}

// Change kinds.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// maxResponseText is how much of a non-JSON body a report keeps.
const maxResponseText = 4096

// Run sends req through caller and reports. It adds its own recorder to
// caller.Record for the duration (the caller's own Record still gets every
// event); caller must not be used concurrently meanwhile.
func Run(ctx context.Context, caller *hookcall.Caller, req *inlinehook.TokenRequest) *Report {
	var mu sync.Mutex
	var events []hookcall.Event
	prev := caller.Record
	caller.Record = func(e hookcall.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
		if prev != nil {
			prev(e)
		}
	}
	defer func() { caller.Record = prev }()

	out := caller.Call(ctx, req)
	r := &Report{
		Request:    Summarize(req),
		Hook:       summarizeHook(caller.Hook),
		Verdict:    out.Verdict,
		Status:     out.Status,
		DurationMS: out.Duration.Milliseconds(),
		Cause:      out.Cause,
		Tokens:     DiffTokens(out.Before, out.After, out.Verdict != hookcall.Denied),
		Events:     events,
	}
	for _, v := range out.Violations {
		r.Violations = append(r.Violations, Violation{
			Reason: v.Reason, Message: v.Message, Command: v.Command, Op: v.Op, Path: v.Path,
		})
	}
	if out.Verdict == hookcall.Denied {
		r.OAuthError = &OAuthError{Error: "server_error", ErrorDescription: out.ErrorSummary}
	}
	r.ResponseSize = len(out.Body)
	switch body := jsontext.Value(out.Body); {
	case len(body) == 0:
	case len(body) <= inlinehook.MaxResponseSize && body.IsValid():
		r.Response = body.Clone()
	default:
		text := out.Body
		if len(text) > maxResponseText {
			text, r.ResponseTruncated = text[:maxResponseText], true
		}
		r.ResponseText = strings.ToValidUTF8(string(text), string(utf8.RuneError))
	}
	return r
}

// ExitCode is the preview's exit status: 0 when Okta would mint the tokens
// as the hook meant (applied or no-op), 1 when the hook's answer was
// discarded, denied the token, or the call failed.
func (r *Report) ExitCode() int {
	switch r.Verdict {
	case hookcall.Applied, hookcall.NoOp:
		return 0
	}
	return 1
}

// Summarize describes req.
func Summarize(req *inlinehook.TokenRequest) RequestSummary {
	s := RequestSummary{EventID: req.EventID, Source: req.Source, Scopes: []string{}, Minted: []string{}}
	s.GrantType = req.GrantType()
	if p := req.Data.Context.Protocol; p != nil {
		if p.Request != nil {
			s.ResponseType = p.Request.ResponseType
			s.Scopes = strings.Fields(p.Request.Scope)
		}
		if p.Client != nil {
			s.ClientName = p.Client.Name
		}
	}
	if s.GrantType == "" && s.ResponseType != "" {
		// /authorize requests carry no grant_type; the response type tells.
		if slices.Contains(strings.Fields(s.ResponseType), "code") {
			s.GrantType = "authorization_code"
		} else {
			s.GrantType = "implicit"
		}
	}
	s.ClientID = req.ClientID()
	s.User = req.Login()
	if len(s.Scopes) == 0 && req.Data.Access != nil {
		for name := range req.Data.Access.Scopes {
			s.Scopes = append(s.Scopes, name)
		}
		slices.Sort(s.Scopes)
	}
	if req.Data.Identity != nil {
		s.Minted = append(s.Minted, "id_token")
	}
	if req.Data.Access != nil {
		s.Minted = append(s.Minted, "access_token")
	}
	if req.Data.RefreshToken != nil {
		s.Minted = append(s.Minted, "refresh_token")
	}
	return s
}

func summarizeHook(h hookcall.Hook) HookSummary {
	s := HookSummary{URL: h.URL, Auth: "none", Timeout: hookcall.DefaultTimeout.String()}
	if u, err := url.Parse(h.URL); err == nil {
		u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
		s.URL = u.String()
	}
	if h.Timeout > 0 {
		s.Timeout = h.Timeout.String()
	}
	switch {
	case h.Auth.Header != nil:
		s.Auth = "header " + h.Auth.Header.Name
	case h.Auth.OAuth != nil:
		s.Auth = "oauth " + h.Auth.OAuth.AuthType
	}
	return s
}

// DiffTokens compares each token before and after the hook. minted is
// false when no token is issued (a denied verdict): the reports then have
// no After.
func DiffTokens(before, after *inlinehook.Result, minted bool) []TokenReport {
	out := []TokenReport{}
	if before == nil {
		return out
	}
	var afterID, afterAT *inlinehook.Minted
	if after != nil {
		afterID, afterAT = after.Identity, after.Access
	}
	if before.Identity != nil {
		out = append(out, diffToken("id_token", before.Identity, afterID, minted))
	}
	if before.Access != nil {
		out = append(out, diffToken("access_token", before.Access, afterAT, minted))
	}
	return out
}

func diffToken(name string, before, after *inlinehook.Minted, minted bool) TokenReport {
	t := TokenReport{
		Token: name, Minted: minted && after != nil,
		LifetimeBefore: before.Lifetime, Before: before.Claims, Changes: []Change{},
	}
	if !t.Minted {
		return t
	}
	t.After, t.LifetimeAfter = after.Claims, after.Lifetime
	names := make([]string, 0, len(before.Claims)+len(after.Claims))
	for k := range before.Claims {
		names = append(names, k)
	}
	for k := range after.Claims {
		if _, ok := before.Claims[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		b, inBefore := before.Claims[k]
		a, inAfter := after.Claims[k]
		switch {
		case !inBefore:
			t.Changes = append(t.Changes, Change{Kind: Added, Claim: k, After: encode(a)})
		case !inAfter:
			t.Changes = append(t.Changes, Change{Kind: Removed, Claim: k, Before: encode(b)})
		case !reflect.DeepEqual(a, b):
			t.Changes = append(t.Changes, Change{Kind: Changed, Claim: k, Before: encode(b), After: encode(a)})
		}
	}
	return t
}

// encode returns v as compact JSON with sorted keys. Claims come from
// decoded JSON, so encoding cannot fail; if it did, the value shows as
// null.
func encode(v any) jsontext.Value {
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return jsontext.Value("null")
	}
	return b
}
