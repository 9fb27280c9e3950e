package postgres_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tokenhook/tokenhook/internal/pgtest"
	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/postgres"
	"github.com/tokenhook/tokenhook/internal/user/usertest"
)

// benchUsers returns n users shaped like the guide's patients.
func benchUsers(n int) []user.User {
	users := make([]user.User, n)
	for i := range users {
		users[i] = user.User{
			Key: fmt.Sprintf("user%07d@example.com", i),
			Attributes: map[string]any{
				"patientId": fmt.Sprint(i),
				"mrn":       json.Number(fmt.Sprint(1_000_000_000 + i)),
				"groups":    []any{"patients", "portal"},
			},
		}
	}
	return users
}

// BenchmarkGet measures the hot path: one Get by key, over a small store
// and over a million users, on loopback TCP.
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			dsn := pgtest.DSN(b)
			s := mustOpen(b, postgres.Config{DSN: dsn})
			users := benchUsers(n)
			usertest.MustImport(b, s, users)
			// What autovacuum would do after the import: without it the
			// first read of each row also writes its page (hint bits).
			if _, err := rawConn(b, dsn).Exec(b.Context(), `VACUUM ANALYZE users`); err != nil {
				b.Fatal(err)
			}
			keys := make([]string, n)
			for i, u := range users {
				keys[i] = u.Key
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// A stride coprime with n visits keys out of order, as
				// logins arrive.
				i = (i + 7919) % n
				if _, err := s.Get(b.Context(), keys[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkImport measures importing a million users into an empty store,
// which is what `tokenhook users import` of a whole population does. The
// time includes validating and encoding the users (user.EncodeImport),
// about 3 of its 7 seconds here.
func BenchmarkImport(b *testing.B) {
	dsn := pgtest.DSN(b)
	s := mustOpen(b, postgres.Config{DSN: dsn})
	conn := rawConn(b, dsn)
	users := benchUsers(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if _, err := conn.Exec(b.Context(), `TRUNCATE users`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.Import(b.Context(), users, user.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
