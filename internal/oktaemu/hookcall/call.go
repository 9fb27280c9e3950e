package hookcall

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json/v2"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// errBudget is the cause of the context that bounds one call, so that the
// end of Okta's budget can be told from the caller giving up.
var errBudget = errors.New("hook call budget exhausted")

// timeout returns the hook's budget.
func (h Hook) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return DefaultTimeout
}

func (c *Caller) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// httpClient returns a copy of the caller's client that never follows a
// redirect (Okta does not) and sends no cookies (Okta keeps none).
func (c *Caller) httpClient() *http.Client {
	var hc http.Client
	if c.Client != nil {
		hc = *c.Client
	}
	hc.Jar = nil
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

// Call sends req to the hook and returns Okta's verdict. It never returns
// an error: every failure is an Outcome with Verdict Failed.
//
// What happens, in order, all within one budget of Hook.Timeout (default
// 3 s) and never retried: Delay passes; for an OAuth hook an access token is
// fetched (or taken from the cache); req is POSTed, encoded with
// encoding/json/v2, with Accept and Content-Type application/json, the
// custom headers and the authentication header; at most
// inlinehook.MaxResponseSize+1 bytes of the answer are read. Then:
//
//   - 3xx, or any status but 200 and 204: Failed (redirects are not
//     followed);
//   - 204: NoOp;
//   - 200 with a body of MaxResponseSize or more, or one
//     inlinehook.ParseResponse refuses: Failed;
//   - 200 with an error object: Denied, whatever the commands (the error
//     wins, as inlinehook decides);
//   - 200 without commands: NoOp;
//   - 200 whose commands break any of Hook.Rules: Discarded, all of them;
//   - otherwise: Applied.
//
// Call checks Hook.Validate first; an invalid hook fails without a call.
// When Record is set it receives Okta's System Log events for the call:
// inline_hook.executed (FAILURE) when the call itself failed — no answer,
// a status outside 2xx, the token fetch — else
// inline_hook.response.processed, SUCCESS for Applied and NoOp, FAILURE
// otherwise (a 2xx other than 200 and 204 counts as processed).
func (c *Caller) Call(ctx context.Context, req *inlinehook.TokenRequest) *Outcome {
	out := &Outcome{Started: c.now()}
	processed := c.call(ctx, req, out)
	out.Duration = c.now().Sub(out.Started)
	if out.Verdict != Denied && out.After == nil {
		out.After = out.Before
	}
	if c.Record != nil {
		c.Record(c.event(req, out, processed))
	}
	return out
}

// call fills in out. It reports whether an answer was processed, as
// opposed to the call itself failing.
func (c *Caller) call(ctx context.Context, req *inlinehook.TokenRequest, out *Outcome) (processed bool) {
	fail := func(cause string) bool {
		out.Verdict, out.Cause = Failed, cause
		return false
	}
	if req == nil {
		return fail("No request to send")
	}
	rules := c.Hook.Rules
	before, err := rules.Apply(req, nil)
	if err != nil {
		return fail("The request's claims cannot be encoded as JSON")
	}
	out.Before = before
	if err := c.Hook.Validate(); err != nil {
		return fail("Invalid hook configuration: " + strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	body, err := json.Marshal(req, json.Deterministic(true))
	if err != nil {
		return fail("The request cannot be encoded as JSON")
	}

	timeout := c.Hook.timeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errBudget)
	defer cancel()
	client := c.httpClient()

	if c.Delay > 0 {
		t := time.NewTimer(c.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fail(describeError(ctx, ctx.Err(), timeout))
		}
	}

	var bearer string
	if o := c.Hook.Auth.OAuth; o != nil {
		if bearer, err = c.accessToken(ctx, client, o); err != nil {
			return fail("Fetching the OAuth access token failed: " + describeError(ctx, err, timeout))
		}
	}

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Hook.URL, bytes.NewReader(body))
	if err != nil {
		return fail("Invalid hook URL")
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("Content-Type", "application/json")
	for _, h := range c.Hook.Headers {
		hreq.Header.Add(h.Name, h.Value)
	}
	switch {
	case c.Hook.Auth.Header != nil:
		hreq.Header.Set(c.Hook.Auth.Header.Name, c.Hook.Auth.Header.Value)
	case bearer != "":
		hreq.Header.Set("Authorization", "Bearer "+bearer)
	}

	resp, err := client.Do(hreq)
	if err != nil {
		return fail(describeError(ctx, err, timeout))
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, inlinehook.MaxResponseSize+1))
	out.Body = data

	status := resp.StatusCode
	if status == http.StatusUnauthorized && bearer != "" {
		// The hook refused the token: fetch a fresh one next time.
		c.tokens.drop(bearer)
	}
	switch {
	case 300 <= status && status < 400:
		return fail("Redirect responses are not followed (status " + strconv.Itoa(status) + ")")
	case status < 200 || status >= 300:
		return fail("The hook responded with status " + strconv.Itoa(status))
	case status == http.StatusNoContent:
		out.Verdict = NoOp
		return true
	case status != http.StatusOK:
		out.Verdict = Failed
		out.Cause = "The hook responded with status " + strconv.Itoa(status) + "; Okta accepts only 200 and 204"
		return true
	case readErr != nil:
		return fail("Reading the response failed: " + describeError(ctx, readErr, timeout))
	}

	size := len(data)
	if size > inlinehook.MaxResponseSize && resp.ContentLength > int64(size) {
		size = int(resp.ContentLength) // the true size, when the hook declared it
	}
	if v := inlinehook.ValidateSize(size); v != nil {
		out.Verdict, out.Cause, out.Violations = Failed, v.Message, []inlinehook.Violation{*v}
		return true
	}
	parsed, err := inlinehook.ParseResponse(data)
	if err != nil {
		// A *DeserializeError's message is Okta's, and quotes no input.
		out.Verdict, out.Cause = Failed, err.Error()
		return true
	}
	out.Response = parsed
	if parsed.Error != nil {
		out.Verdict, out.ErrorSummary = Denied, parsed.Error.ErrorSummary
		if out.ErrorSummary == "" {
			out.ErrorSummary = inlinehook.DefaultErrorSummary
		}
		return true
	}
	if len(parsed.Commands) == 0 {
		out.Verdict = NoOp
		return true
	}
	if vs := rules.Validate(req, parsed); len(vs) > 0 {
		out.Verdict, out.Violations = Discarded, vs
		return true
	}
	after, err := rules.Apply(req, parsed)
	if err != nil {
		var ve *inlinehook.ValidationError
		if errors.As(err, &ve) {
			out.Verdict, out.Violations = Discarded, ve.Violations
		} else {
			out.Verdict, out.Cause = Failed, "The commands cannot be applied: a value cannot be encoded as JSON"
		}
		return true
	}
	out.Verdict, out.After = Applied, after
	return true
}

// describeError explains a transport failure in words fit for the System
// Log. It keeps the request URL out (its query may carry a key).
func describeError(ctx context.Context, err error, timeout time.Duration) string {
	if errors.Is(context.Cause(ctx), errBudget) {
		return "Timed out after " + timeout.String()
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "Timed out: the caller's deadline passed"
		}
		return "Canceled by the caller"
	}
	var te *tokenError
	if errors.As(err, &te) {
		return te.msg
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "Connection reset by the hook"
	case errors.As(err, &dnsErr):
		return "Could not resolve host " + dnsErr.Name
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr):
		return "TLS certificate not trusted: " + err.Error()
	case errors.As(err, &recordErr):
		return "TLS handshake failed (is the hook serving plain HTTP?)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "Connection closed before the hook answered"
	}
	return "Request failed: " + err.Error()
}
