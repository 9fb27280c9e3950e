// Package pgtest gives tests a real PostgreSQL server, without Docker.
//
// [DSN] hands each test a fresh, empty database, dropped when the test ends.
// The server is, in order of preference:
//
//  1. the one named by $TOKENHOOK_TEST_POSTGRES, a postgres:// URL of a
//     server where the test may CREATE DATABASE;
//  2. a throwaway cluster that pgtest initializes from the installed server
//     binaries (/usr/lib/postgresql/VERSION/bin, the newest version) the
//     first time a test of the process asks, and that [Main] stops and
//     removes when the package's tests end;
//  3. none: the test is skipped with the reason, unless CI=true, where it
//     fails, so that CI can never pass without having run it.
//
// A package whose tests call DSN runs them through Main:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// A test that must stop and restart the server takes a cluster of its own
// from [NewCluster].
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable naming a server to use instead of a
// throwaway cluster.
const EnvDSN = "TOKENHOOK_TEST_POSTGRES"

var (
	// mainRunning is set by Main: only then is someone there to stop the
	// shared cluster, so DSN refuses to start one without it.
	mainRunning atomic.Bool

	sharedOnce    sync.Once
	sharedCluster *Cluster
	sharedErr     error

	dbCounter atomic.Int64
)

// Main runs the tests of m and then stops and removes the cluster that [DSN]
// started, if any. It returns m.Run's exit code, or 1 when the tests passed
// but the cluster could not be stopped.
func Main(m *testing.M) int {
	mainRunning.Store(true)
	code := m.Run()
	if sharedCluster != nil {
		if err := sharedCluster.remove(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// DSN returns a postgres:// URL of a new, empty database for this test, and
// drops the database when the test ends (after the test's own cleanups, so
// a store closed in a cleanup is closed first). It skips the test when no
// server is available, or fails it under CI=true.
func DSN(tb testing.TB) string {
	tb.Helper()
	base := serverDSN(tb)
	if base == "" {
		return "" // skipped: only a fake testing.TB gets here
	}
	name := databaseName(tb)
	if err := createDatabase(tb.Context(), base, name); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		// Not tb.Context(): it is already canceled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, base, name); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return withDatabase(base, name)
}

// serverDSN returns the DSN of the server's maintenance database, starting
// the shared cluster if needed.
func serverDSN(tb testing.TB) string {
	tb.Helper()
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
			tb.Fatalf("pgtest: $%s must be a postgres:// URL", EnvDSN)
		}
		return dsn
	}
	bin, reason := findBinDir(binGlob)
	if bin == "" {
		unavailable(tb, reason)
		return ""
	}
	if reason := rootWithoutPostgres(); reason != "" {
		unavailable(tb, reason)
		return ""
	}
	if !mainRunning.Load() {
		tb.Fatal("pgtest: DSN starts a cluster that only pgtest.Main stops: add func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }")
	}
	sharedOnce.Do(func() {
		start := time.Now()
		sharedCluster, sharedErr = startCluster(bin)
		if sharedErr == nil {
			tb.Logf("pgtest: started PostgreSQL from %s in %v", bin, time.Since(start).Round(time.Millisecond))
		}
	})
	if sharedErr != nil {
		// Every test of the process fails with the first start's error
		// rather than running initdb again.
		tb.Fatalf("pgtest: %v", sharedErr)
	}
	return sharedCluster.DSN("postgres")
}

// unavailable skips the test for want of a server, or fails it under CI.
func unavailable(tb testing.TB, reason string) {
	tb.Helper()
	msg := fmt.Sprintf("pgtest: no PostgreSQL: %s (apt-get install postgresql, or set $%s)", reason, EnvDSN)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg + "; under CI=true the PostgreSQL tests must run")
		return
	}
	tb.Skip(msg)
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// databaseName makes a name unique on a server that other test processes
// may share, and recognizable in its list of databases.
func databaseName(tb testing.TB) string {
	name := unsafeName.ReplaceAllString(strings.ToLower(tb.Name()), "_")
	name = strings.Trim(name, "_")
	if len(name) > 32 {
		name = name[len(name)-32:] // the end of a subtest name says most
	}
	return fmt.Sprintf("test_%d_%d_%s", os.Getpid(), dbCounter.Add(1), name)
}

// withDatabase returns dsn with its database replaced by db.
func withDatabase(dsn, db string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		// serverDSN hands out URLs only, and those of $TOKENHOOK_TEST_POSTGRES
		// were checked by the first createDatabase, which parses it too.
		panic(fmt.Sprintf("pgtest: unparsable DSN: %v", err))
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String()
}

// admin runs fn on a connection of its own to the server's maintenance
// database. A connection per call, not a pool: a [Cluster] may have been
// restarted since the last one, which would leave a pool's idle connections
// dead.
func admin(ctx context.Context, dsn string, fn func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return fn(conn)
}

// createDatabase makes an empty database. template0 is empty and accepts no
// connections, so concurrent tests can all copy it at once.
func createDatabase(ctx context.Context, dsn, name string) error {
	err := admin(ctx, dsn, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0")
		return err
	})
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// dropDatabase drops a test's database, closing the connections the test
// left open (a server process killed mid-test, say).
func dropDatabase(ctx context.Context, dsn, name string) error {
	err := admin(ctx, dsn, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		return err
	})
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}
