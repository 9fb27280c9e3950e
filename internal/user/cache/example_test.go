package cache_test

import (
	"context"
	"fmt"

	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/cache"
	"github.com/tokenhook/tokenhook/internal/user/memory"
)

func ExampleCache_Lookup() {
	ctx := context.Background()
	store := memory.New(memory.Config{})
	defer store.Close()
	if err := store.Put(ctx, &user.User{
		Key:        "jessie.smith@example.com",
		Attributes: map[string]any{"department": "Engineering"},
	}); err != nil {
		panic(err)
	}
	users := cache.New(store, cache.Config{})

	for range 2 {
		res, err := users.Lookup(ctx, "jessie.smith@example.com")
		if err != nil {
			panic(err)
		}
		// res.User is shared with the cache: read it, do not change it.
		fmt.Println(res.Found, res.User.Attributes["department"])
	}
	res, err := users.Lookup(ctx, "nobody@example.com")
	fmt.Println(res.Found, err)

	st := users.Stats()
	fmt.Printf("%d hit, %d misses, %d loads, %d entries\n", st.Hits, st.Misses, st.Loads, st.Entries)
	// Output:
	// true Engineering
	// true Engineering
	// false <nil>
	// 1 hit, 2 misses, 2 loads, 2 entries
}
