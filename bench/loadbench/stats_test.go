package main

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	samples := make([]time.Duration, 100)
	for i := range samples {
		samples[i] = time.Duration(i+1) * time.Millisecond // 1..100 ms
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Millisecond},
		{99, 99 * time.Millisecond},
		{99.9, 100 * time.Millisecond},
		{100, 100 * time.Millisecond},
		{0.5, 1 * time.Millisecond},
		{1, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(samples, tt.p); got != tt.want {
			t.Errorf("percentile(1..100ms, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestPercentileSmallAndEmpty(t *testing.T) {
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
	one := []time.Duration{7}
	if got := percentile(one, 50); got != 7 {
		t.Errorf("percentile([7], 50) = %v, want 7", got)
	}
	three := []time.Duration{1, 2, 3}
	if got := percentile(three, 50); got != 2 {
		t.Errorf("percentile([1 2 3], 50) = %v, want 2", got)
	}
	if got := percentile(three, 99); got != 3 {
		t.Errorf("percentile([1 2 3], 99) = %v, want 3", got)
	}
}

func TestLatencySummarySortsFirst(t *testing.T) {
	samples := []time.Duration{9, 3, 7, 1, 5, 2, 8, 4, 6, 10}
	p50, p99 := latencySummary(samples)
	if p50 != 5 || p99 != 10 {
		t.Errorf("latencySummary = (%v, %v), want (5, 10)", p50, p99)
	}
}

func TestLoadResultRates(t *testing.T) {
	r := loadResult{requests: 5000, elapsed: 2 * time.Second, statusErrors: 3, socketErrors: 2}
	if got := r.rps(); got != 2500 {
		t.Errorf("rps = %v, want 2500", got)
	}
	if got := r.errors(); got != 5 {
		t.Errorf("errors = %v, want 5", got)
	}
	if got := (loadResult{requests: 1}).rps(); got != 0 {
		t.Errorf("rps with zero elapsed = %v, want 0", got)
	}
}
