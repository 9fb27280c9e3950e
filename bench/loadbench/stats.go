package main

import (
	"math"
	"slices"
	"time"
)

// loadResult is what one load run measured, whichever generator ran it.
type loadResult struct {
	requests     int64         // responses received within the measured window
	elapsed      time.Duration // the measured window
	p50, p99     time.Duration // latency percentiles over all responses
	statusErrors int64         // responses with an unexpected status (see generator)
	socketErrors int64         // connect/read/write errors and timeouts
	genCPU       time.Duration // CPU time the load generator used
}

// rps is the throughput of the run in requests per second.
func (r loadResult) rps() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// errors is every failed request of the run.
func (r loadResult) errors() int64 { return r.statusErrors + r.socketErrors }

// percentile returns the p-th percentile (0 < p <= 100) of sorted samples by
// the nearest-rank method: the smallest sample such that at least p % of the
// samples are less than or equal to it. It returns 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// latencySummary sorts samples in place and returns their p50 and p99.
func latencySummary(samples []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(samples)
	return percentile(samples, 50), percentile(samples, 99)
}
