package cache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/cache"
)

// fakeStore is a [cache.Getter] whose answers a test chooses through GetFn.
// It counts the calls per key.
type fakeStore struct {
	GetFn func(ctx context.Context, key string) (*user.User, error)

	mu    sync.Mutex
	calls map[string]int
}

var _ cache.Getter = (*fakeStore)(nil)

func (f *fakeStore) Get(ctx context.Context, key string) (*user.User, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = make(map[string]int)
	}
	f.calls[key]++
	f.mu.Unlock()
	return f.GetFn(ctx, key)
}

// Calls returns the number of Get calls for key.
func (f *fakeStore) Calls(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

// TotalCalls returns the number of Get calls for all keys.
func (f *fakeStore) TotalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

// table is the data behind a fake store: users by key and, when err is set,
// the error every Get returns instead.
type table struct {
	mu    sync.Mutex
	users map[string]*user.User
	err   error
}

func newTable(users ...*user.User) *table {
	t := &table{users: make(map[string]*user.User)}
	for _, u := range users {
		t.users[u.Key] = u
	}
	return t
}

// Get answers as a store does: a copy of the user, or an error wrapping
// user.ErrNotFound.
func (t *table) Get(ctx context.Context, key string) (*user.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return nil, t.err
	}
	u, ok := t.users[key]
	if !ok {
		return nil, fmt.Errorf("table: get %q: %w", key, user.ErrNotFound)
	}
	c := *u
	c.Attributes = user.CloneAttributes(u.Attributes)
	return &c, nil
}

func (t *table) put(u *user.User) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.users[u.Key] = u
}

func (t *table) setErr(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.err = err
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Times of the base test configuration.
const (
	testTTL         = 30 * time.Second
	testNegativeTTL = 5 * time.Second
	testStaleFor    = time.Minute
)

// newTestCache returns a cache over src with the base test configuration
// (the clock, when not nil, and the test times), adjusted by updateConfig
// when it is not nil.
func newTestCache(tb testing.TB, src cache.Getter, clock *fakeClock, updateConfig func(*cache.Config)) *cache.Cache {
	tb.Helper()
	cfg := cache.Config{
		TTL:         testTTL,
		NegativeTTL: testNegativeTTL,
		StaleFor:    testStaleFor,
		MaxEntries:  1000,
		LoadTimeout: time.Second,
	}
	if clock != nil {
		cfg.Now = clock.Now
	}
	if updateConfig != nil {
		updateConfig(&cfg)
	}
	return cache.New(src, cfg)
}

func jessie() *user.User {
	return &user.User{
		Key:        "jessie.smith@example.com",
		Attributes: map[string]any{"department": "Engineering", "groups": []any{"admins"}},
	}
}

var errDown = errors.New("store is down")

func TestLookup(t *testing.T) {
	const (
		present = "jessie.smith@example.com"
		absent  = "nobody@example.com"
	)
	// A step is one lookup, after the clock and the store change as it says.
	type step struct {
		advance  time.Duration // the clock moves on by this first
		put      string        // a user with this key is put in the store first
		storeErr error         // the store's answer to every Get during the step
		key      string        // the key looked up; "" means present

		wantFound bool
		wantStale bool
		wantErr   error // matched with errors.Is
		wantCalls int   // store calls so far
	}
	tests := []struct {
		name         string
		updateConfig func(*cache.Config)
		steps        []step
	}{
		{
			// Pins an expiry compared the wrong way round, which would send
			// every lookup to the store.
			name: "fresh entry is served without the store until TTL",
			steps: []step{
				{wantFound: true, wantCalls: 1},
				{wantFound: true, wantCalls: 1},
				{advance: testTTL - time.Nanosecond, wantFound: true, wantCalls: 1},
			},
		},
		{
			// Pins entries that never expire.
			name: "entry is loaded again at TTL",
			steps: []step{
				{wantFound: true, wantCalls: 1},
				{advance: testTTL, wantFound: true, wantCalls: 2},
				{wantFound: true, wantCalls: 2},
			},
		},
		{
			name: "not found is cached",
			steps: []step{
				{key: absent, wantCalls: 1},
				{key: absent, advance: testNegativeTTL - time.Nanosecond, wantCalls: 1},
			},
		},
		{
			// Pins not-found answers kept for TTL rather than NegativeTTL:
			// a new user would miss its claims for 30 s rather than 5 s.
			name: "user created in the store shows up at NegativeTTL",
			steps: []step{
				{key: absent, wantCalls: 1},
				{key: absent, put: absent, advance: testNegativeTTL - time.Nanosecond, wantCalls: 1},
				{key: absent, advance: time.Nanosecond, wantFound: true, wantCalls: 2},
			},
		},
		{
			// Pins a store error cached as a value (as not found, say).
			name: "store error is not cached",
			steps: []step{
				{storeErr: errDown, wantErr: errDown, wantCalls: 1},
				{wantFound: true, wantCalls: 2},
			},
		},
		{
			// Pins a failing store ending the user's claims at once.
			name: "failing store serves the last found user as stale within StaleFor",
			steps: []step{
				{wantFound: true, wantCalls: 1},
				{advance: testTTL, storeErr: errDown, wantFound: true, wantStale: true, wantCalls: 2},
				{advance: testStaleFor - time.Nanosecond, storeErr: errDown, wantFound: true, wantStale: true, wantCalls: 3},
			},
		},
		{
			name: "failing store after StaleFor is an error",
			steps: []step{
				{wantFound: true, wantCalls: 1},
				{advance: testTTL + testStaleFor, storeErr: errDown, wantErr: errDown, wantCalls: 2},
			},
		},
		{
			// Pins a failed load that renews the entry's times, which would
			// serve a value for as long as the store stays down.
			name: "serving stale does not extend the window",
			steps: []step{
				{wantFound: true, wantCalls: 1},
				{advance: testTTL + testStaleFor/2, storeErr: errDown, wantFound: true, wantStale: true, wantCalls: 2},
				{advance: testStaleFor / 2, storeErr: errDown, wantErr: errDown, wantCalls: 3},
			},
		},
		{
			// Pins stale serving limited to found users: a known not-found
			// user would turn into a failed hook call.
			name: "failing store serves the last not-found answer as stale",
			steps: []step{
				{key: absent, wantCalls: 1},
				{key: absent, advance: testNegativeTTL, storeErr: errDown, wantStale: true, wantCalls: 2},
			},
		},
		{
			// Pins a stale value that sticks once the store is back.
			name: "store coming back ends stale serving",
			steps: []step{
				{wantFound: true, wantCalls: 1},
				{advance: testTTL, storeErr: errDown, wantFound: true, wantStale: true, wantCalls: 2},
				{wantFound: true, wantCalls: 3},
				{wantFound: true, wantCalls: 3},
			},
		},
		{
			name:         "negative StaleFor disables stale values",
			updateConfig: func(c *cache.Config) { c.StaleFor = -1 },
			steps: []step{
				{wantFound: true, wantCalls: 1},
				{advance: testTTL, storeErr: errDown, wantErr: errDown, wantCalls: 2},
			},
		},
		{
			name:         "negative TTL loads every time and still serves stale",
			updateConfig: func(c *cache.Config) { c.TTL = -1 },
			steps: []step{
				{wantFound: true, wantCalls: 1},
				{wantFound: true, wantCalls: 2},
				{storeErr: errDown, wantFound: true, wantStale: true, wantCalls: 3},
			},
		},
		{
			name:         "negative NegativeTTL loads every time",
			updateConfig: func(c *cache.Config) { c.NegativeTTL = -1 },
			steps: []step{
				{key: absent, wantCalls: 1},
				{key: absent, wantCalls: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			data := newTable(jessie())
			store := &fakeStore{GetFn: data.Get}
			c := newTestCache(t, store, clock, tt.updateConfig)
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				if st.put != "" {
					data.put(&user.User{Key: st.put})
				}
				data.setErr(st.storeErr)
				key := st.key
				if key == "" {
					key = present
				}
				res, err := c.Lookup(t.Context(), key)
				if !errors.Is(err, st.wantErr) || (err != nil) != (st.wantErr != nil) {
					t.Fatalf("step %d: Lookup(%q) error = %v, want %v", i, key, err, st.wantErr)
				}
				if res.Found != st.wantFound || res.Stale != st.wantStale {
					t.Errorf("step %d: Lookup(%q) = Found %v, Stale %v; want Found %v, Stale %v",
						i, key, res.Found, res.Stale, st.wantFound, st.wantStale)
				}
				if res.Found != (res.User != nil) || res.User != nil && res.User.Key != key {
					t.Errorf("step %d: Lookup(%q) = Found %v, User %+v", i, key, res.Found, res.User)
				}
				if got := store.TotalCalls(); got != st.wantCalls {
					t.Errorf("step %d: store calls = %d, want %d", i, got, st.wantCalls)
				}
			}
		})
	}
}

// TestDefaults pins the zero Config's documented times against the real
// clock, in a synctest bubble.
func TestDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		data := newTable(jessie())
		store := &fakeStore{GetFn: data.Get}
		c := cache.New(store, cache.Config{})
		start := time.Now()
		lookupAt := func(at time.Duration, key string) (cache.Result, error) {
			t.Helper()
			time.Sleep(time.Until(start.Add(at)))
			return c.Lookup(t.Context(), key)
		}
		key := jessie().Key

		lookupAt(0, key)
		lookupAt(0, "nobody")
		lookupAt(cache.DefaultNegativeTTL-time.Nanosecond, "nobody")
		if got := store.Calls("nobody"); got != 1 {
			t.Errorf("not-found answer: %d store calls within DefaultNegativeTTL, want 1", got)
		}
		lookupAt(cache.DefaultNegativeTTL, "nobody")
		if got := store.Calls("nobody"); got != 2 {
			t.Errorf("not-found answer: %d store calls at DefaultNegativeTTL, want 2", got)
		}
		lookupAt(cache.DefaultTTL-time.Nanosecond, key)
		if got := store.Calls(key); got != 1 {
			t.Errorf("found user: %d store calls within DefaultTTL, want 1", got)
		}

		data.setErr(errDown)
		res, err := lookupAt(cache.DefaultTTL+cache.DefaultStaleFor-time.Nanosecond, key)
		if err != nil || !res.Stale {
			t.Errorf("failing store within DefaultStaleFor: Lookup = %+v, %v; want a stale user", res, err)
		}
		if _, err := lookupAt(cache.DefaultTTL+cache.DefaultStaleFor, key); !errors.Is(err, errDown) {
			t.Errorf("failing store after DefaultStaleFor: Lookup error = %v, want %v", err, errDown)
		}
	})
}

func TestLookupCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		store := &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
			<-release
			return &user.User{Key: key}, nil
		}}
		c := cache.New(store, cache.Config{})
		const callers = 50
		keys := []string{"a@example.com", "b@example.com", "c@example.com"}
		type answer struct {
			key string
			res cache.Result
			err error
		}
		answers := make(chan answer, callers*len(keys))
		for range callers {
			for _, key := range keys {
				go func() {
					res, err := c.Lookup(t.Context(), key)
					answers <- answer{key, res, err}
				}()
			}
		}
		// Every caller is now waiting, in the store or for a load.
		synctest.Wait()
		close(release)

		got := make(map[string]*user.User)
		for range callers * len(keys) {
			a := <-answers
			if a.err != nil || !a.res.Found {
				t.Fatalf("Lookup(%q) = %+v, %v; want a user", a.key, a.res, a.err)
			}
			if first, ok := got[a.key]; ok && first != a.res.User {
				t.Errorf("Lookup(%q) answered with different users; want one load's user shared", a.key)
			}
			got[a.key] = a.res.User
		}
		for _, key := range keys {
			if n := store.Calls(key); n != 1 {
				t.Errorf("store calls for %q = %d, want 1", key, n)
			}
		}
		st := c.Stats()
		if st.Loads != 3 || st.Coalesced != 3*(callers-1) || st.Misses != 3*callers {
			t.Errorf("Stats = %+v; want 3 loads, %d coalesced, %d misses", st, 3*(callers-1), 3*callers)
		}
	})
}

func TestLookupWaiterContextEnds(t *testing.T) {
	tests := []struct {
		name string
		// impatientFirst makes the impatient caller the one whose lookup
		// starts the load.
		impatientFirst bool
		// impatient returns the context of the caller that gives up.
		impatient func(t *testing.T) context.Context
		wantErr   error
	}{
		{
			// Pins a load run on its first caller's context, whose end would
			// fail every caller waiting for it.
			name:           "caller that started the load cancels",
			impatientFirst: true,
			impatient: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx
			},
			wantErr: context.Canceled,
		},
		{
			name:           "caller that started the load runs out of time",
			impatientFirst: true,
			impatient: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			// Pins a waiter that stays until the load ends whatever its own
			// deadline.
			name: "caller that joined the load runs out of time",
			impatient: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				data := newTable(jessie())
				store := &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
					select {
					case <-time.After(500 * time.Millisecond):
						return data.Get(ctx, key)
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}}
				c := cache.New(store, cache.Config{})
				key := jessie().Key
				start := time.Now()

				type answer struct {
					res     cache.Result
					err     error
					elapsed time.Duration
				}
				lookup := func(ctx context.Context, to chan<- answer) {
					res, err := c.Lookup(ctx, key)
					to <- answer{res, err, time.Since(start)}
				}
				impatient, patient := make(chan answer, 1), make(chan answer, 1)
				if tt.impatientFirst {
					go lookup(tt.impatient(t), impatient)
					synctest.Wait()
					go lookup(t.Context(), patient)
				} else {
					go lookup(t.Context(), patient)
					synctest.Wait()
					go lookup(tt.impatient(t), impatient)
				}

				a := <-impatient
				if !errors.Is(a.err, tt.wantErr) || a.elapsed != 100*time.Millisecond {
					t.Errorf("impatient caller: error %v after %v; want %v after 100ms", a.err, a.elapsed, tt.wantErr)
				}
				a = <-patient
				if a.err != nil || !a.res.Found || a.elapsed != 500*time.Millisecond {
					t.Errorf("patient caller: %+v, %v after %v; want the user after 500ms", a.res, a.err, a.elapsed)
				}
				// The load's answer was cached for later callers.
				if res, err := c.Lookup(t.Context(), key); err != nil || !res.Found || store.Calls(key) != 1 {
					t.Errorf("Lookup after the load = %+v, %v with %d store calls; want a hit", res, err, store.Calls(key))
				}
			})
		})
	}
}

func TestLookupLoadTimeout(t *testing.T) {
	// The stores take 10 s, ten times the default LoadTimeout.
	honoring := func(ctx context.Context, key string) (*user.User, error) {
		select {
		case <-time.After(10 * time.Second):
			return jessie(), nil
		case <-ctx.Done():
			return nil, fmt.Errorf("slow store: %w", ctx.Err())
		}
	}
	ignoring := func(ctx context.Context, key string) (*user.User, error) {
		time.Sleep(10 * time.Second)
		return jessie(), nil
	}
	tests := []struct {
		name      string
		slow      func(context.Context, string) (*user.User, error)
		cached    bool // a fast load caches the user first, which then expires
		wantStale bool
	}{
		{name: "slow store and nothing cached is an error", slow: honoring},
		{
			// Pins a timeout that relies on the store honoring its context.
			name: "store ignoring its context still times out",
			slow: ignoring,
		},
		{name: "slow store serves the cached user as stale", slow: honoring, cached: true, wantStale: true},
		{name: "store ignoring its context serves the cached user as stale", slow: ignoring, cached: true, wantStale: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var slow atomic.Bool
				store := &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
					if slow.Load() {
						return tt.slow(ctx, key)
					}
					return jessie(), nil
				}}
				c := cache.New(store, cache.Config{})
				key := jessie().Key
				if tt.cached {
					if _, err := c.Lookup(t.Context(), key); err != nil {
						t.Fatal(err)
					}
					time.Sleep(cache.DefaultTTL)
				}
				slow.Store(true)

				start := time.Now()
				res, err := c.Lookup(t.Context(), key)
				if elapsed := time.Since(start); elapsed != cache.DefaultLoadTimeout {
					t.Errorf("Lookup took %v, want DefaultLoadTimeout (%v)", elapsed, cache.DefaultLoadTimeout)
				}
				switch {
				case tt.wantStale:
					if err != nil || !res.Found || !res.Stale {
						t.Errorf("Lookup = %+v, %v; want a stale user", res, err)
					}
				case !errors.Is(err, context.DeadlineExceeded):
					t.Errorf("Lookup error = %v, want one wrapping context.DeadlineExceeded", err)
				}
				if st := c.Stats(); st.LoadErrors != 1 {
					t.Errorf("Stats().LoadErrors = %d, want 1", st.LoadErrors)
				}
				// Let a store that ignores its context return before the
				// bubble ends.
				time.Sleep(10 * time.Second)
				synctest.Wait()
			})
		})
	}
}

// TestTTLFromLoadStart pins freshness counted from the end of the store call:
// a user created just after a slow load started would then stay hidden for
// longer than NegativeTTL.
func TestTTLFromLoadStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const took = time.Second
		store := &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
			time.Sleep(took)
			return nil, user.ErrNotFound
		}}
		c := cache.New(store, cache.Config{LoadTimeout: 2 * took})
		start := time.Now()
		c.Lookup(t.Context(), "nobody")
		time.Sleep(time.Until(start.Add(cache.DefaultNegativeTTL - time.Nanosecond)))
		c.Lookup(t.Context(), "nobody")
		if n := store.Calls("nobody"); n != 1 {
			t.Errorf("store calls within NegativeTTL of the load's start = %d, want 1", n)
		}
		time.Sleep(time.Nanosecond)
		c.Lookup(t.Context(), "nobody")
		if n := store.Calls("nobody"); n != 2 {
			t.Errorf("store calls at NegativeTTL after the load's start = %d, want 2", n)
		}
	})
}

func TestEviction(t *testing.T) {
	keyN := func(i int) string { return fmt.Sprintf("user%d@example.com", i) }
	tests := []struct {
		name          string
		maxEntries    int
		keys          int
		wantEntries   int
		wantEvictions int // -1 means keys - wantEntries
	}{
		{name: "one shard keeps exactly MaxEntries", maxEntries: 10, keys: 100, wantEntries: 10, wantEvictions: -1},
		// Pins per-shard limits that, rounded, add up to more or less than
		// the bound.
		{name: "shards together keep exactly MaxEntries", maxEntries: 1001, keys: 10_000, wantEntries: 1001, wantEvictions: -1},
		{name: "fewer keys than the bound are all kept", maxEntries: 1000, keys: 500, wantEntries: 500, wantEvictions: -1},
		{name: "negative MaxEntries keeps nothing", maxEntries: -1, keys: 10, wantEntries: 0, wantEvictions: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
				return &user.User{Key: key}, nil
			}}
			c := newTestCache(t, store, newFakeClock(), func(c *cache.Config) { c.MaxEntries = tt.maxEntries })
			for i := range tt.keys {
				if _, err := c.Lookup(t.Context(), keyN(i)); err != nil {
					t.Fatal(err)
				}
			}
			wantEvictions := tt.wantEvictions
			if wantEvictions < 0 {
				wantEvictions = tt.keys - tt.wantEntries
			}
			st := c.Stats()
			if st.Entries != tt.wantEntries || st.Evictions != uint64(wantEvictions) {
				t.Errorf("after %d keys: %d entries, %d evictions; want %d entries, %d evictions",
					tt.keys, st.Entries, st.Evictions, tt.wantEntries, wantEvictions)
			}
			// Exactly the kept keys are hits: the map and the count agree.
			before := store.TotalCalls()
			for i := range tt.keys {
				c.Lookup(t.Context(), keyN(i))
			}
			if hits := tt.keys - (store.TotalCalls() - before); hits > tt.wantEntries {
				t.Errorf("%d hits after the keys went in, more than the %d entries", hits, tt.wantEntries)
			}
		})
	}

	// Pins first-in first-out eviction, which would drop the hot key once
	// every MaxEntries new keys.
	t.Run("key looked up again survives a scan", func(t *testing.T) {
		store := &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
			return &user.User{Key: key}, nil
		}}
		c := newTestCache(t, store, newFakeClock(), func(c *cache.Config) { c.MaxEntries = 10 })
		const hot = "hot@example.com"
		for i := range 1000 {
			c.Lookup(t.Context(), hot)
			c.Lookup(t.Context(), keyN(i))
		}
		if n := store.Calls(hot); n != 1 {
			t.Errorf("store calls for the hot key = %d, want 1", n)
		}
		if st := c.Stats(); st.Entries != 10 {
			t.Errorf("Stats().Entries = %d, want 10", st.Entries)
		}
	})
}

func TestDefaultMaxEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a default-sized cache")
	}
	store := &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
		return nil, user.ErrNotFound
	}}
	c := newTestCache(t, store, newFakeClock(), func(c *cache.Config) { c.MaxEntries = 0 })
	const keys = cache.DefaultMaxEntries + 1000
	for i := range keys {
		c.Lookup(t.Context(), fmt.Sprint(i))
	}
	// Shards fill unevenly, so the cache holds up to DefaultMaxEntries.
	if st := c.Stats(); st.Entries > cache.DefaultMaxEntries || st.Entries < cache.DefaultMaxEntries*9/10 ||
		st.Entries+int(st.Evictions) != keys {
		t.Errorf("after %d keys: Stats = %+v; want at most %d entries, the rest evicted", keys, st, cache.DefaultMaxEntries)
	}
}

func TestInvalidate(t *testing.T) {
	t.Run("drops the entry", func(t *testing.T) {
		store := &fakeStore{GetFn: newTable(jessie()).Get}
		c := newTestCache(t, store, newFakeClock(), nil)
		key := jessie().Key
		c.Lookup(t.Context(), key)
		c.Invalidate(key)
		c.Invalidate("unknown@example.com")
		if st := c.Stats(); st.Entries != 0 {
			t.Errorf("Stats().Entries after Invalidate = %d, want 0", st.Entries)
		}
		if res, err := c.Lookup(t.Context(), key); err != nil || !res.Found || store.Calls(key) != 2 {
			t.Errorf("Lookup after Invalidate = %+v, %v with %d store calls; want a user from a second call", res, err, store.Calls(key))
		}
	})

	// Pins two bugs of a load in flight during Invalidate: its late answer
	// replacing the newer value that a load after Invalidate cached, and
	// its end removing that newer load from the loads in flight, so that a
	// second load of the key would start beside it.
	t.Run("load in flight is answered but not cached", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// Each version of the user is answered when its channel closes.
			release := map[int64]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
			var version atomic.Int64
			store := &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
				v := version.Load()
				<-release[v]
				return &user.User{Key: key, Attributes: map[string]any{"version": v}}, nil
			}}
			c := cache.New(store, cache.Config{})
			const key = "jessie.smith@example.com"
			lookupVersion := func() chan any {
				ch := make(chan any, 1)
				go func() {
					res, err := c.Lookup(t.Context(), key)
					if err != nil || !res.Found {
						t.Errorf("Lookup = %+v, %v; want a user", res, err)
						ch <- nil
						return
					}
					ch <- res.User.Attributes["version"]
				}()
				synctest.Wait()
				return ch
			}

			version.Store(1)
			before := lookupVersion()
			version.Store(2)
			c.Invalidate(key)
			after := lookupVersion()
			close(release[1])
			if v := <-before; v != int64(1) {
				t.Errorf("Lookup before Invalidate = version %v, want 1", v)
			}
			joined := lookupVersion() // joins the load after Invalidate
			if n := store.Calls(key); n != 2 {
				t.Errorf("store calls = %d, want 2: one load before Invalidate, one after", n)
			}
			close(release[2])
			if v := <-after; v != int64(2) {
				t.Errorf("Lookup after Invalidate = version %v, want 2", v)
			}
			if v := <-joined; v != int64(2) {
				t.Errorf("Lookup joining the load after Invalidate = version %v, want 2", v)
			}
			if v := <-lookupVersion(); v != int64(2) || store.Calls(key) != 2 {
				t.Errorf("Lookup after both loads = version %v with %d store calls, want version 2 from 2 calls", v, store.Calls(key))
			}
		})
	})
}

func TestGet(t *testing.T) {
	clock := newFakeClock()
	data := newTable(jessie())
	c := newTestCache(t, &fakeStore{GetFn: data.Get}, clock, nil)
	key := jessie().Key

	u, err := c.Get(t.Context(), key)
	if err != nil || u.Key != key {
		t.Fatalf("Get(%q) = %+v, %v", key, u, err)
	}
	// Pins Get handing out the cached user: a caller's change would reach
	// every later lookup.
	u.Attributes["department"] = "Sales"
	u.Attributes["groups"].([]any)[0] = "nobody"
	u.Key = "changed"
	res, _ := c.Lookup(t.Context(), key)
	if res.User.Key != key || res.User.Attributes["department"] != "Engineering" || res.User.Attributes["groups"].([]any)[0] != "admins" {
		t.Errorf("cached user after changing Get's copy = %+v; want it unchanged", res.User)
	}

	if u, err := c.Get(t.Context(), "nobody@example.com"); !errors.Is(err, user.ErrNotFound) || u != nil {
		t.Errorf("Get of an unknown key = %+v, %v; want nil and an error wrapping user.ErrNotFound", u, err)
	}

	data.setErr(errDown)
	clock.Advance(testTTL)
	if u, err := c.Get(t.Context(), key); err != nil || u == nil || u.Key != key {
		t.Errorf("Get with the store down and a stale user = %+v, %v; want the user", u, err)
	}
	clock.Advance(testStaleFor)
	if u, err := c.Get(t.Context(), key); !errors.Is(err, errDown) || u != nil {
		t.Errorf("Get with the store down past StaleFor = %+v, %v; want the store's error", u, err)
	}
}

func TestLookupBadStore(t *testing.T) {
	tests := []struct {
		name    string
		get     func(ctx context.Context, key string) (*user.User, error)
		wantErr string
	}{
		{
			// Pins a panic on the load's goroutine ending the process,
			// where without the cache it would fail one request.
			name:    "store panics",
			get:     func(ctx context.Context, key string) (*user.User, error) { panic("boom") },
			wantErr: "store panicked: boom",
		},
		{
			// Pins a nil user cached as found, and handed out.
			name:    "store returns neither user nor error",
			get:     func(ctx context.Context, key string) (*user.User, error) { return nil, nil },
			wantErr: "neither a user nor an error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{GetFn: tt.get}
			c := newTestCache(t, store, newFakeClock(), nil)
			for range 2 {
				res, err := c.Lookup(t.Context(), "jessie")
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || res.Found {
					t.Errorf("Lookup = %+v, %v; want an error containing %q", res, err, tt.wantErr)
				}
			}
			if st := c.Stats(); st.LoadErrors != 2 || st.Entries != 0 {
				t.Errorf("Stats = %+v; want 2 load errors and no entries", st)
			}
		})
	}
}

func TestLookupContextDone(t *testing.T) {
	store := &fakeStore{GetFn: newTable(jessie()).Get}
	c := newTestCache(t, store, newFakeClock(), nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// A miss for a caller already gone starts no load.
	if _, err := c.Lookup(ctx, jessie().Key); !errors.Is(err, context.Canceled) || store.TotalCalls() != 0 {
		t.Errorf("Lookup with a done context = %v with %d store calls; want context.Canceled and none", err, store.TotalCalls())
	}
	// A hit needs no time, so it is served whatever the context.
	c.Lookup(t.Context(), jessie().Key)
	if res, err := c.Lookup(ctx, jessie().Key); err != nil || !res.Found {
		t.Errorf("hit with a done context = %+v, %v; want the user", res, err)
	}
}

func TestStats(t *testing.T) {
	clock := newFakeClock()
	data := newTable(jessie())
	c := newTestCache(t, &fakeStore{GetFn: data.Get}, clock, func(c *cache.Config) { c.MaxEntries = 2 })
	ctx := t.Context()
	key := jessie().Key

	c.Lookup(ctx, key)     // miss, load
	c.Lookup(ctx, key)     // hit
	c.Lookup(ctx, "a")     // miss, load
	c.Lookup(ctx, "a")     // negative hit
	clock.Advance(testTTL) // both expire
	data.setErr(errDown)
	c.Lookup(ctx, key) // miss, load, load error, stale served
	c.Lookup(ctx, "b") // miss, load, load error
	data.setErr(nil)
	c.Lookup(ctx, "b") // miss, load; evicts one of the two others
	c.Invalidate("b")  // not an eviction
	// Pins an eviction that takes the entry being stored: the two others
	// were looked up again, so a hand that reached "b" first would drop it
	// and leave 2 entries here.
	want := cache.Stats{
		Hits: 1, NegativeHits: 1, Misses: 5, Loads: 5, StaleServed: 1, LoadErrors: 2, Evictions: 1, Entries: 1,
	}
	if got := c.Stats(); got != want {
		t.Errorf("Stats() = %+v\nwant      %+v", got, want)
	}
}

// TestConcurrentUse runs lookups, gets, invalidations, clock moves and store
// failures at once, reading every user returned, for the race detector.
func TestConcurrentUse(t *testing.T) {
	clock := newFakeClock()
	users := make([]*user.User, 20)
	for i := range users {
		users[i] = &user.User{
			Key:        fmt.Sprintf("user%d@example.com", i),
			Attributes: map[string]any{"n": i, "groups": []any{"a", "b"}},
		}
	}
	data := newTable(users[:15]...) // the last five are not found
	c := newTestCache(t, &fakeStore{GetFn: data.Get}, clock, func(c *cache.Config) {
		c.MaxEntries = 10
		c.TTL = 50 * time.Millisecond
		c.NegativeTTL = 10 * time.Millisecond
	})
	const workers, rounds = 8, 2000
	var lookups atomic.Uint64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				key := users[(w*7+i)%len(users)].Key
				switch i % 10 {
				case 0:
					c.Invalidate(key)
				case 1:
					lookups.Add(1)
					if u, err := c.Get(t.Context(), key); err == nil {
						u.Attributes["n"] = -1 // the caller's copy
					}
				case 2:
					clock.Advance(time.Millisecond)
				case 3:
					if i%30 == 3 {
						data.setErr(errDown)
					} else {
						data.setErr(nil)
					}
				default:
					lookups.Add(1)
					res, err := c.Lookup(t.Context(), key)
					if err != nil {
						continue
					}
					if res.Found {
						if res.User.Key != key {
							t.Errorf("Lookup(%q) = user %q", key, res.User.Key)
						}
						_ = res.User.Attributes["n"]
						_ = len(res.User.Attributes["groups"].([]any))
					}
				}
			}
		})
	}
	wg.Wait()
	st := c.Stats()
	if got := st.Hits + st.NegativeHits + st.Misses; got != lookups.Load() {
		t.Errorf("hits + negative hits + misses = %d, want the %d lookups", got, lookups.Load())
	}
	if st.Entries > 10 || st.Entries < 0 {
		t.Errorf("Stats().Entries = %d, want 0 to 10", st.Entries)
	}
	for _, u := range users[:15] {
		res, err := c.Lookup(t.Context(), u.Key)
		if err == nil && res.Found && res.User.Attributes["n"] == -1 {
			t.Errorf("a caller's change to a copy reached the cache")
		}
	}
}

// TestPeek: a fresh entry is answered, anything else is not, and the store
// is never called.
func TestPeek(t *testing.T) {
	store := &fakeStore{GetFn: newTable(jessie()).Get}
	clock := newFakeClock()
	c := newTestCache(t, store, clock, nil)
	key := jessie().Key
	if _, ok := c.Peek(key); ok {
		t.Fatal("Peek of an unknown key hit")
	}
	if _, err := c.Lookup(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if res, ok := c.Peek(key); !ok || !res.Found || res.User.Key != key {
		t.Errorf("Peek after a load = %+v, %v", res, ok)
	}
	clock.Advance(testTTL + time.Second)
	if _, ok := c.Peek(key); ok {
		t.Error("Peek of an expired entry hit")
	}
	if n := store.TotalCalls(); n != 1 {
		t.Errorf("%d store calls, want the Lookup's only", n)
	}
}

// TestSlowStoreServesStale pins that a store that hangs costs no more than
// one that fails: a caller whose own deadline ends while the reload of an
// expired key hangs gets the last value, marked stale, not an error.
func TestSlowStoreServesStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hang atomic.Bool
		data := newTable(jessie())
		store := &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
			if hang.Load() {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return data.Get(ctx, key)
		}}
		c := cache.New(store, cache.Config{TTL: time.Second, LoadTimeout: 10 * time.Second})
		key := jessie().Key
		if _, err := c.Lookup(t.Context(), key); err != nil {
			t.Fatal(err)
		}
		hang.Store(true)
		time.Sleep(2 * time.Second) // expired, well within the default StaleFor
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		res, err := c.Lookup(ctx, key)
		if err != nil || !res.Found || !res.Stale || time.Since(start) != 100*time.Millisecond {
			t.Errorf("Lookup = %+v, %v after %s; want the stale user when the caller's 100ms end", res, err, time.Since(start))
		}
		if _, err := c.Lookup(ctx, "unknown@example.com"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a key never known: %v, want the caller's deadline", err)
		}
		if st := c.Stats(); st.StaleServed != 1 {
			t.Errorf("StaleServed = %d, want 1", st.StaleServed)
		}
		time.Sleep(10 * time.Second) // let the hung load time out inside the bubble
	})
}
