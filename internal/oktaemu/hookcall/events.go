package hookcall

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// System Log event types and values written for hook calls.
const (
	// EventExecuted is written when the call itself fails: no answer
	// (timeout, network error, token fetch), or a status outside 2xx.
	EventExecuted = "inline_hook.executed"
	// EventResponseProcessed is written when an answer was processed,
	// successfully or not.
	EventResponseProcessed = "inline_hook.response.processed"

	ResultSuccess = "SUCCESS"
	ResultFailure = "FAILURE"

	// TargetType is the type of an event's target, the hook.
	TargetType = "InlineHook"

	// publishedLayout is LogEvent.published: RFC 3339, milliseconds, UTC.
	publishedLayout = "2006-01-02T15:04:05.000Z"
)

// Keys of an event's debugData, as in Okta's InlineHookDebugData where
// Okta has them.
const (
	DebugHookType     = "inline_hook_type" // always inlinehook.EventTypeTokenTransform
	DebugHook         = "inline_hook"      // the response's debugContext, when it has one
	DebugErrorMessage = "error_message"    // why the call or the answer failed
	DebugDurationMS   = "duration_ms"      // the whole call, token fetch included
	DebugEventID      = "eventId"          // the request's eventId
	DebugHTTPStatus   = "http_status"      // the hook's status, when one arrived
)

// event returns the System Log event of one call. It never holds a claim
// value, a header, a secret or a token: error messages name paths, not
// values, and the only free-form content is the hook's own debugContext,
// which Okta copies too.
//
// error_message is one string; for Discarded it is every violation's
// message, in order, joined by "; ". For Denied it is the errorSummary the
// requester gets.
func (c *Caller) event(req *inlinehook.TokenRequest, out *Outcome, processed bool) Event {
	e := Event{
		UUID:      newUUID(),
		Published: c.now().UTC().Format(publishedLayout),
		EventType: EventResponseProcessed,
		Version:   "0",
		Severity:  "INFO",
		Outcome:   EventOutcome{Result: ResultSuccess},
		DebugContext: DebugContext{DebugData: map[string]any{
			DebugHookType:   inlinehook.EventTypeTokenTransform,
			DebugDurationMS: out.Duration.Milliseconds(),
		}},
		Target: []Target{{
			ID:          c.Hook.ID,
			Type:        TargetType,
			DisplayName: c.Hook.Name,
			AlternateID: redactURL(c.Hook.URL),
		}},
	}
	data := e.DebugContext.DebugData
	if req != nil && req.EventID != "" {
		data[DebugEventID] = req.EventID
	}
	if out.Status != 0 {
		data[DebugHTTPStatus] = out.Status
	}
	if out.Response != nil && out.Response.DebugContext != nil {
		data[DebugHook] = out.Response.DebugContext
	}
	if !processed {
		e.EventType = EventExecuted
		e.DisplayMessage = "Inline hook execution failed"
	} else {
		e.DisplayMessage = "Inline hook response processed"
	}

	var msg string
	switch out.Verdict {
	case Applied, NoOp:
		return e
	case Failed:
		msg = out.Cause
		e.Outcome.Reason = out.Cause
	case Discarded:
		msgs := make([]string, len(out.Violations))
		for i, v := range out.Violations {
			msgs[i] = v.Message
		}
		msg = strings.Join(msgs, "; ")
		e.Outcome.Reason = "Invalid response: every command was discarded, tokens minted unmodified"
	case Denied:
		msg = out.ErrorSummary
		e.Outcome.Reason = "The hook returned an error: token request denied"
	}
	e.Severity = "WARN"
	e.Outcome.Result = ResultFailure
	data[DebugErrorMessage] = msg
	return e
}

// redactURL returns the URL without query, fragment or user info, which
// may carry secrets.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
