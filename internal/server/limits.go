package server

import (
	"container/list"
	"hash/maphash"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Bounds of the tables behind Config.RatePerSource and Config.ReplayWindow:
// what a flood of sources or of event ids can make the server remember.
const (
	maxRateSources = 10_000
	maxReplayIDs   = 100_000
)

// rateLimiter is Config.RatePerSource: a token bucket per source address,
// in a table of at most max sources, least recently seen first out.
//
// A source unseen for idle (the time its bucket takes to fill) has a full
// bucket again, so forgetting it changes nothing; those go first, a few at
// each call. A flood of new sources beyond max forgets the least recently
// seen ones, which then start again with a full bucket: the table's memory
// is bounded, and a source that keeps calling stays in it.
type rateLimiter struct {
	limit rate.Limit
	burst int
	idle  time.Duration
	max   int

	mu      sync.Mutex
	sources map[netip.Addr]*list.Element // values are *rateSource
	lru     list.List                    // most recently seen first
}

type rateSource struct {
	addr netip.Addr
	lim  *rate.Limiter
	seen time.Time
}

func newRateLimiter(perSecond float64, burst, size int) *rateLimiter {
	burst = max(burst, 1)
	idle := time.Duration(math.Ceil(float64(burst) / perSecond * float64(time.Second)))
	return &rateLimiter{limit: rate.Limit(perSecond), burst: burst, idle: idle, max: size,
		sources: make(map[netip.Addr]*list.Element)}
}

// allow takes a token from addr's bucket. When there is none it returns
// false, and how long until there is one.
func (l *rateLimiter) allow(addr netip.Addr, now time.Time) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for e := l.lru.Back(); e != nil && now.Sub(e.Value.(*rateSource).seen) >= l.idle; e = l.lru.Back() {
		l.remove(e)
	}
	e, found := l.sources[addr]
	if found {
		l.lru.MoveToFront(e)
	} else {
		if len(l.sources) >= l.max {
			l.remove(l.lru.Back())
		}
		e = l.lru.PushFront(&rateSource{addr: addr, lim: rate.NewLimiter(l.limit, l.burst)})
		l.sources[addr] = e
	}
	src := e.Value.(*rateSource)
	src.seen = now
	if src.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - src.lim.TokensAt(now)
	return false, time.Duration(missing / float64(l.limit) * float64(time.Second))
}

func (l *rateLimiter) remove(e *list.Element) {
	delete(l.sources, e.Value.(*rateSource).addr)
	l.lru.Remove(e)
}

// len returns the number of sources remembered.
func (l *rateLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}

// sourceOf is the source a request's RemoteAddr counts against: its IP
// address, an IPv4-mapped IPv6 address as IPv4, and an IPv6 address by its
// /64 (what one host is given, typically). X-Forwarded-For and the like are
// never read: any client can send them. An address that does not parse
// (not one from a TCP listener) is the zero Addr, one source for all.
func sourceOf(remoteAddr string) netip.Addr {
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		a = ap.Addr()
	} else if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		a, _ = netip.ParseAddr(host)
	} else {
		a, _ = netip.ParseAddr(remoteAddr)
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		a = netip.PrefixFrom(a, 64).Masked().Addr()
	}
	return a
}

// replayGuard is Config.ReplayWindow: the event ids seen within the window,
// oldest first in a ring, at most max of them.
//
// It keeps a 64-bit hash of each id (maphash, seeded at random for the
// process), not the id: memory per id is fixed however long the ids are.
// Two ids of one window share a hash with a probability of about
// n²/2⁶⁵ — 3·10⁻¹⁰ for the 100 000 the guard holds at most. A flood of more
// distinct ids than max within the window forgets the oldest early.
type replayGuard struct {
	window time.Duration
	max    int
	seed   maphash.Seed
	start  time.Time // the clock counts from here

	mu   sync.Mutex
	ids  map[uint64]struct{}
	ring []seenID // ring[head], ring[head+1], ... n of them, oldest first
	head int
	n    int
}

type seenID struct {
	hash uint64
	at   time.Duration // since start
}

func newReplayGuard(window time.Duration, size int, now time.Time) *replayGuard {
	return &replayGuard{window: window, max: size, seed: maphash.MakeSeed(), start: now, ids: make(map[uint64]struct{})}
}

// seen records id at now, and reports whether it was recorded within the
// window before (then it is not recorded again: the window counts from the
// first time).
func (g *replayGuard) seen(id string, now time.Time) bool {
	h := maphash.String(g.seed, id)
	at := now.Sub(g.start)
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.n > 0 && at-g.ring[g.head].at >= g.window {
		g.pop()
	}
	if _, ok := g.ids[h]; ok {
		return true
	}
	if g.n >= g.max {
		g.pop()
	}
	if g.n == len(g.ring) {
		g.grow()
	}
	g.ring[(g.head+g.n)%len(g.ring)] = seenID{hash: h, at: at}
	g.n++
	g.ids[h] = struct{}{}
	return false
}

// pop forgets the oldest id.
func (g *replayGuard) pop() {
	delete(g.ids, g.ring[g.head].hash)
	g.head = (g.head + 1) % len(g.ring)
	g.n--
}

// grow doubles the ring, up to max.
func (g *replayGuard) grow() {
	ring := make([]seenID, min(max(2*len(g.ring), 1024), g.max))
	for i := range g.n {
		ring[i] = g.ring[(g.head+i)%len(g.ring)]
	}
	g.ring, g.head = ring, 0
}

// len returns the number of ids remembered.
func (g *replayGuard) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}
