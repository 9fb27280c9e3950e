package cache_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/cache"
)

// benchStore answers every key at once, as the fastest store would.
func benchStore() *fakeStore {
	u := jessie()
	return &fakeStore{GetFn: func(ctx context.Context, key string) (*user.User, error) {
		return u, nil
	}}
}

// benchKeys returns n distinct keys shaped like Okta logins.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("user%06d@example.com", i)
	}
	return keys
}

// BenchmarkLookupHit measures a fresh hit on the real clock, the hook's hot
// path.
func BenchmarkLookupHit(b *testing.B) {
	c := cache.New(benchStore(), cache.Config{})
	ctx := context.Background()
	const key = "jessie.smith@example.com"
	if _, err := c.Lookup(ctx, key); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if res, err := c.Lookup(ctx, key); err != nil || !res.Found {
			b.Fatal(res, err)
		}
	}
	if st := c.Stats(); st.Loads != 1 {
		b.Fatalf("%d loads, want 1", st.Loads)
	}
}

// BenchmarkLookupHitParallel measures fresh hits from all cores at once:
// on one key, the worst case for contention, and spread over many keys.
func BenchmarkLookupHitParallel(b *testing.B) {
	for _, n := range []int{1, 10_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			c := cache.New(benchStore(), cache.Config{})
			ctx := context.Background()
			keys := benchKeys(n)
			for _, k := range keys {
				if _, err := c.Lookup(ctx, k); err != nil {
					b.Fatal(err)
				}
			}
			var worker atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(worker.Add(1)) * 7919
				for pb.Next() {
					i++
					if res, err := c.Lookup(ctx, keys[i%n]); err != nil || !res.Found {
						b.Error(res, err)
						return
					}
				}
			})
			if st := c.Stats(); st.Loads != uint64(n) {
				b.Fatalf("%d loads, want %d", st.Loads, n)
			}
		})
	}
}

// BenchmarkLookupMiss measures a lookup that loads from an instant store and
// caches the answer, evicting another: the cost the cache adds to a store
// call.
func BenchmarkLookupMiss(b *testing.B) {
	c := cache.New(benchStore(), cache.Config{MaxEntries: 1 << 12})
	ctx := context.Background()
	// Sixteen times more keys than entries, seen in turn: every lookup
	// misses.
	keys := benchKeys(1 << 16)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if res, err := c.Lookup(ctx, keys[i%len(keys)]); err != nil || !res.Found {
			b.Fatal(res, err)
		}
		i++
	}
	if st := c.Stats(); st.Hits != 0 {
		b.Fatalf("%d hits, want none", st.Hits)
	}
}
