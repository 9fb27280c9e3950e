package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tokenhook/tokenhook/internal/tokenhook"
	"github.com/tokenhook/tokenhook/internal/version"
)

// TracingConfig configures [NewTracing].
type TracingConfig struct {
	// Endpoint is the OTLP/HTTP receiver's base URL; spans are posted to
	// Endpoint/v1/traces (an Endpoint with a path other than / is used
	// as it is).
	Endpoint string
	// SampleRatio is the share of calls without a sampled parent that
	// are traced, 0 to 1.
	SampleRatio float64
	// ServiceName is the service.name resource attribute.
	ServiceName string
	// BatchTimeout is how long spans wait to be exported together
	// (default 5 s, the SDK's).
	BatchTimeout time.Duration
}

// Tracing is an OpenTelemetry tracer provider exporting over OTLP/HTTP. It
// implements tokenhook.Tracer. It is not installed as OpenTelemetry's
// global provider: tokenhook passes it where spans start.
type Tracing struct {
	provider   *sdktrace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

var _ tokenhook.Tracer = (*Tracing)(nil)

// NewTracing starts a tracer provider for cfg. Export happens in the
// background, batched; a receiver that is down loses spans, never calls.
func NewTracing(cfg TracingConfig, info version.Info) (*Tracing, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("telemetry: tracing endpoint %q: want an http:// or https:// URL", cfg.Endpoint)
	}
	// WithEndpointURL takes the path as given: the signal's path is
	// added only to a bare base URL, as OTLP's specification says.
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	exporter, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(u.String()))
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", cfg.ServiceName),
		attribute.String("service.version", info.Version),
	)
	var batch []sdktrace.BatchSpanProcessorOption
	if cfg.BatchTimeout > 0 {
		batch = append(batch, sdktrace.WithBatchTimeout(cfg.BatchTimeout))
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter, batch...),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return &Tracing{
		provider:   provider,
		tracer:     provider.Tracer("github.com/tokenhook/tokenhook"),
		propagator: propagation.TraceContext{},
	}, nil
}

// Start implements tokenhook.Tracer. The first span of a call (no local
// parent) is a server span.
func (t *Tracing) Start(ctx context.Context, name string) (context.Context, tokenhook.Span) {
	kind := trace.SpanKindInternal
	if sc := trace.SpanContextFromContext(ctx); !sc.IsValid() || sc.IsRemote() {
		kind = trace.SpanKindServer
	}
	ctx, s := t.tracer.Start(ctx, name, trace.WithSpanKind(kind))
	return ctx, span{s}
}

// Middleware continues the caller's trace when the request carries a W3C
// traceparent header.
func (t *Tracing) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" {
			r = r.WithContext(t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)))
		}
		next.ServeHTTP(w, r)
	})
}

// Shutdown exports the spans still buffered and stops the provider.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

type span struct{ s trace.Span }

func (s span) SetAttribute(key, value string) { s.s.SetAttributes(attribute.String(key, value)) }

func (s span) End(err error) {
	if err != nil {
		// Our errors name reasons, never values (see the server's and
		// the core's error texts).
		s.s.SetStatus(codes.Error, err.Error())
	}
	s.s.End()
}
