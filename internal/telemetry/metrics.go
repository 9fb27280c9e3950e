// Package telemetry is what operators watch tokenhook by: Prometheus
// metrics, OpenTelemetry traces and the store's instrumentation. The server
// and the core know it only through their interfaces (server.Observer,
// tokenhook.Observer, tokenhook.Tracer), so a call pays for what is on and
// nothing more.
//
// Metrics carry names — outcomes, lookups, rules, claims — never a key, a
// login or a claim value.
package telemetry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokenhook/tokenhook/internal/server"
	"github.com/tokenhook/tokenhook/internal/tokenhook"
	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/cache"
	"github.com/tokenhook/tokenhook/internal/version"
)

// latencyBuckets are the hook call and store latency histograms' bounds, in
// seconds: fine below 10 ms, where a healthy hook answers, and dense
// towards Okta's 3 s timeout, where an answer stops counting.
func latencyBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2, 2.5, 3, 5}
}

// maxClaimSeries bounds the commands counter's series: claim names come
// from the operator's rules, but a removal can name any claim of Okta's
// token, so beyond this many the claim label is "other".
const maxClaimSeries = 500

// Metrics are the hook server's Prometheus metrics, in a registry of their
// own. It implements server.Observer and tokenhook.Observer.
type Metrics struct {
	reg *prometheus.Registry

	calls    map[server.Outcome]prometheus.Counter
	latency  map[server.Outcome]prometheus.Observer
	dropped  prometheus.Counter
	commands *prometheus.CounterVec
	// commandSeries are the commands counter's children by the
	// token:op:claim string the server reports, lookupSeries the lookups
	// counter's by name and result: a call costs a map read per series,
	// not a label hash.
	commandSeries series[string]
	lookups       *prometheus.CounterVec
	lookupSeries  series[[2]string]
	ruleErrors    *prometheus.CounterVec

	storeCalls   *prometheus.CounterVec
	storeLatency prometheus.Histogram
}

// NewMetrics returns the metrics, with the Go runtime's, the process's and
// tokenhook_build_info.
func NewMetrics(info version.Info) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tokenhook_build_info", Help: "The running build: version, VCS revision and Go version in labels; always 1.",
		ConstLabels: prometheus.Labels{"version": info.Version, "revision": info.Revision, "goversion": info.GoVersion},
	})
	build.Set(1)
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tokenhook_hook_calls_total",
		Help: "Hook calls by outcome: applied (200 with commands), noop (204), denied (200 with an error), unauthorized (401), rate_limited (429), replay (409), bad_request (other 4xx), error (5xx).",
	}, []string{"outcome"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tokenhook_hook_call_duration_seconds", Help: "Time from a hook call's arrival to its answer, by outcome. Okta gives up after 3 s.",
		Buckets: latencyBuckets(),
	}, []string{"outcome"})
	m := &Metrics{
		reg:     reg,
		calls:   map[server.Outcome]prometheus.Counter{},
		latency: map[server.Outcome]prometheus.Observer{},
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tokenhook_guard_dropped_total", Help: "Operations the guard removed from answers because Okta would refuse them.",
		}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhook_commands_total", Help: "Operations sent to Okta, by token (id, access), op (add, replace, remove) and claim name (lifetime for the token's lifetime).",
		}, []string{"token", "op", "claim"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhook_lookups_total", Help: "Lookups of the claim rules by name and result: found, not_found, stale (served from the cache while the store fails), failed, skipped (no key).",
		}, []string{"lookup", "result"}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhook_rule_errors_total", Help: "Rule evaluations that failed, by rule name.",
		}, []string{"rule"}),
		storeCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenhook_store_calls_total", Help: "Calls to the users store (the cache's misses) by result: found, not_found, error.",
		}, []string{"result"}),
		storeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tokenhook_store_call_duration_seconds", Help: "Latency of the users store's calls.", Buckets: latencyBuckets(),
		}),
	}
	for _, o := range server.Outcomes() {
		m.calls[o] = calls.WithLabelValues(string(o))
		m.latency[o] = latency.WithLabelValues(string(o))
	}
	for _, r := range []string{"found", "not_found", "error"} {
		m.storeCalls.WithLabelValues(r)
	}
	reg.MustRegister(build, calls, latency, m.dropped, m.commands, m.lookups, m.ruleErrors, m.storeCalls, m.storeLatency)
	return m
}

// Handler serves the metrics in Prometheus' text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveCall implements server.Observer.
func (m *Metrics) ObserveCall(c *server.Call) {
	m.calls[c.Outcome].Inc()
	m.latency[c.Outcome].Observe(c.Latency.Seconds())
	if len(c.Dropped) > 0 {
		m.dropped.Add(float64(len(c.Dropped)))
	}
	for _, name := range c.Claims {
		m.command(name).Inc()
	}
}

// command returns the counter of a token:op:claim name.
func (m *Metrics) command(name string) prometheus.Counter {
	return m.commandSeries.get(name, func(full bool) prometheus.Counter {
		token, rest, _ := strings.Cut(name, ":")
		op, claim, _ := strings.Cut(rest, ":")
		switch {
		case full:
			claim = "other"
		case claim == "":
			claim = "lifetime"
		}
		return m.commands.WithLabelValues(token, op, claim)
	})
}

// Lookup implements tokenhook.Observer.
func (m *Metrics) Lookup(name, result string) {
	m.lookupSeries.get([2]string{name, result}, func(bool) prometheus.Counter {
		return m.lookups.WithLabelValues(name, result)
	}).Inc()
}

// RuleFailed implements tokenhook.Observer.
func (m *Metrics) RuleFailed(rule string) { m.ruleErrors.WithLabelValues(rule).Inc() }

// series caches a counter vector's children by key, for at most
// maxClaimSeries keys: past them make is told the cache is full and its
// counter is not kept.
type series[K comparable] struct {
	mu sync.RWMutex
	m  map[K]prometheus.Counter
}

func (s *series[K]) get(k K, make func(full bool) prometheus.Counter) prometheus.Counter {
	s.mu.RLock()
	c, ok := s.m[k]
	s.mu.RUnlock()
	if ok {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.m[k]; ok {
		return c
	}
	if len(s.m) >= maxClaimSeries {
		return make(true)
	}
	if s.m == nil {
		s.m = map[K]prometheus.Counter{}
	}
	c = make(false)
	s.m[k] = c
	return c
}

var (
	_ server.Observer    = (*Metrics)(nil)
	_ tokenhook.Observer = (*Metrics)(nil)
)

// InstrumentStore returns a Getter over g that counts its calls and times
// them. It sits under the cache, so it sees the store's calls only.
func (m *Metrics) InstrumentStore(g cache.Getter) cache.Getter {
	return &meteredStore{Getter: g, m: m,
		found: m.storeCalls.WithLabelValues("found"), notFound: m.storeCalls.WithLabelValues("not_found"), failed: m.storeCalls.WithLabelValues("error")}
}

type meteredStore struct {
	cache.Getter
	m                       *Metrics
	found, notFound, failed prometheus.Counter
}

func (s *meteredStore) Get(ctx context.Context, key string) (*user.User, error) {
	start := time.Now()
	u, err := s.Getter.Get(ctx, key)
	s.m.storeLatency.Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		s.found.Inc()
	case errors.Is(err, user.ErrNotFound):
		s.notFound.Inc()
	default:
		s.failed.Inc()
	}
	return u, err
}

// RegisterCache exports c's counters, read at each scrape: the cache's hot
// path stays as it is.
func (m *Metrics) RegisterCache(c *cache.Cache) {
	m.reg.MustRegister(newCacheCollector(c))
}

// cacheCollector reads a cache's Stats when scraped.
type cacheCollector struct {
	c                                                   *cache.Cache
	lookups, loads, coalesced, stale, loadErrors, evict *prometheus.Desc
	entries                                             *prometheus.Desc
}

func newCacheCollector(c *cache.Cache) *cacheCollector {
	return &cacheCollector{
		c: c,
		lookups: prometheus.NewDesc("tokenhook_cache_lookups_total",
			"Lookups of the cache by result: hit (a fresh user), negative_hit (a fresh not-found), miss.", []string{"result"}, nil),
		loads:      prometheus.NewDesc("tokenhook_cache_loads_total", "Store calls the cache started (misses that did not join another's).", nil, nil),
		coalesced:  prometheus.NewDesc("tokenhook_cache_coalesced_total", "Misses that waited for a store call another lookup had started.", nil, nil),
		stale:      prometheus.NewDesc("tokenhook_cache_stale_served_total", "Results served stale because the store failed or was slow.", nil, nil),
		loadErrors: prometheus.NewDesc("tokenhook_cache_load_errors_total", "Store calls of the cache that failed or timed out.", nil, nil),
		evict:      prometheus.NewDesc("tokenhook_cache_evictions_total", "Entries dropped to keep the cache within cache.max_entries.", nil, nil),
		entries:    prometheus.NewDesc("tokenhook_cache_entries", "Keys cached now, found or not.", nil, nil),
	}
}

func (cc *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cc.lookups, cc.loads, cc.coalesced, cc.stale, cc.loadErrors, cc.evict, cc.entries} {
		ch <- d
	}
}

func (cc *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := cc.c.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(cc.lookups, s.Hits, "hit")
	counter(cc.lookups, s.NegativeHits, "negative_hit")
	counter(cc.lookups, s.Misses, "miss")
	counter(cc.loads, s.Loads)
	counter(cc.coalesced, s.Coalesced)
	counter(cc.stale, s.StaleServed)
	counter(cc.loadErrors, s.LoadErrors)
	counter(cc.evict, s.Evictions)
	ch <- prometheus.MustNewConstMetric(cc.entries, prometheus.GaugeValue, float64(s.Entries))
}
