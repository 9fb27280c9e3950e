package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	osuser "os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// envPostgres names the PostgreSQL server to use when -postgres is not given.
const envPostgres = "TOKENHOOK_BENCH_POSTGRES"

// pgBinGlob finds Debian's PostgreSQL server binaries, one directory per
// major version.
const pgBinGlob = "/usr/lib/postgresql/*/bin/initdb"

// pgDirPrefix names throwaway clusters' directories in os.TempDir, so that a
// run can remove what a killed run left behind.
const pgDirPrefix = "loadbench-pg-"

// postgresServer returns the postgres:// URL of the server's maintenance
// database: cfg's -postgres, or a throwaway cluster started for this run
// (once, whichever target asks first) and removed when the run ends.
func postgresServer(ctx context.Context, w workspace) (string, error) {
	return w.once("postgres", func() (string, error) {
		if dsn := w.postgres; dsn != "" {
			if err := checkPostgresURL(dsn); err != nil {
				return "", err
			}
			if err := w.describePostgres(ctx, dsn, "the server of -postgres / $"+envPostgres+" (not pinned by loadbench)"); err != nil {
				return "", fmt.Errorf("PostgreSQL of -postgres / $%s: %w", envPostgres, err)
			}
			return dsn, nil
		}
		dsn, err := startCluster(ctx, w)
		if err != nil {
			return "", fmt.Errorf("no PostgreSQL: give -postgres or $%s, or install the server (apt-get install postgresql): %w", envPostgres, err)
		}
		if err := w.describePostgres(ctx, dsn, fmt.Sprintf("a throwaway cluster pinned to CPU %d (with the generator) at niceness %d", w.genCPU, w.nice)); err != nil {
			return "", err
		}
		return dsn, nil
	})
}

// checkPostgresURL accepts postgres:// and postgresql:// URLs.
func checkPostgresURL(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return errors.New("-postgres: want a postgres://USER[:PASSWORD]@HOST:PORT/DATABASE URL of a server where loadbench may CREATE DATABASE")
	}
	return nil
}

// describePostgres connects to the server and records its version and where
// it runs, for the report.
func (w workspace) describePostgres(ctx context.Context, dsn, where string) error {
	var version string
	err := withConn(ctx, dsn, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SHOW server_version").Scan(&version)
	})
	if err != nil {
		return err
	}
	version, _, _ = strings.Cut(version, " ")
	w.shared.mu.Lock()
	w.shared.postgresInfo = "PostgreSQL " + version + ", " + where
	w.shared.mu.Unlock()
	return nil
}

// createBenchDatabase creates an empty database named name (dropped at the
// end of the run) and returns its URL.
func createBenchDatabase(ctx context.Context, w workspace, server, name string) (string, error) {
	quoted := pgx.Identifier{name}.Sanitize()
	err := withConn(ctx, server, func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+quoted+" WITH (FORCE)"); err != nil {
			return err
		}
		_, err := c.Exec(ctx, "CREATE DATABASE "+quoted+" TEMPLATE template0")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	w.atExit(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = withConn(ctx, server, func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+quoted+" WITH (FORCE)")
			return err
		})
	})
	return withDatabase(server, name)
}

// vacuumAnalyze does what autovacuum would do soon after an import, so that
// it does not do it during a measurement, and so that reads do not write
// hint bits.
func vacuumAnalyze(ctx context.Context, dsn string) error {
	return withConn(ctx, dsn, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "VACUUM ANALYZE")
		return err
	})
}

// withConn runs fn on a connection of its own.
func withConn(ctx context.Context, dsn string, fn func(*pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	return fn(c)
}

// withDatabase returns the URL dsn with its database replaced by db.
func withDatabase(dsn, db string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("-postgres: not a URL")
	}
	u.Path, u.RawPath = "/"+db, ""
	return u.String(), nil
}

// pgDatabaseName is the database of one target, unique on a shared server.
func pgDatabaseName(target string) string {
	return "loadbench_" + strconv.Itoa(os.Getpid()) + "_" + strings.NewReplacer("-", "_").Replace(target)
}

// startCluster initializes and starts a throwaway PostgreSQL cluster from the
// installed server binaries, pinned to the generator's CPU, and registers
// its removal. initdb and postgres refuse to run as root, so as root they
// run as the postgres user.
func startCluster(ctx context.Context, w workspace) (string, error) {
	bin, err := pgBinDir()
	if err != nil {
		return "", err
	}
	reclaimClusters(ctx, bin)
	dir, err := os.MkdirTemp("", pgDirPrefix)
	if err != nil {
		return "", err
	}
	removeDir := func() { os.RemoveAll(dir) }
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		removeDir()
		return "", err
	}
	if os.Geteuid() == 0 {
		if err := chownToPostgres(dir); err != nil {
			removeDir()
			return "", err
		}
	}
	data := filepath.Join(dir, "data")
	if err := runQuiet(ctx, pgCommand(bin, "initdb", "-N", "-D", data, "-U", "app", "--auth=trust", "-E", "UTF8", "--no-locale")); err != nil {
		removeDir()
		return "", err
	}
	port, err := freePort()
	if err != nil {
		removeDir()
		return "", err
	}
	// fsync is off: the cluster is thrown away, and the imports go faster.
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off", dir, port)
	start := pgCommand(bin, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start")
	start.argv = pinnedArgv(start.argv, w.genCPU, 0) // the server forks, and its children inherit the CPU
	if err := runQuiet(ctx, start); err != nil {
		removeDir()
		return "", fmt.Errorf("%w\nserver log:\n%s", err, tail(filepath.Join(dir, "log"), 20))
	}
	w.atExit(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = runQuiet(ctx, pgCommand(bin, "pg_ctl", "-D", data, "-w", "-m", "fast", "stop"))
		removeDir()
	})
	// pg_ctl starts the server in a session of its own, and the server
	// starts each backend in a session of its own: give their autogroups
	// the targets' niceness, as startPrioritized does for the targets, so
	// that other work on the machine delays them less. A target's pool
	// opens its connections under load (and reopens those that a request
	// cancelled at the end of the warm-up, when wrk hangs up), so new
	// backends are reniced throughout each measured run.
	pm, err := postmasterPID(data)
	if err != nil {
		return "", err
	}
	renice := func() {
		for _, pid := range append(childrenOf(pm), pm) {
			if !sameAutogroup(pid, os.Getpid()) {
				_ = prioritize(pid, w.nice)
			}
		}
	}
	renice()
	w.whileMeasuring(renice)
	w.shared.mu.Lock()
	w.shared.dbCPU = func() (time.Duration, error) { return treeCPU(pm) }
	w.shared.mu.Unlock()
	return fmt.Sprintf("postgres://app@127.0.0.1:%d/postgres?sslmode=disable", port), nil
}

// pgCommand runs program of the server's bin directory, as the postgres
// user when loadbench runs as root.
func pgCommand(bin, program string, args ...string) command {
	argv := append([]string{filepath.Join(bin, program)}, args...)
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	return command{argv: argv}
}

// pgBinDir is the bin directory of the newest installed PostgreSQL server.
func pgBinDir() (string, error) {
	matches, _ := filepath.Glob(pgBinGlob)
	var best string
	bestVersion := -1
	for _, initdb := range matches {
		bin := filepath.Dir(initdb)
		major, _, _ := strings.Cut(filepath.Base(filepath.Dir(bin)), ".")
		v, err := strconv.Atoi(major)
		if err != nil || v <= bestVersion {
			continue
		}
		if _, err := os.Stat(filepath.Join(bin, "pg_ctl")); err == nil {
			best, bestVersion = bin, v
		}
	}
	if best == "" {
		return "", fmt.Errorf("no server binaries (%s)", pgBinGlob)
	}
	if os.Geteuid() == 0 {
		if _, err := osuser.Lookup("postgres"); err != nil {
			return "", errors.New("running as root, and there is no postgres user to run initdb as")
		}
	}
	return best, nil
}

// chownToPostgres gives dir to the postgres user.
func chownToPostgres(dir string) error {
	u, err := osuser.Lookup("postgres")
	if err != nil {
		return err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	return os.Chown(dir, uid, gid)
}

// postmasterPID reads the server's process id from its data directory.
func postmasterPID(data string) (int, error) {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// treeCPU is the CPU time pid and its children have used so far: its own,
// that of its children that exited (once it has waited for them, which the
// postmaster does at once) and that of its live children. A backend that
// exits moves from the third to the second, so the sum only grows.
func treeCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	own, exited, err := parseStatTimes(stat)
	if err != nil {
		return 0, err
	}
	total := own + exited
	for _, child := range childrenOf(pid) {
		if cpu, err := processCPU(child); err == nil {
			total += cpu
		}
	}
	return total, nil
}

// childrenOf lists the child processes of pid (its main thread's, which
// for the single-threaded postmaster are all).
func childrenOf(pid int) []int {
	p := strconv.Itoa(pid)
	b, _ := os.ReadFile(filepath.Join("/proc", p, "task", p, "children"))
	var out []int
	for f := range strings.FieldsSeq(string(b)) {
		if child, err := strconv.Atoi(f); err == nil {
			out = append(out, child)
		}
	}
	return out
}

// sameAutogroup reports whether two processes share a scheduler autogroup
// (or it cannot tell), so that loadbench never renices its own session.
func sameAutogroup(a, b int) bool {
	ga, err1 := os.ReadFile(filepath.Join("/proc", strconv.Itoa(a), "autogroup"))
	gb, err2 := os.ReadFile(filepath.Join("/proc", strconv.Itoa(b), "autogroup"))
	if err1 != nil || err2 != nil {
		return true
	}
	name := func(g []byte) string { s, _, _ := strings.Cut(string(g), " nice"); return s }
	return name(ga) == name(gb)
}

// reclaimClusters stops and removes the clusters of loadbench runs that
// were killed before they could (their owner process is gone).
func reclaimClusters(ctx context.Context, bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), pgDirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		data := filepath.Join(dir, "data")
		if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
			_ = runQuiet(ctx, pgCommand(bin, "pg_ctl", "-D", data, "-w", "-m", "immediate", "stop"))
		}
		os.RemoveAll(dir)
	}
}

// redactArgs hides the password of a -postgres URL in a command line that
// goes into the report.
func redactArgs(args []string) []string {
	out := slices.Clone(args)
	for i := 0; i < len(out); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(out[i], "-"), "=")
		if name != "postgres" || !strings.HasPrefix(out[i], "-") {
			continue
		}
		if !hasValue {
			if i+1 < len(out) {
				i++
				out[i] = redactURL(out[i])
			}
			continue
		}
		out[i] = out[i][:len(out[i])-len(value)] + redactURL(value)
	}
	return out
}

// redactURL replaces a URL's password with "xxxxx"; something that is not a
// URL is not shown at all.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not shown)"
	}
	return u.Redacted()
}
