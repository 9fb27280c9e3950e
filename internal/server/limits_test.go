package server

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestSourceOf(t *testing.T) {
	for _, tt := range []struct{ remote, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:1234", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::"},
		{"[fe80::1%eth0]:80", "fe80::"},
		{"192.0.2.1", "192.0.2.1"},
		{"@", "invalid IP"},
		{"", "invalid IP"},
	} {
		if got := sourceOf(tt.remote).String(); got != tt.want {
			t.Errorf("sourceOf(%q) = %s, want %s", tt.remote, got, tt.want)
		}
	}
}

func TestRateLimiterBuckets(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(2, 3, 100) // 2/s, bursts of 3
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if ok, _ := l.allow(a, now); !ok {
			t.Fatalf("call %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow(a, now)
	if ok || wait != 500*time.Millisecond {
		t.Errorf("over the burst: ok %v, retry after %s, want false and 500ms", ok, wait)
	}
	if ok, _ := l.allow(b, now); !ok {
		t.Error("another source is limited too")
	}
	if ok, _ := l.allow(a, now.Add(500*time.Millisecond)); !ok {
		t.Error("a token is not back after 1/rate")
	}
}

// TestRateLimiterBounded pins the table's bounds: idle sources are
// forgotten, and a flood of sources does not grow it past max.
func TestRateLimiterBounded(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(10, 5, 1000) // a bucket refills in 500ms
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := range 5000 {
		l.allow(addr(i), now)
	}
	if n := l.len(); n != 1000 {
		t.Errorf("after 5000 sources: %d remembered, want the cap 1000", n)
	}
	// The most recent ones are kept: the last source is still limited.
	for range 5 {
		l.allow(addr(4999), now)
	}
	if ok, _ := l.allow(addr(4999), now); ok {
		t.Error("a recent source was forgotten")
	}
	// Idle sources go once their bucket is full again.
	l.allow(addr(1), now.Add(500*time.Millisecond))
	if n := l.len(); n != 1 {
		t.Errorf("after the refill time: %d remembered, want 1", n)
	}
}

func TestReplayGuardWindow(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	g := newReplayGuard(time.Minute, 100_000, start)
	if g.seen("e1", start) {
		t.Fatal("first time seen as a replay")
	}
	if !g.seen("e1", start.Add(59*time.Second)) {
		t.Error("a replay within the window not seen")
	}
	if g.seen("e2", start.Add(30*time.Second)) {
		t.Error("another id seen as a replay")
	}
	// The window counts from the first time.
	if g.seen("e1", start.Add(time.Minute)) {
		t.Error("seen again after the window")
	}
	if g.len() != 2 { // e2, and e1 again
		t.Errorf("%d ids remembered, want 2", g.len())
	}
	if g.seen("e2", start.Add(91*time.Second)) || g.len() != 2 {
		t.Errorf("after e2's window: %d remembered", g.len())
	}
}

// TestReplayGuardBounded pins the cap: a flood of ids forgets the oldest,
// and memory does not grow past it.
func TestReplayGuardBounded(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	g := newReplayGuard(time.Hour, 3000, start)
	for i := range 10_000 {
		if g.seen("id"+strconv.Itoa(i), start.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("id %d: a false replay", i)
		}
	}
	if g.len() != 3000 || len(g.ids) != 3000 || len(g.ring) != 3000 {
		t.Errorf("remembered %d ids (map %d, ring %d), want the cap 3000", g.len(), len(g.ids), len(g.ring))
	}
	now := start.Add(10 * time.Second)
	if !g.seen("id9999", now) || !g.seen("id7000", now) {
		t.Error("recent ids forgotten")
	}
	if g.seen("id6999", now) {
		t.Error("an id beyond the cap remembered")
	}
	// The ring wraps around and still forgets in order.
	later := start.Add(2 * time.Hour)
	for i := range 10 {
		g.seen(fmt.Sprint("late", i), later)
	}
	if g.len() != 10 {
		t.Errorf("after the window: %d remembered, want 10", g.len())
	}
}

// TestReplayGuardDefaultCap runs the production cap once.
func TestReplayGuardDefaultCap(t *testing.T) {
	if testing.Short() {
		t.Skip("100 001 ids")
	}
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	g := newReplayGuard(time.Hour, maxReplayIDs, start)
	for i := range maxReplayIDs + 1 {
		g.seen(strconv.Itoa(i), start)
	}
	if g.len() != maxReplayIDs || g.seen("0", start) {
		t.Errorf("remembered %d, want %d without the first", g.len(), maxReplayIDs)
	}
}

// TestSuccessorKeepsLimits: a reload keeps the limiter and the guard when
// their settings stay, and starts afresh when they change.
func TestSuccessorKeepsLimits(t *testing.T) {
	cfg := Config{RatePerSource: 1, RateBurst: 2, ReplayWindow: time.Minute}
	s := New(cfg)
	same := s.Successor(cfg)
	if same.rate != s.rate || same.replay != s.replay {
		t.Error("unchanged settings: the successor has new state")
	}
	changed := cfg
	changed.RateBurst, changed.ReplayWindow = 3, 2*time.Minute
	other := s.Successor(changed)
	if other.rate == s.rate || other.replay == s.replay {
		t.Error("changed settings: the successor kept the old state")
	}
	off := s.Successor(Config{})
	if off.rate != nil || off.replay != nil {
		t.Error("limits turned off: the successor still limits")
	}
}
