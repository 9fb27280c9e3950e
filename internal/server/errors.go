package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"encoding/json/v2"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// apiError is an error with the status and client-facing message it maps to.
// cause is for the operator's log only.
type apiError struct {
	status     int
	code       string
	message    string
	cause      error
	allow      string        // Allow header for 405
	retryAfter time.Duration // Retry-After header for 429, in whole seconds up
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.cause.Error()
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.cause }

var errNotFound = &apiError{status: http.StatusNotFound, code: "not_found", message: "no such endpoint"}

var errReplay = &apiError{status: http.StatusConflict, code: "replay",
	message: "a request with this eventId was already received; Okta never sends one twice"}

func errRateLimited(wait time.Duration) error {
	return &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
		message: "too many requests from this address; retry later", retryAfter: max(wait, time.Second)}
}

// decodeError maps an error of the request's decoder. A request over the
// decoder's limits is not malformed: a string too long is a body too large
// (413, as a body over max_body_bytes), nesting too deep is a request the
// hook will not read (400).
func decodeError(err error) error {
	var le *inlinehook.LimitError
	if errors.As(err, &le) {
		if le.Limit == inlinehook.LimitStringBytes {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: "string_too_long", message: le.Error(), cause: err}
		}
		return &apiError{status: http.StatusBadRequest, code: "nesting_too_deep", message: le.Error(), cause: err}
	}
	return &apiError{status: http.StatusBadRequest, code: "malformed_request", message: err.Error(), cause: err}
}

// errorBody is the JSON every error response carries.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// writeError writes err as a JSON error and returns the status written. It is
// the one place that maps errors to statuses; an error that is not an
// apiError is an internal one and its text never reaches the client.
func writeError(w http.ResponseWriter, err error) int {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{status: http.StatusInternalServerError, code: "internal_error", message: "internal error"}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.allow != "" {
		h.Set("Allow", e.allow)
	}
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((e.retryAfter+time.Second-1)/time.Second), 10))
	}
	body, _ := json.Marshal(errorBody{Error: e.code, Message: e.message})
	w.WriteHeader(e.status)
	_, _ = w.Write(append(body, '\n'))
	return e.status
}

// errorHandler adapts a handler that returns an error.
func (s *Server) errorHandler(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return s.recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, err)
		}
	}))
}

func methodNotAllowed(allowed ...string) func(http.ResponseWriter, *http.Request) error {
	allow := strings.Join(allowed, ", ")
	return func(http.ResponseWriter, *http.Request) error {
		return &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			message: "method not allowed; use " + allow, allow: allow}
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
