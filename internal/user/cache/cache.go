// Package cache is a caching decorator over the users store for the hook's
// hot path.
//
// Okta gives a token inline hook 3 seconds in all and never retries: a hook
// call that is late or fails leaves the token without its claims. The store
// lookup is the largest cost of a call and the part most likely to be slow
// or down, so a [Cache] in front of it answers repeated lookups from memory,
// lets concurrent lookups of one key share a single store call, bounds every
// store call with a timeout, and, while the store fails, serves the last
// value it knew (marked stale) rather than nothing.
//
// Found users are fresh for [Config.TTL] and not-found answers for
// [Config.NegativeTTL] (negative caching), so a change in the store reaches
// the hook within those times. A store error is never cached as a value. The
// number of entries is bounded by [Config.MaxEntries]; the eviction policy is
// SIEVE, a CLOCK-like policy that makes a hit a read plus one bit and keeps
// entries that are looked up again over those seen once.
//
// A cache runs no goroutine of its own beyond the store calls in flight,
// each bounded by [Config.LoadTimeout], so it needs no Close.
package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenhook/tokenhook/internal/user"
)

// Defaults for the zero fields of a [Config].
const (
	DefaultTTL         = 30 * time.Second
	DefaultNegativeTTL = 5 * time.Second
	DefaultStaleFor    = time.Hour
	DefaultMaxEntries  = 100_000
	DefaultLoadTimeout = time.Second
)

// Getter is the part of the users store that the cache reads through. A
// [user.Store] is one, and so is a [Cache].
type Getter interface {
	// Get returns the user with the key, or an error wrapping
	// user.ErrNotFound when there is none. It must honor ctx.
	Get(ctx context.Context, key string) (*user.User, error)
}

// Config configures a [Cache]. The zero value of every field means the
// documented default, so Config{} is ready to use.
type Config struct {
	// TTL is how long a found user is fresh, that is served without asking
	// the store, counted from the start of the store call that fetched it.
	// Zero means DefaultTTL. A negative TTL means found users are never
	// fresh: every lookup loads (concurrent lookups still share one load,
	// and the value is still kept for stale serving).
	TTL time.Duration

	// NegativeTTL is how long a not-found answer is fresh, counted like TTL:
	// a user created in the store is seen by lookups at most NegativeTTL
	// after its creation. Zero means DefaultNegativeTTL; negative means
	// not-found answers are never fresh.
	NegativeTTL time.Duration

	// StaleFor is how long after an entry stops being fresh its value may
	// still be served, marked stale, when loading it again fails. Zero means
	// DefaultStaleFor; negative disables stale serving, so a failed load is
	// always an error.
	StaleFor time.Duration

	// MaxEntries bounds the number of keys cached, found or not. Zero means
	// DefaultMaxEntries; negative means nothing is kept, so the cache only
	// shares concurrent loads. The bound is kept per shard of the cache, so
	// with keys that hash unevenly the cache may evict before it holds
	// MaxEntries keys, but it never holds more.
	MaxEntries int

	// LoadTimeout bounds every store call. A call still running after it
	// counts as failed: its callers get an error or a stale value, even if
	// the store ignores its context. Zero means DefaultLoadTimeout; negative
	// means no timeout (each caller still stops waiting when its own context
	// ends).
	LoadTimeout time.Duration

	// Now is the clock; nil means time.Now. Tests inject a fake one.
	Now func() time.Time
}

// Result is the answer to a [Cache.Lookup].
type Result struct {
	// User is the user found, or nil when Found is false. It is shared with
	// the cache and every other caller: it is read-only, and callers must
	// not modify it or anything it refers to (its Attributes included).
	// [Cache.Get] returns a copy for callers that need one.
	User *user.User

	// Found reports whether the store has a user with the key. False with a
	// nil error is a not-found answer, cached or not.
	Found bool

	// Stale reports that loading the key failed and the result is the last
	// value known instead, less than Config.StaleFor past the end of its
	// freshness.
	Stale bool
}

// Stats are a cache's counters since [New], for metrics. Lookups are Hits +
// NegativeHits + Misses; Misses are Loads + Coalesced (plus lookups whose
// context had ended before a load could start).
type Stats struct {
	Hits         uint64 // lookups answered by a fresh found user
	NegativeHits uint64 // lookups answered by a fresh not-found answer
	Misses       uint64 // lookups without a fresh entry
	Loads        uint64 // store calls started
	Coalesced    uint64 // misses that waited for a load another lookup started
	StaleServed  uint64 // results returned with Stale set
	LoadErrors   uint64 // store calls that failed or timed out (not-found is no error)
	Evictions    uint64 // entries dropped to keep the MaxEntries bound
	Entries      int    // keys cached now, found or not
}

// Cache is a caching [Getter] over another one. Create it with [New]; it is
// safe for concurrent use.
type Cache struct {
	src         Getter
	ttl         time.Duration
	negativeTTL time.Duration
	staleFor    time.Duration
	loadTimeout time.Duration
	now         func() time.Time
	realClock   bool // now is time.Now: see fresh

	seed   maphash.Seed
	shards []shard
	mask   uint64

	misses      atomic.Uint64
	loads       atomic.Uint64
	coalesced   atomic.Uint64
	staleServed atomic.Uint64
	loadErrors  atomic.Uint64
	evictions   atomic.Uint64
	entries     atomic.Int64
}

var _ Getter = (*Cache)(nil)

// shard is one lock's worth of the cache: a map of entries in SIEVE order and
// the loads in flight for its keys.
type shard struct {
	mu    sync.RWMutex
	nodes map[string]*node
	calls map[string]*call

	// The SIEVE queue: newest is where entries enter, oldest where the hand
	// starts over, hand the next candidate for eviction.
	newest, oldest, hand *node
	limit                int

	// Hit counters live with the shard's lock, which a hit touches anyway,
	// rather than on one cache line shared by every core.
	hits, negativeHits atomic.Uint64

	// Keep the next shard's lock and counters off this shard's cache line.
	_ [64]byte
}

// node is one cached key. Its fields other than visits change only under
// the shard's write lock. The fields a hit reads come first, so that they
// share a cache line.
type node struct {
	res    Result      // Stale is always false here
	fresh  time.Time   // served without loading before this
	visits atomic.Bool // looked up since the hand last passed it

	stale time.Time // served as stale after a failed load before this
	key   string
	newer *node // toward shard.newest
	older *node // toward shard.oldest
}

// call is one load in flight. res and err are written before done is closed
// and read only after.
type call struct {
	done chan struct{}
	res  Result
	err  error

	// Under the shard's lock: finished is set by the first of the store's
	// answer and the timeout; forgotten by Invalidate, so that the answer
	// is given to the callers that waited but not cached.
	finished  bool
	forgotten bool
}

// Shard sizing: at most maxShards locks, and no fewer than minPerShard
// entries per shard, so that a small cache evicts close to the true SIEVE
// order rather than by the accident of which shard a key hashes to.
const (
	maxShards   = 64
	minPerShard = 64
)

// New returns a cache over src configured by cfg.
func New(src Getter, cfg Config) *Cache {
	c := &Cache{
		src:         src,
		ttl:         orDefault(cfg.TTL, DefaultTTL),
		negativeTTL: orDefault(cfg.NegativeTTL, DefaultNegativeTTL),
		staleFor:    orDefault(cfg.StaleFor, DefaultStaleFor),
		loadTimeout: cfg.LoadTimeout,
		now:         cfg.Now,
		seed:        maphash.MakeSeed(),
	}
	if c.loadTimeout == 0 {
		c.loadTimeout = DefaultLoadTimeout
	}
	if c.now == nil {
		c.now, c.realClock = time.Now, true
	}
	limit := cfg.MaxEntries
	switch {
	case limit == 0:
		limit = DefaultMaxEntries
	case limit < 0:
		limit = 0
	}
	n := 1
	for n < maxShards && limit/(2*n) >= minPerShard {
		n *= 2
	}
	c.shards = make([]shard, n)
	c.mask = uint64(n - 1)
	for i := range c.shards {
		s := &c.shards[i]
		s.nodes = make(map[string]*node)
		s.calls = make(map[string]*call)
		// Spread the remainder so that the limits add up to the bound.
		s.limit = limit / n
		if i < limit%n {
			s.limit++
		}
	}
	return c
}

// orDefault returns d for zero, zero for negative and v otherwise.
func orDefault(v, d time.Duration) time.Duration {
	switch {
	case v == 0:
		return d
	case v < 0:
		return 0
	}
	return v
}

func (c *Cache) shardFor(key string) *shard {
	return &c.shards[maphash.String(c.seed, key)&c.mask]
}

// Lookup returns what the store holds for key: from the cache when the entry
// is fresh, without allocating, and otherwise from a store call.
//
// Only one store call per key is in flight at a time; lookups of a key being
// loaded wait for that call. The call runs apart from its callers: it keeps
// the values of the context of the lookup that started it but not its
// cancellation, and is bounded by Config.LoadTimeout instead, so one caller
// giving up does not fail the others. A caller whose ctx ends while it waits
// gets the key's last value, marked stale, when there is one within
// Config.StaleFor (as a failed load would), else ctx's error, at once; the
// call goes on for the others.
//
// A not-found answer is a Result with Found false and a nil error. When the
// store call fails (an error other than user.ErrNotFound, or the timeout)
// and the key's last value is less than Config.StaleFor past the end of its
// freshness, Lookup returns that value with Stale set and a nil error; otherwise it
// returns the store's error.
//
// A fresh entry is returned whatever the state of ctx; a lookup that needs
// the store and whose ctx has already ended starts no store call.
//
// The returned User is shared and read-only: see [Result.User].
func (c *Cache) Lookup(ctx context.Context, key string) (Result, error) {
	s := c.shardFor(key)
	if res, ok := c.peek(s, key); ok {
		return res, nil
	}
	return c.miss(ctx, s, key)
}

// Peek returns the key's entry when it is fresh, as Lookup would, and
// reports false otherwise; it never calls the store. It lets a caller that
// must set up timeouts before a store call skip that on a hit.
func (c *Cache) Peek(key string) (Result, bool) {
	return c.peek(c.shardFor(key), key)
}

func (c *Cache) peek(s *shard, key string) (Result, bool) {
	s.mu.RLock()
	n := s.nodes[key]
	if n == nil || !c.fresh(n) {
		s.mu.RUnlock()
		return Result{}, false
	}
	res := n.res
	// Write the bit only when it changes: on a hot key, a store on every
	// hit would bounce the node's cache line between cores.
	if !n.visits.Load() {
		n.visits.Store(true)
	}
	s.mu.RUnlock()
	s.countHit(res.Found)
	return res, true
}

// fresh reports whether n may be served without loading. On the real clock
// it reads only the monotonic clock: n.fresh comes from time.Now and so
// carries a monotonic reading, and time.Until then skips the wall clock,
// which time.Now also reads. That halves the clock's cost, the largest part
// of a hit.
func (c *Cache) fresh(n *node) bool {
	if c.realClock {
		return time.Until(n.fresh) > 0
	}
	return c.now().Before(n.fresh)
}

func (s *shard) countHit(found bool) {
	if found {
		s.hits.Add(1)
	} else {
		s.negativeHits.Add(1)
	}
}

// miss is Lookup without a fresh entry on the read path: it joins the key's
// load in flight or starts one, then waits for it or for ctx.
func (c *Cache) miss(ctx context.Context, s *shard, key string) (Result, error) {
	s.mu.Lock()
	// A load may have finished between the read lock and this one.
	if n := s.nodes[key]; n != nil && c.fresh(n) {
		res := n.res
		n.visits.Store(true)
		s.mu.Unlock()
		s.countHit(res.Found)
		return res, nil
	}
	c.misses.Add(1)
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return Result{}, err
	}
	cl := s.calls[key]
	if cl != nil {
		c.coalesced.Add(1)
	} else {
		cl = &call{done: make(chan struct{})}
		s.calls[key] = cl
		c.loads.Add(1)
		go c.load(ctx, s, key, cl)
	}
	s.mu.Unlock()

	select {
	case <-cl.done:
		if cl.res.Stale {
			c.staleServed.Add(1)
		}
		return cl.res, cl.err
	case <-ctx.Done():
		// A caller that cannot wait any longer for a slow store is served
		// the last value known, as a failed load would serve it: a store
		// that hangs must cost no more than one that fails.
		if res, ok := c.staleValue(s, key); ok {
			c.staleServed.Add(1)
			return res, nil
		}
		return Result{}, ctx.Err()
	}
}

// staleValue returns the key's last value, marked stale, when it is less
// than StaleFor past its freshness.
func (c *Cache) staleValue(s *shard, key string) (Result, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.nodes[key]
	if n == nil || !c.now().Before(n.stale) {
		return Result{}, false
	}
	res := n.res
	res.Stale = true
	return res, true
}

// load makes the store call of cl and finishes cl with its answer, or with a
// timeout error when LoadTimeout passes first.
func (c *Cache) load(parent context.Context, s *shard, key string, cl *call) {
	start := c.now()
	ctx := context.WithoutCancel(parent)
	if c.loadTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.loadTimeout)
		defer cancel()
		// Finish on time even when the store does not honor ctx. stop must
		// run before cancel, or cancel would trigger this too.
		stop := context.AfterFunc(ctx, func() {
			c.finish(s, key, cl, start, nil, fmt.Errorf("user cache: load %q: no answer from the store within %v: %w",
				key, c.loadTimeout, context.DeadlineExceeded))
		})
		defer stop()
	}
	u, err := c.get(ctx, key)
	c.finish(s, key, cl, start, u, err)
}

// get calls the store, turning a panic into an error: the call runs on a
// goroutine of its own, where a panic would end the process rather than
// fail one request as it would without the cache.
func (c *Cache) get(ctx context.Context, key string) (u *user.User, err error) {
	defer func() {
		if r := recover(); r != nil {
			u, err = nil, fmt.Errorf("user cache: load %q: store panicked: %v", key, r)
		}
	}()
	u, err = c.src.Get(ctx, key)
	if err == nil && u == nil {
		err = fmt.Errorf("user cache: load %q: store returned neither a user nor an error", key)
	}
	return u, err
}

// finish records the answer of cl's store call, which started at start, and
// wakes its waiters. Only its first call for cl counts.
func (c *Cache) finish(s *shard, key string, cl *call, start time.Time, u *user.User, err error) {
	s.mu.Lock()
	if cl.finished {
		s.mu.Unlock()
		return
	}
	cl.finished = true
	var res Result
	switch {
	case err == nil:
		res = Result{User: u, Found: true}
		if !cl.forgotten {
			c.store(s, key, res, start.Add(c.ttl))
		}
	case errors.Is(err, user.ErrNotFound):
		err = nil
		if !cl.forgotten {
			c.store(s, key, res, start.Add(c.negativeTTL))
		}
	default:
		c.loadErrors.Add(1)
		// A forgotten call's key was invalidated, and with it its value.
		if n := s.nodes[key]; n != nil && !cl.forgotten && c.now().Before(n.stale) {
			res, err = n.res, nil
			res.Stale = true
		}
	}
	if !cl.forgotten {
		delete(s.calls, key)
	}
	cl.res, cl.err = res, err
	s.mu.Unlock()
	close(cl.done)
}

// store caches res for key until fresh, evicting as the bound requires. The
// caller holds s.mu.
func (c *Cache) store(s *shard, key string, res Result, fresh time.Time) {
	n := s.nodes[key]
	if n == nil {
		if s.limit == 0 {
			return
		}
		// Evict before the new entry goes in, so that it cannot be the
		// victim: it has had no chance to be looked up again.
		for len(s.nodes) >= s.limit {
			s.remove(s.victim())
			c.evictions.Add(1)
			c.entries.Add(-1)
		}
		// A key may share its memory with the rest of a decoded request:
		// the cache keeps a copy of its own, not the request.
		key = strings.Clone(key)
		n = &node{key: key}
		s.nodes[key] = n
		s.push(n)
		c.entries.Add(1)
	}
	n.res = res
	n.fresh = fresh
	n.stale = fresh.Add(c.staleFor)
}

// push puts n at the newest end of the queue.
func (s *shard) push(n *node) {
	n.older = s.newest
	if s.newest != nil {
		s.newest.newer = n
	}
	s.newest = n
	if s.oldest == nil {
		s.oldest = n
	}
}

// victim returns the entry SIEVE evicts next: moving the hand from the oldest
// entry toward the newest, the first one not visited since the hand last
// passed it, clearing the visits it passes. The queue must not be empty.
func (s *shard) victim() *node {
	n := s.hand
	if n == nil {
		n = s.oldest
	}
	for n.visits.Load() {
		n.visits.Store(false)
		n = n.newer
		if n == nil {
			n = s.oldest
		}
	}
	s.hand = n.newer
	return n
}

// remove takes n out of the queue and the map.
func (s *shard) remove(n *node) {
	if s.hand == n {
		s.hand = n.newer
	}
	if n.newer != nil {
		n.newer.older = n.older
	} else {
		s.newest = n.older
	}
	if n.older != nil {
		n.older.newer = n.newer
	} else {
		s.oldest = n.newer
	}
	n.newer, n.older = nil, nil
	delete(s.nodes, n.key)
}

// Get implements [Getter], so that a cache can stand in for the store: it
// returns a copy of the user, which the caller may change, an error wrapping
// user.ErrNotFound when there is none, and stale values as if they were
// fresh. Unlike [Cache.Lookup], it allocates on every call.
func (c *Cache) Get(ctx context.Context, key string) (*user.User, error) {
	res, err := c.Lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	if !res.Found {
		return nil, fmt.Errorf("user cache: get %q: %w", key, user.ErrNotFound)
	}
	u := *res.User
	u.Attributes = user.CloneAttributes(res.User.Attributes)
	return &u, nil
}

// Invalidate drops what the cache holds for key, so that the next lookup
// loads it. A load of key in flight still answers the lookups waiting for
// it, but its answer is not cached, and lookups after Invalidate start a
// load of their own.
func (c *Cache) Invalidate(key string) {
	s := c.shardFor(key)
	s.mu.Lock()
	if n := s.nodes[key]; n != nil {
		s.remove(n)
		c.entries.Add(-1)
	}
	if cl := s.calls[key]; cl != nil {
		cl.forgotten = true
		delete(s.calls, key)
	}
	s.mu.Unlock()
}

// Stats returns the cache's counters. They are read one by one, not as a
// snapshot: under load, their sums may be off by the lookups in progress.
func (c *Cache) Stats() Stats {
	st := Stats{
		Misses:      c.misses.Load(),
		Loads:       c.loads.Load(),
		Coalesced:   c.coalesced.Load(),
		StaleServed: c.staleServed.Load(),
		LoadErrors:  c.loadErrors.Load(),
		Evictions:   c.evictions.Load(),
		Entries:     int(c.entries.Load()),
	}
	for i := range c.shards {
		st.Hits += c.shards[i].hits.Load()
		st.NegativeHits += c.shards[i].negativeHits.Load()
	}
	return st
}
