package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
)

// BenchmarkStoreGet measures one SQLite store lookup, in-process and without
// HTTP, in stores of the store-path targets' users (a thousand and a
// million, writeUsersCSV's). keys=all visits every key out of order, as
// logins arrive, unlike the load benchmark, which asks for one key; on the
// million users, keys=contiguous-1000 cycles through a thousand neighbours
// (a few leaf pages: what the deeper B-tree costs) and keys=spread-500
// through 500 keys 2 000 apart (500 leaf pages, the size of SQLite's
// default page cache). The million-user store takes a few seconds to fill,
// outside the timing. internal/user/postgres's BenchmarkGet is the same for
// PostgreSQL.
//
//	go test -run '^$' -bench StoreGet -benchtime 20000x ./bench/loadbench/
func BenchmarkStoreGet(b *testing.B) {
	type pattern struct {
		name        string
		count, step int // keys visited, and the distance between them
	}
	for _, n := range []int{fewUsers, manyUsers} {
		b.Run(fmt.Sprintf("sqlite/users=%d", n), func(b *testing.B) {
			store, keys := sqliteStoreOf(b, n)
			patterns := []pattern{{"all", n, 7919}} // a prime stride visits every key
			if n == manyUsers {
				patterns = append(patterns, pattern{"contiguous-1000", 1000, 1}, pattern{"spread-500", 500, 2000})
			}
			for _, p := range patterns {
				b.Run("keys="+p.name, func(b *testing.B) {
					ctx := context.Background()
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						i = (i + 1) % p.count
						if _, err := store.Get(ctx, keys[i*p.step%n]); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// sqliteStoreOf returns a SQLite store of the n users of writeUsersCSV, and
// their keys.
func sqliteStoreOf(b *testing.B, n int) (user.Store, []string) {
	ctx := context.Background()
	store, err := setup.OpenStore(ctx, "sqlite:"+filepath.Join(b.TempDir(), "users.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	users := make([]user.User, n)
	keys := make([]string, n)
	for i := range users {
		login, id := generatedUser(i)
		users[i] = user.User{Key: login, Attributes: map[string]any{"patientId": id}}
		keys[i] = login
	}
	if err := store.Import(ctx, users, user.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	return store, keys
}
