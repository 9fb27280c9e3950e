package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/sqlite"
	"github.com/tokenhook/tokenhook/internal/user/usertest"
)

func TestStore(t *testing.T) {
	t.Parallel()
	usertest.Run(t, func(t *testing.T, now func() time.Time) user.Store {
		return MustOpen(t, sqlite.Config{Path: filepath.Join(t.TempDir(), "users.db"), Now: now})
	})
}

func TestStoreInMemory(t *testing.T) {
	t.Parallel()
	usertest.Run(t, func(t *testing.T, now func() time.Time) user.Store {
		return MustOpen(t, sqlite.Config{Path: sqlite.MemoryPath, Now: now})
	})
}

// MustOpen opens a store or fails the test, and closes it when the test
// ends.
func MustOpen(tb testing.TB, cfg sqlite.Config) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("Open(%+v): %v", cfg, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawDB opens the file with the bare driver, to look under the store.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestPersists(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC) }
	attrs := map[string]any{"patientId": "1235", "n": json.Number("12345678901234567890"), "tags": []any{"a"}}

	s := MustOpen(t, sqlite.Config{Path: path, Now: now})
	usertest.MustPut(t, s, &user.User{Key: "jessie.smith@example.com", Attributes: attrs})
	usertest.MustImport(t, s, []user.User{{Key: "kim.sato@example.com"}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = MustOpen(t, sqlite.Config{Path: path})
	got := usertest.MustGet(t, s, "jessie.smith@example.com")
	if fmt.Sprintf("%#v", got.Attributes) != fmt.Sprintf("%#v", attrs) || !got.CreatedAt.Equal(now()) || !got.UpdatedAt.Equal(now()) {
		t.Errorf("after reopening, Get = %+v; want attributes %#v, times %v", got, attrs, now())
	}
	usertest.MustGet(t, s, "kim.sato@example.com")
}

func TestMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	for range 3 {
		s := MustOpen(t, sqlite.Config{Path: path})
		usertest.MustPut(t, s, &user.User{Key: "a@example.com"})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db := rawDB(t, path)
	var names []string
	rows, err := db.QueryContext(t.Context(), `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"0001_users.sql"}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("schema_migrations = %q, want %q", names, want)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	s := MustOpen(t, sqlite.Config{Path: path})
	s.Close()
	db := rawDB(t, path)
	if _, err := db.ExecContext(t.Context(), `INSERT INTO schema_migrations VALUES ('9999_future.sql', '2030-01-01T00:00:00.000000Z')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with an unknown migration succeeded")
	}
	if !strings.Contains(err.Error(), "9999_future.sql") {
		t.Errorf("Open error = %q, want it to name the unknown migration", err)
	}
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	MustOpen(t, sqlite.Config{Path: path})
	var mode string
	if err := rawDB(t, path).QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

// TestSchemaRejectsBadAttributes pins the CHECK that keeps a hand edit from
// storing attributes Get cannot decode.
func TestSchemaRejectsBadAttributes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	MustOpen(t, sqlite.Config{Path: path})
	db := rawDB(t, path)
	for _, attrs := range []string{`not json`, `[1]`, `"s"`, `null`, `{"a":1`} {
		_, err := db.ExecContext(t.Context(), `INSERT INTO users VALUES ('x', ?, '', '')`, attrs)
		if err == nil {
			t.Errorf("inserting attributes %s succeeded", attrs)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	for _, path := range []string{
		"",
		filepath.Join(t.TempDir(), "x.db?mode=ro"),
		filepath.Join(t.TempDir(), "missing-dir", "users.db"),
	} {
		s, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

// TestTwoStoresOneFile runs a server's store and a command line's store on
// one file, as `tokenhook users import` beside a running server does.
func TestTwoStoresOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	server := MustOpen(t, sqlite.Config{Path: path})
	cli := MustOpen(t, sqlite.Config{Path: path})

	done := make(chan error)
	go func() {
		users := make([]user.User, 5000)
		for i := range users {
			users[i] = user.User{Key: fmt.Sprintf("u%05d@example.com", i)}
		}
		done <- cli.Import(t.Context(), users, user.ImportOptions{})
	}()
	for i := 0; ; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Import beside the server: %v", err)
			}
			usertest.MustGet(t, server, "u04999@example.com")
			return
		default:
		}
		// The server keeps writing and reading while the import runs.
		usertest.MustPut(t, server, &user.User{Key: fmt.Sprintf("server%d@example.com", i%10)})
		if _, err := server.Get(t.Context(), "u00000@example.com"); err != nil && !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("Get during import: %v", err)
		}
	}
}

func newBenchStore(b *testing.B, n int) (*sqlite.Store, []string) {
	b.Helper()
	s := MustOpen(b, sqlite.Config{Path: filepath.Join(b.TempDir(), "users.db")})
	users := make([]user.User, n)
	keys := make([]string, n)
	for i := range users {
		keys[i] = fmt.Sprintf("user%06d@example.com", i)
		users[i] = user.User{Key: keys[i], Attributes: map[string]any{
			"patientId": fmt.Sprint(100000 + i),
			"groups":    []any{"patients", "portal"},
			"clinic":    map[string]any{"id": json.Number("42"), "name": "Main Street"},
		}}
	}
	usertest.MustImport(b, s, users)
	return s, keys
}

// BenchmarkGet measures the hot-path lookup in a file store of 10k users.
func BenchmarkGet(b *testing.B) {
	s, keys := newBenchStore(b, 10_000)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Get(ctx, keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i += 7919 // a prime stride, so lookups skip about the B-tree
	}
}

// BenchmarkGetParallel is BenchmarkGet from many goroutines, as concurrent
// hook calls are: it shows what the read pool buys.
func BenchmarkGetParallel(b *testing.B) {
	s, keys := newBenchStore(b, 10_000)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Get(ctx, keys[i%len(keys)]); err != nil {
				b.Error(err)
				return
			}
			i += 7919
		}
	})
}

// BenchmarkImport measures importing 100k users in one transaction.
func BenchmarkImport(b *testing.B) {
	users := make([]user.User, 100_000)
	for i := range users {
		users[i] = user.User{Key: fmt.Sprintf("user%06d@example.com", i), Attributes: map[string]any{"patientId": fmt.Sprint(i)}}
	}
	s := MustOpen(b, sqlite.Config{Path: filepath.Join(b.TempDir(), "users.db")})
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Import(b.Context(), users, user.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
