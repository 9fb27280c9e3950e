// Package server is tokenhook's HTTP side: the routes, the hook handler and
// its middleware.
//
// The hook handler authenticates Okta's call, decodes the token request,
// asks the core for commands, passes them through Okta's own rules (the
// guard) so that Okta never discards the answer, and replies 200 with the
// commands or 204 when there is nothing to do. Every error maps to one status
// and a small JSON body in one place, [writeError]; clients never see
// internals.
package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/hookauth"
	"github.com/tokenhook/tokenhook/internal/tokenhook"
)

// DefaultMaxBodyBytes is the request body cap when Config leaves it zero.
const DefaultMaxBodyBytes = 1 << 20

// Config holds the server's dependencies. Zero values get the documented
// defaults; Auth and Transformer are required.
type Config struct {
	// HookPath is where Okta POSTs; default /hooks/okta/token.
	HookPath string
	// MaxBodyBytes caps the request body; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Auth authenticates Okta's call.
	Auth hookauth.Authenticator
	// Transformer computes the commands.
	Transformer tokenhook.Transformer
	// Rules are Okta's rules the guard enforces on every answer.
	Rules inlinehook.Rules
	// Logger receives one line per hook call; default discards.
	Logger *slog.Logger
	// Now is the clock for latencies, rates and the replay window; default
	// time.Now.
	Now func() time.Time

	// RatePerSource limits each source's hook calls to this many a
	// second, with bursts of up to RateBurst (at least 1); the calls over
	// it get 429 with Retry-After, before authentication. Zero turns the
	// limit off. The source is the connection's address (r.RemoteAddr; an
	// IPv6 address by its /64), never a header such as X-Forwarded-For:
	// behind a proxy every call has the proxy's address, so leave it off
	// there or limit in the proxy. At most 10 000 sources are tracked.
	RatePerSource float64
	RateBurst     int
	// ReplayWindow refuses, with 409, a hook call whose eventId was
	// received within the window before; zero turns the guard off. Okta
	// never retries a token hook, so a repeated eventId is a replay. A call
	// without an eventId is not refused (Okta always sends one; refusing
	// on absence would turn a change of Okta's into denied tokens). At
	// most 100 000 ids are remembered: a flood of more within the window
	// forgets the oldest early.
	ReplayWindow time.Duration

	// Observer, when not nil, hears of every hook call when it ends:
	// metrics.
	Observer Observer
	// Tracer, when not nil, gets a span per hook call with children for
	// authentication and decoding; the core adds the lookups and rules.
	Tracer tokenhook.Tracer
	// Ready reports whether the server can answer Okta (its store
	// reachable), for GET /readyz; nil: always ready.
	Ready func(context.Context) error
	// HashLogin, when not nil, makes the hook call's line carry
	// login_hash: HashLogin of the user's login. Nil leaves the login out.
	HashLogin func(login string) string

	// The request's JSON is bounded by the decoder: see
	// tokenhook.Config.Limits and inlinehook.PartialDecoder.WithLimits. A
	// *inlinehook.LimitError is answered with 413 (a string) or 400 (the
	// nesting).
}

// Server is the hook's HTTP handler.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	bufs   sync.Pool
	decode func([]byte) (*inlinehook.TokenRequest, error)
	rate   *rateLimiter // nil when off
	replay *replayGuard // nil when off
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.HookPath == "" {
		cfg.HookPath = "/hooks/okta/token"
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), decode: inlinehook.DecodeTokenRequest}
	if cfg.RatePerSource > 0 {
		s.rate = newRateLimiter(cfg.RatePerSource, cfg.RateBurst, maxRateSources)
	}
	if cfg.ReplayWindow > 0 {
		s.replay = newReplayGuard(cfg.ReplayWindow, maxReplayIDs, cfg.Now())
	}
	// A transformer that reads part of the request decodes only that part.
	if d, ok := cfg.Transformer.(tokenhook.RequestDecoder); ok {
		s.decode = d.DecodeRequest
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	for _, r := range s.routes() {
		s.mux.Handle(r.pattern, r.handler)
	}
	return s
}

// Successor returns a Server for cfg that carries s's rate-limit and replay
// state over when cfg keeps their settings, so that a configuration reload
// neither forgets the event ids just seen nor refills every source's burst.
func (s *Server) Successor(cfg Config) *Server {
	n := New(cfg)
	if s.rate != nil && n.rate != nil && s.cfg.RatePerSource == n.cfg.RatePerSource && s.cfg.RateBurst == n.cfg.RateBurst {
		n.rate = s.rate
	}
	if s.replay != nil && n.replay != nil && s.cfg.ReplayWindow == n.cfg.ReplayWindow {
		n.replay = s.replay
	}
	return n
}

type route struct {
	pattern string
	handler http.Handler
}

// routes lists every route. A pattern with a method takes precedence over
// the same path without one, which answers every other method with 405.
func (s *Server) routes() []route {
	return []route{
		{"POST " + s.cfg.HookPath, s.recoverer(http.HandlerFunc(s.handleHook))},
		{s.cfg.HookPath, s.errorHandler(methodNotAllowed(http.MethodPost))},
		{"GET /healthz", s.errorHandler(handleHealth)},
		{"/healthz", s.errorHandler(methodNotAllowed(http.MethodGet, http.MethodHead))},
		{"GET /readyz", s.errorHandler(s.handleReady)},
		{"/readyz", s.errorHandler(methodNotAllowed(http.MethodGet, http.MethodHead))},
		{"/", s.errorHandler(func(http.ResponseWriter, *http.Request) error { return errNotFound })},
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func handleHealth(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write([]byte(`{"status":"ok"}` + "\n"))
	return err
}

// HandleHealth answers GET /healthz: the process is up.
func HandleHealth(w http.ResponseWriter, r *http.Request) { _ = handleHealth(w, r) }

// handleReady answers GET /readyz: 200 when cfg.Ready passes, 503 with a
// JSON error otherwise.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			return &apiError{status: http.StatusServiceUnavailable, code: "not_ready", message: "the users store is unreachable", cause: err}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write([]byte(`{"status":"ready"}` + "\n"))
	return err
}

// HandleReady answers GET /readyz as the hook listener does, for the
// admin listener.
func (s *Server) HandleReady(w http.ResponseWriter, r *http.Request) {
	if err := s.handleReady(w, r); err != nil {
		writeError(w, err)
	}
}

// Outcome is what a hook call ended in, as logged and counted.
type Outcome string

// The outcomes of a hook call.
const (
	OutcomeApplied      Outcome = "applied"      // 200 with commands
	OutcomeNoop         Outcome = "noop"         // 204
	OutcomeDenied       Outcome = "denied"       // 200 with an error object
	OutcomeUnauthorized Outcome = "unauthorized" // 401
	OutcomeRateLimited  Outcome = "rate_limited" // 429
	OutcomeReplay       Outcome = "replay"       // 409
	OutcomeBadRequest   Outcome = "bad_request"  // 4xx other than those
	OutcomeError        Outcome = "error"        // 5xx
)

// Outcomes lists every Outcome, for metrics that start at zero.
func Outcomes() []Outcome {
	return []Outcome{OutcomeApplied, OutcomeNoop, OutcomeDenied, OutcomeUnauthorized, OutcomeRateLimited, OutcomeReplay, OutcomeBadRequest, OutcomeError}
}

// Call is what one hook call did: its audit line and its metrics. It
// holds ids and names, never a claim value, a secret or a login.
type Call struct {
	EventID string
	Outcome Outcome
	Status  int
	Latency time.Duration
	// Claims are the commands sent, as token:op:claim ("id:add:patientId").
	Claims []string
	// Dropped are the guard's messages: what it removed from the answer
	// because Okta would refuse it (claim paths and reasons).
	Dropped []string
	// From the request, when it was decoded: the OAuth client, the grant
	// type (or, for a call from /authorize, the response type) and the
	// Okta user id (00u…).
	ClientID, GrantType, ResponseType, UserID string
	loginHash                                 string
	denied                                    bool
	reason                                    error
}

// Observer hears of every hook call when it ends. It must be quick: it
// runs on the call's goroutine before the handler returns.
type Observer interface {
	ObserveCall(*Call)
}

// handleHook serves Okta's POST. It logs exactly one line per call: the
// audit line.
func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	var call Call
	var span tokenhook.Span
	if s.cfg.Tracer != nil {
		var ctx context.Context
		ctx, span = s.cfg.Tracer.Start(r.Context(), "hook call")
		r = r.WithContext(ctx)
	}
	err := s.hook(w, r, &call)
	if err != nil {
		call.Status = writeError(w, err)
		call.reason = err
	}
	call.Outcome = call.outcome()
	call.Latency = s.cfg.Now().Sub(start)
	if span != nil {
		s.endSpan(span, &call)
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.ObserveCall(&call)
	}
	s.audit(r.Context(), &call)
}

func (s *Server) endSpan(span tokenhook.Span, call *Call) {
	span.SetAttribute("okta.event_id", call.EventID)
	span.SetAttribute("tokenhook.outcome", string(call.Outcome))
	span.SetAttribute("http.response.status_code", strconv.Itoa(call.Status))
	if call.ClientID != "" {
		span.SetAttribute("okta.client_id", call.ClientID)
	}
	if call.GrantType != "" {
		span.SetAttribute("okta.grant_type", call.GrantType)
	}
	var err error
	if call.Status >= 500 {
		err = call.reason
	}
	span.End(err)
}

// audit logs the call's line: info when answered, warn when refused,
// error on a failure of ours.
func (s *Server) audit(ctx context.Context, call *Call) {
	level := slog.LevelInfo
	if call.reason != nil {
		level = slog.LevelWarn
		if call.Status >= 500 {
			level = slog.LevelError
		}
	}
	if !s.cfg.Logger.Enabled(ctx, level) {
		return // spare building the line: a busy hook logs at warn
	}
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("event_id", call.EventID),
		slog.String("outcome", string(call.Outcome)),
		slog.Int("status", call.Status),
		slog.Duration("latency", call.Latency),
	)
	for _, a := range [...]struct{ key, value string }{
		{"client_id", call.ClientID}, {"grant_type", call.GrantType}, {"response_type", call.ResponseType},
		{"user_id", call.UserID}, {"login_hash", call.loginHash},
	} {
		if a.value != "" {
			attrs = append(attrs, slog.String(a.key, a.value))
		}
	}
	if len(call.Claims) > 0 {
		attrs = append(attrs, slog.Any("claims", call.Claims))
	}
	if len(call.Dropped) > 0 {
		attrs = append(attrs, slog.Any("dropped", call.Dropped))
	}
	if call.reason != nil {
		attrs = append(attrs, slog.String("reason", call.reason.Error()))
	}
	s.cfg.Logger.LogAttrs(ctx, level, "hook call", attrs...)
}

// hook does the work of handleHook. It records what it wrote in call, or
// returns an error for writeError.
func (s *Server) hook(w http.ResponseWriter, r *http.Request, call *Call) error {
	// The rate first: it costs less than authentication, which is what a
	// flood would make the server do.
	if s.rate != nil {
		if ok, wait := s.rate.allow(sourceOf(r.RemoteAddr), s.cfg.Now()); !ok {
			return errRateLimited(wait)
		}
	}
	// Authenticate before looking at anything else: an unauthenticated
	// caller learns nothing about what the endpoint would accept.
	if err := s.authenticate(r); err != nil {
		return &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "authentication required", cause: err}
	}
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.putBuffer(buf)
	if err := s.readBody(w, r, buf); err != nil {
		return err
	}
	req, err := s.decodeTraced(r.Context(), buf.Bytes())
	if err != nil {
		return decodeError(err)
	}
	s.noteRequest(call, req)
	if s.replay != nil && req.EventID != "" && s.replay.seen(req.EventID, s.cfg.Now()) {
		return errReplay
	}
	resp, err := s.cfg.Transformer.Transform(r.Context(), req)
	if err != nil {
		return &apiError{status: http.StatusInternalServerError, code: "internal_error", message: "the hook could not compute an answer", cause: err}
	}
	if resp != nil && resp.Error == nil {
		for _, v := range s.cfg.Rules.Prune(req, resp) {
			call.Dropped = append(call.Dropped, v.Message)
		}
	}
	if resp.IsEmpty() {
		w.WriteHeader(http.StatusNoContent)
		call.Status = http.StatusNoContent
		return nil
	}
	body, err := inlinehook.EncodeResponse(resp)
	if err != nil {
		return &apiError{status: http.StatusInternalServerError, code: "internal_error", message: "the hook could not encode its answer", cause: err}
	}
	if len(body) >= inlinehook.MaxResponseSize {
		// Okta would reject the whole answer; say so in our log, and let
		// Okta issue the token unmodified rather than fail strangely.
		return &apiError{status: http.StatusInternalServerError, code: "internal_error", message: "the hook's answer is too large", cause: errors.New("response over Okta's 256 KB limit")}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	call.Status = http.StatusOK
	call.denied = resp.Error != nil
	call.Claims = tokenhook.ClaimNames(resp)
	return nil
}

// authenticate runs the authenticator, in a span when tracing.
func (s *Server) authenticate(r *http.Request) error {
	if s.cfg.Tracer == nil {
		return s.cfg.Auth.Authenticate(r)
	}
	_, span := s.cfg.Tracer.Start(r.Context(), "auth")
	err := s.cfg.Auth.Authenticate(r)
	span.End(err)
	return err
}

// decodeTraced decodes the request, in a span when tracing.
func (s *Server) decodeTraced(ctx context.Context, body []byte) (*inlinehook.TokenRequest, error) {
	if s.cfg.Tracer == nil {
		return s.decode(body)
	}
	_, span := s.cfg.Tracer.Start(ctx, "decode")
	req, err := s.decode(body)
	span.End(err)
	return req, err
}

// noteRequest copies the request's ids into the call's record.
func (s *Server) noteRequest(call *Call, req *inlinehook.TokenRequest) {
	call.EventID = req.EventID
	c := &req.Data.Context
	if p := c.Protocol; p != nil {
		if p.Client != nil {
			call.ClientID = p.Client.ID
		}
		if p.Request != nil {
			call.GrantType = p.Request.GrantType
			if call.GrantType == "" {
				call.ResponseType = p.Request.ResponseType
			}
			if call.ClientID == "" {
				call.ClientID = p.Request.ClientID
			}
		}
	}
	if u := c.User; u != nil {
		call.UserID = u.ID
		if s.cfg.HashLogin != nil && u.Profile.Login != "" {
			call.loginHash = s.cfg.HashLogin(u.Profile.Login)
		}
	}
}

func (c *Call) outcome() Outcome {
	switch {
	case c.denied:
		return OutcomeDenied
	case c.Status == http.StatusUnauthorized:
		return OutcomeUnauthorized
	case c.Status == http.StatusTooManyRequests:
		return OutcomeRateLimited
	case c.Status == http.StatusConflict:
		return OutcomeReplay
	case c.Status >= 500:
		return OutcomeError
	case c.Status >= 400:
		return OutcomeBadRequest
	case c.Status == http.StatusNoContent:
		return OutcomeNoop
	default:
		return OutcomeApplied
	}
}

func (s *Server) putBuffer(b *bytes.Buffer) {
	// Keep pooled buffers small: one huge request must not pin memory.
	if b.Cap() > 64<<10 {
		return
	}
	b.Reset()
	s.bufs.Put(b)
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) error {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return errTooLarge(s.cfg.MaxBodyBytes)
	}
	if r.ContentLength > 0 {
		// Read exactly the declared length, not on to EOF: net/http
		// starts a background read of the connection when a handler hits
		// the body's EOF (to notice a client going away), a goroutine
		// wake-up and a syscall per request that an answer in a few
		// hundred microseconds does not need. net/http has checked that
		// the body is no longer than declared.
		buf.Grow(int(r.ContentLength))
		b := buf.AvailableBuffer()[:r.ContentLength]
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return &apiError{status: http.StatusBadRequest, code: "malformed_request", message: "could not read the request body", cause: err}
		}
		buf.Write(b)
		return nil
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return errTooLarge(s.cfg.MaxBodyBytes)
	case err != nil:
		return &apiError{status: http.StatusBadRequest, code: "malformed_request", message: "could not read the request body", cause: err}
	case buf.Len() == 0:
		return &apiError{status: http.StatusBadRequest, code: "malformed_request", message: "empty request body"}
	}
	return nil
}

func errTooLarge(limit int64) error {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "request_too_large",
		message: "request body larger than " + formatBytes(limit)}
}

func checkJSONContentType(v string) error {
	mt, _, err := mime.ParseMediaType(v)
	if v == "" || err != nil || mt != "application/json" {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			message: "Content-Type must be application/json"}
	}
	return nil
}

// recoverer turns a panic into a 500 with a JSON error; the client never sees
// the panic, and the log records it without request data.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Logger.LogAttrs(context.WithoutCancel(r.Context()), slog.LevelError, "panic in handler", slog.String("path", r.URL.Path))
				writeError(w, &apiError{status: http.StatusInternalServerError, code: "internal_error", message: "internal error"})
				if s.cfg.Observer != nil {
					// The call's own record is lost with the panic: count it as an error.
					s.cfg.Observer.ObserveCall(&Call{Outcome: OutcomeError, Status: http.StatusInternalServerError})
				}
			}
		}()
		next.ServeHTTP(w, r)
	})
}
