package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenhook/tokenhook/internal/pgtest"
	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/postgres"
	"github.com/tokenhook/tokenhook/internal/user/usertest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestStore(t *testing.T) {
	t.Parallel()
	usertest.Run(t, func(t *testing.T, now func() time.Time) user.Store {
		return mustOpen(t, postgres.Config{DSN: pgtest.DSN(t), Now: now})
	})
}

// mustOpen opens a store or fails the test, and closes it when the test
// ends.
func mustOpen(tb testing.TB, cfg postgres.Config) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawConn connects to the database with bare pgx, to look under the store.
func rawConn(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(tb.Context(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func migrationNames(tb testing.TB, conn *pgx.Conn) []string {
	tb.Helper()
	rows, _ := conn.Query(tb.Context(), `SELECT name FROM schema_migrations ORDER BY name`)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return names
}

func TestMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	for i := range 3 {
		s := mustOpen(t, postgres.Config{DSN: dsn})
		usertest.MustPut(t, s, &user.User{Key: fmt.Sprintf("u%d@example.com", i)})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	conn := rawConn(t, dsn)
	if got, want := migrationNames(t, conn), []string{"0001_users.sql"}; !slices.Equal(got, want) {
		t.Errorf("schema_migrations = %q, want %q", got, want)
	}
	s := mustOpen(t, postgres.Config{DSN: dsn})
	page, err := s.List(t.Context(), user.ListOptions{})
	if err != nil || len(page.Users) != 3 {
		t.Errorf("after reopening, List = %d users, %v; want 3", len(page.Users), err)
	}
}

// TestConcurrentOpen starts replicas at once on a new database: the
// advisory lock must let exactly one apply each migration and the others
// wait for it, where without it CREATE TABLE would fail in all but one.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		dsn := pgtest.DSN(t)
		const replicas = 8
		var wg sync.WaitGroup
		errs := make([]error, replicas)
		for i := range replicas {
			wg.Go(func() {
				s, err := postgres.Open(t.Context(), postgres.Config{DSN: dsn})
				if err == nil {
					err = s.Put(t.Context(), &user.User{Key: fmt.Sprintf("r%d@example.com", i)})
					s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: replica %d: %v", round, i, err)
			}
		}
		if got := migrationNames(t, rawConn(t, dsn)); !slices.Equal(got, []string{"0001_users.sql"}) {
			t.Errorf("round %d: schema_migrations = %q", round, got)
		}
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	mustOpen(t, postgres.Config{DSN: dsn}).Close()
	if _, err := rawConn(t, dsn).Exec(t.Context(), `INSERT INTO schema_migrations VALUES ('9999_future.sql', now())`); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(t.Context(), postgres.Config{DSN: dsn})
	if err == nil || !strings.Contains(err.Error(), "9999_future.sql") || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v; want a refusal naming the migration", err)
	}
}

// TestBadDSN checks that Open fails clearly, and never shows the password.
func TestBadDSN(t *testing.T) {
	t.Parallel()
	const pw = "hunter2-sekrit"
	dsn := pgtest.DSN(t)
	good := strings.Replace(dsn, "app@", "app:"+pw+"@", 1)
	unreachable := "postgres://app:" + pw + "@127.0.0.1:1/x?sslmode=disable"
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"empty", "", "no DSN"},
		{"unparsable", "postgres://app:" + pw + "@host:notaport/db", "cannot parse"},
		{"bad parameter", good + "&connect_timeout=soon", "connect_timeout"},
		{"keyword/value", "host=127.0.0.1 port=1 user=app password=" + pw + " sslmode=disable", "connect"},
		{"quoted keyword/value", "host=127.0.0.1 port=1 user=app password='" + pw + " x' sslmode=disable", "connect"},
		{"unreachable", unreachable, "127.0.0.1"},
		{"no such database", strings.Replace(good, "/test_", "/missing_", 1), "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			s, err := postgres.Open(t.Context(), postgres.Config{DSN: tc.dsn, ConnectTimeout: 2 * time.Second})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not say %q", msg, tc.want)
			}
			if strings.Contains(msg, "hunter2") || strings.Contains(msg, "sekrit") {
				t.Errorf("error %q shows the password", msg)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Open took %v to fail", d)
			}
		})
	}
}

// TestByteOrder pins what COLLATE "C" is for: keys sort by their bytes,
// not by the database's locale, and After need not be text PostgreSQL
// accepts.
func TestByteOrder(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, postgres.Config{DSN: pgtest.DSN(t)})
	keys := []string{"b", "B", "a", "ä", "ab", "a b", "A", "~", "é", "z"}
	for _, k := range keys {
		usertest.MustPut(t, s, &user.User{Key: k})
	}
	sorted := slices.Sorted(slices.Values(keys))
	// "a\x00" sorts between "a" and "a b"; a lone lead byte "\xc3" before
	// "ä"; "\xff" after every key.
	for _, after := range []string{"", "a", "B", "a\x00", "a\x00z", "z\xff", "\xc3", "\xc3\xa4", "\xff"} {
		page, err := s.List(t.Context(), user.ListOptions{After: after})
		if err != nil {
			t.Fatalf("List(After: %q): %v", after, err)
		}
		var got []string
		for _, u := range page.Users {
			got = append(got, u.Key)
		}
		var want []string
		for _, k := range sorted {
			if k > after {
				want = append(want, k)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("List(After: %q) = %q, want %q", after, got, want)
		}
	}
}

// TestExactText pins why attributes are json, not jsonb: the stored text is
// what EncodeAttributes wrote, byte for byte.
func TestExactText(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	s := mustOpen(t, postgres.Config{DSN: dsn})
	attrs := map[string]any{"z": json.Number("1e3"), "a": json.Number("-0"), "n": "a\x00b", "r": json.Number("1.50")}
	usertest.MustPut(t, s, &user.User{Key: "a@example.com", Attributes: attrs})
	want, err := user.EncodeAttributes(attrs)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := rawConn(t, dsn).QueryRow(t.Context(), `SELECT attributes::text FROM users`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("stored %s, want %s", got, want)
	}
}

// TestServerRestart checks that Get survives a restart of the server: the
// pool's connections die with it, and Get, which does not ping before each
// query, must notice and reconnect rather than fail.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	c := pgtest.NewCluster(t)
	s := mustOpen(t, postgres.Config{DSN: c.CreateDatabase(t, "restart")})
	usertest.MustPut(t, s, &user.User{Key: "a@example.com", Attributes: map[string]any{"v": "1"}})
	usertest.MustGet(t, s, "a@example.com")

	c.Stop(t)
	if _, err := s.Get(t.Context(), "a@example.com"); err == nil || errors.Is(err, user.ErrNotFound) {
		t.Errorf("Get with the server down: %v, want a connection error", err)
	}
	c.Start(t)
	for range 3 {
		if got := usertest.MustGet(t, s, "a@example.com"); got.Attributes["v"] != "1" {
			t.Errorf("after the restart, Get = %+v", got)
		}
	}
}

// TestStaleConnections checks the retry of Get after a restart that left
// the pool full of dead connections it has not noticed.
func TestStaleConnections(t *testing.T) {
	t.Parallel()
	c := pgtest.NewCluster(t)
	s := mustOpen(t, postgres.Config{DSN: c.CreateDatabase(t, "stale")})
	usertest.MustPut(t, s, &user.User{Key: "a@example.com"})
	// Fill the pool with idle connections.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { usertest.MustGet(t, s, "a@example.com") })
	}
	wg.Wait()
	c.Stop(t)
	c.Start(t)
	failed := 0
	for range 8 {
		if _, err := s.Get(t.Context(), "a@example.com"); err != nil {
			failed++
			t.Logf("Get after restart: %v", err)
		}
	}
	if failed > 0 {
		t.Errorf("%d of 8 Gets failed after the restart", failed)
	}
}
