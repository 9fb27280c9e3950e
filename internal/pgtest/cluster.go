package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binGlob finds Debian's PostgreSQL server binaries, one directory per
// major version. A variable so the package's tests can point it elsewhere.
var binGlob = "/usr/lib/postgresql/*/bin/initdb"

// dirPrefix names the clusters' directories in os.TempDir, so that a run can
// find and remove what a crashed run left behind.
const dirPrefix = "tokenhook-pgtest-"

// Cluster is a throwaway PostgreSQL cluster: its own data directory and
// server process on a loopback port, user "app" trusted without a password.
type Cluster struct {
	bin  string // directory of initdb, pg_ctl, postgres
	dir  string // holds data/, log, the socket and owner
	port int

	mu      sync.Mutex
	running bool
}

// NewCluster starts a cluster for this test alone, for a test that stops
// and restarts the server; it is stopped and removed when the test ends.
// It skips the test when no PostgreSQL binaries are installed, or fails it
// under CI=true. Unlike [DSN], it ignores $TOKENHOOK_TEST_POSTGRES: a test
// must not stop a server it shares.
func NewCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin, reason := findBinDir(binGlob)
	if bin == "" {
		unavailable(tb, reason)
		return nil
	}
	if reason := rootWithoutPostgres(); reason != "" {
		unavailable(tb, reason)
		return nil
	}
	c, err := startCluster(bin)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.remove(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// DSN returns the postgres:// URL of database db of the cluster.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://app@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// CreateDatabase creates an empty database and returns its DSN. The
// database goes with the cluster.
func (c *Cluster) CreateDatabase(tb testing.TB, name string) string {
	tb.Helper()
	if err := createDatabase(tb.Context(), c.DSN("postgres"), name); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return c.DSN(name)
}

// Stop stops the server (fast shutdown: open connections are closed). Its
// data stays for [Cluster.Start].
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	if err := c.stop("fast"); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// Start starts the stopped server again, on the same port with the same
// data, and waits until it accepts connections.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		tb.Fatal("pgtest: Start: the cluster is running")
	}
	if err := c.start(); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// findBinDir returns the bin directory of the newest installed PostgreSQL,
// or "" and why there is none.
func findBinDir(glob string) (dir, reason string) {
	matches, _ := filepath.Glob(glob)
	var best string
	var bestVersion []int
	for _, initdb := range matches {
		bin := filepath.Dir(initdb)
		if _, err := os.Stat(filepath.Join(bin, "pg_ctl")); err != nil {
			continue
		}
		v := parseVersion(filepath.Base(filepath.Dir(bin)))
		if best == "" || slices.Compare(v, bestVersion) > 0 {
			best, bestVersion = bin, v
		}
	}
	if best == "" {
		return "", "no " + glob
	}
	return best, ""
}

// parseVersion reads a version directory's name ("15", "9.6") as numbers,
// so that 15 sorts after 9.6.
func parseVersion(s string) []int {
	var v []int
	for part := range strings.SplitSeq(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	return v
}

// rootWithoutPostgres says why a cluster cannot start as root: initdb
// refuses to run as root, so pgtest runs it as the postgres user that
// Debian's package creates.
func rootWithoutPostgres() string {
	if os.Geteuid() != 0 {
		return ""
	}
	if _, err := osuser.Lookup("postgres"); err != nil {
		return "running as root, and there is no postgres user to run initdb as"
	}
	return ""
}

// startCluster initializes a cluster in a new directory and starts it.
func startCluster(bin string) (*Cluster, error) {
	reclaimLeftovers(bin)
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, dir: dir}
	if err := c.init(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A port can be taken between freePort and the server's bind; a few
	// tries make that race harmless.
	for try := 0; ; try++ {
		if c.port, err = freePort(); err != nil {
			break
		}
		if err = c.start(); err == nil || try == 2 || !strings.Contains(err.Error(), "could not bind") {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// init writes the owner file and runs initdb. Fsync is off (-N): a test
// cluster need not survive a power cut, and initdb is twice as fast.
func (c *Cluster) init() error {
	// Written aside and renamed, so that a parallel reclaimLeftovers never
	// reads a half-written owner.
	owner := filepath.Join(c.dir, "owner")
	if err := os.WriteFile(owner+".new", []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	if err := os.Rename(owner+".new", owner); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := chownPostgres(c.dir); err != nil {
			return err
		}
	}
	_, err := c.run("initdb", "-N", "-D", filepath.Join(c.dir, "data"), "-U", "app", "--auth=trust", "-E", "UTF8", "--no-locale")
	return err
}

// start starts the server and waits for it; the caller holds c.mu or owns
// c alone.
func (c *Cluster) start() error {
	// The socket lives in the cluster's directory, not /var/run/postgresql,
	// which a test may not write; max_connections leaves room for many
	// parallel tests with a pool each.
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=300",
		c.dir, c.port)
	log := filepath.Join(c.dir, "log")
	if _, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-l", log, "-w", "-t", "60", "-o", opts, "start"); err != nil {
		return fmt.Errorf("%w\nserver log:\n%s", err, tail(log))
	}
	c.running = true
	return nil
}

// stop stops the server with the pg_ctl shutdown mode given.
func (c *Cluster) stop(mode string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	if _, err := c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-w", "-m", mode, "stop"); err != nil {
		return err
	}
	c.running = false
	return nil
}

// remove stops the server and deletes the cluster's directory.
func (c *Cluster) remove() error {
	if err := c.stop("fast"); err != nil {
		// The data goes anyway: a server left running without its files
		// stops by itself when it next checks its lock file.
		os.RemoveAll(c.dir)
		return err
	}
	return os.RemoveAll(c.dir)
}

// run runs one of the server's programs, as the postgres user when running
// as root, since initdb and postgres refuse to run as root.
func (c *Cluster) run(program string, args ...string) (string, error) {
	return runPostgres(filepath.Join(c.bin, program), args...)
}

func runPostgres(path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Should the daemonized server ever hold the output pipe open, Wait
	// must still return.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(path), strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// chownPostgres gives dir to the postgres user, who runs the server.
func chownPostgres(dir string) error {
	u, err := osuser.Lookup("postgres")
	if err != nil {
		return err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return err
	}
	return filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	const n = 4000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// reclaimLeftovers stops and removes the clusters of test processes that
// died without stopping them (a panic, a timeout, a kill), so that crashed
// runs do not pile up servers. A directory is a leftover when the process
// named in its owner file is gone; one without an owner file is a leftover
// once it is old enough that its owner cannot still be writing it.
func reclaimLeftovers(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		if !leftover(dir) {
			continue
		}
		data := filepath.Join(dir, "data")
		if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
			// Immediate: nobody needs this cluster's data.
			_, _ = runPostgres(filepath.Join(bin, "pg_ctl"), "-D", data, "-w", "-m", "immediate", "stop")
		}
		os.RemoveAll(dir)
	}
}

func leftover(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "owner"))
	pid := 0
	if err == nil {
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if err != nil || pid <= 0 {
		// No owner yet, or one being written (a parallel test's cluster
		// in its first milliseconds): only age makes it a leftover.
		fi, err := os.Stat(dir)
		return err == nil && time.Since(fi.ModTime()) > 10*time.Minute
	}
	if pid == os.Getpid() {
		return false
	}
	// Signal 0 checks that the process exists; EPERM means it does, as
	// another user's.
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	// A zombie exists too, until its parent reaps it, but it is dead.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := bytes.Cut(stat, []byte(") ")) // after "pid (comm) "
	return len(after) > 0 && after[0] == 'Z'
}
