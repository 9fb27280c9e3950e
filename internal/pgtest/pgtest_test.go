package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// fakeTB records what unavailable does instead of ending the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Skip(args ...any)  { f.skipped = fmt.Sprint(args...) }
func (f *fakeTB) Fatal(args ...any) { f.failed = fmt.Sprint(args...) }

// TestUnavailable pins the rule CI relies on: no server skips locally and
// fails under CI=true.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantSkip bool
	}{{"", true}, {"false", true}, {"true", false}} {
		t.Setenv("CI", tc.ci)
		f := &fakeTB{TB: t}
		unavailable(f, "no binaries")
		if tc.wantSkip && (f.skipped == "" || f.failed != "") {
			t.Errorf("CI=%q: skipped %q, failed %q; want a skip", tc.ci, f.skipped, f.failed)
		}
		if !tc.wantSkip && (f.failed == "" || f.skipped != "") {
			t.Errorf("CI=%q: skipped %q, failed %q; want a failure", tc.ci, f.skipped, f.failed)
		}
		if msg := f.skipped + f.failed; !strings.Contains(msg, "no binaries") || !strings.Contains(msg, EnvDSN) {
			t.Errorf("CI=%q: message %q lacks the reason or the remedy", tc.ci, msg)
		}
	}
}

// TestNoBinaries checks that DSN and NewCluster take the unavailable path
// when no server is installed and none is named.
func TestNoBinaries(t *testing.T) {
	old := binGlob
	binGlob = filepath.Join(t.TempDir(), "*", "bin", "initdb")
	t.Cleanup(func() { binGlob = old })
	t.Setenv(EnvDSN, "")
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		f := &fakeTB{TB: t}
		if dsn := DSN(f); dsn != "" || (ci == "true") != (f.failed != "") || (ci == "") != (f.skipped != "") {
			t.Errorf("CI=%q: DSN = %q, skipped %q, failed %q", ci, dsn, f.skipped, f.failed)
		}
		f = &fakeTB{TB: t}
		if c := NewCluster(f); c != nil || (ci == "true") != (f.failed != "") || (ci == "") != (f.skipped != "") {
			t.Errorf("CI=%q: NewCluster = %v, skipped %q, failed %q", ci, c, f.skipped, f.failed)
		}
	}
}

func TestFindBinDir(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "15", "13", "x"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"initdb", "pg_ctl"} {
			if err := os.WriteFile(filepath.Join(bin, f), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A version without pg_ctl does not count.
	if err := os.MkdirAll(filepath.Join(root, "16", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "16", "bin", "initdb"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	got, reason := findBinDir(filepath.Join(root, "*", "bin", "initdb"))
	if want := filepath.Join(root, "15", "bin"); got != want {
		t.Errorf("findBinDir = %q (%s), want %q", got, reason, want)
	}
}

func TestDSN(t *testing.T) {
	var dsns []string
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			dsn := DSN(t)
			dsns = append(dsns, dsn)
			conn, err := pgx.Connect(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var tables int
			if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("a fresh database has %d tables", tables)
			}
			// Writable, and a connection left open does not stop the drop.
			if _, err := conn.Exec(t.Context(), `CREATE TABLE t (x int)`); err != nil {
				t.Fatal(err)
			}
		})
	}
	if t.Failed() || len(dsns) != 2 {
		return
	}
	if dsns[0] == dsns[1] {
		t.Fatalf("two tests got the same database %s", dsns[0])
	}
	// The databases are gone after their tests.
	var names []string
	err := admin(t.Context(), serverDSN(t), func(c *pgx.Conn) error {
		rows, _ := c.Query(t.Context(), `SELECT datname FROM pg_database`)
		var err error
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dsn := range dsns {
		db := dsn[strings.LastIndex(dsn, "/")+1:]
		db, _, _ = strings.Cut(db, "?")
		if slices.Contains(names, db) {
			t.Errorf("database %s outlived its test", db)
		}
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	var dir string
	t.Run("stop and start", func(t *testing.T) { dir = testStopStart(t) })
	if dir == "" {
		return
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s left behind (%v)", dir, err)
	}
}

// testStopStart stops and restarts a cluster and returns its directory.
func testStopStart(t *testing.T) string {
	start := time.Now()
	c := NewCluster(t)
	t.Logf("cluster started in %v", time.Since(start).Round(time.Millisecond))
	dsn := c.CreateDatabase(t, "stopme")
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	c.Stop(t)
	if err := exec(`SELECT 1`); err == nil {
		t.Fatal("a stopped cluster accepted a query")
	}
	c.Start(t)
	if err := exec(`DO $$ BEGIN IF (SELECT x FROM kept) <> 42 THEN RAISE 'lost'; END IF; END $$`); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	return c.dir
}

// TestReclaim checks that a cluster whose test process died is stopped and
// removed by the next start.
func TestReclaim(t *testing.T) {
	t.Parallel()
	c := NewCluster(t)
	// Pretend the cluster's owner died: PID 2^22+1 is above Linux's
	// largest, so no process has it.
	if err := os.WriteFile(filepath.Join(c.dir, "owner"), []byte("4194305"), 0o644); err != nil {
		t.Fatal(err)
	}
	reclaimLeftovers(c.bin)
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Fatalf("leftover cluster %s still there (%v)", c.dir, err)
	}
	conn, err := pgx.Connect(t.Context(), c.DSN("postgres"))
	if err == nil {
		conn.Close(context.Background())
		t.Fatal("leftover cluster still serves")
	}
	c.running = false // nothing left for the cleanup to stop
}
