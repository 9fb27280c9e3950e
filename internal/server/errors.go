package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"encoding/json/v2"
)

// apiError is an error with the status and client-facing message it maps to.
// cause is for the operator's log only.
type apiError struct {
	status  int
	code    string
	message string
	cause   error
	allow   string // Allow header for 405
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.cause.Error()
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.cause }

var errNotFound = &apiError{status: http.StatusNotFound, code: "not_found", message: "no such endpoint"}

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
