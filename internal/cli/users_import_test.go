package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tokenhook/tokenhook/internal/cli"
)

// largeImport is the number of users of the large-import tests: the
// issue's million, or fewer under the race detector so that the tests
// still take seconds.
func largeImport() int {
	if raceEnabled {
		return 50_000
	}
	return 1_000_000
}

// largeKey is the key of the i-th user of a large file.
func largeKey(i int) string { return fmt.Sprintf("user%07d@example.com", i) }

// writeLargeCSV writes a CSV of n users, login,patientId,groups, in an order
// that is not key order, as an export sorted by something else would be;
// last, when not empty, replaces the last row. It returns the file's path.
func writeLargeCSV(t *testing.T, n int, last string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("login,patientId,groups\n")
	groups := []string{"patients", "patients;research", "clinicians", "clinicians;admins"}
	for j := range n {
		if j == n-1 && last != "" {
			w.WriteString(last + "\n")
			break
		}
		i := j
		if j%2 == 1 {
			i = n - j // odd rows from the end: 0, n-1, 2, n-3, ...
		}
		fmt.Fprintf(w, "%s,%d,%s\n", largeKey(i), 100_000+i, groups[i%len(groups)])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// seedStore puts two users into a new store, one of them also in every
// large file, and returns the store and what `users list` shows of them.
func seedStore(t *testing.T) (store, list string) {
	t.Helper()
	store = newStore(t)
	for _, kv := range [][2]string{{largeKey(0), "patientId=original"}, {"existing@example.com", "patientId=7"}} {
		if r := run(t, "", "users", "put", "--store", store, kv[0], "--set", kv[1]); r.code != 0 {
			t.Fatalf("put: %+v", r)
		}
	}
	return store, "existing@example.com\t{\"patientId\":\"7\"}\n" + largeKey(0) + "\t{\"patientId\":\"original\"}\n"
}

// TestImportLargeLastRowBad pins the all-or-nothing import at scale: a file
// whose last row is bad fails, naming that line, and leaves the store as it
// was, the user the file would have replaced included.
func TestImportLargeLastRowBad(t *testing.T) {
	n := largeImport()
	store, before := seedStore(t)
	file := writeLargeCSV(t, n, ",123,patients") // no key
	r := run(t, "", "users", "import", "--store", store, file)
	wantErr := fmt.Sprintf("line %d: missing key", n+1) // the header is line 1
	if r.code != 1 || !strings.Contains(r.stderr, wantErr) || !strings.Contains(r.stderr, "nothing imported") || r.stdout != "" {
		t.Fatalf("import = %+v; want failure naming %q", r, wantErr)
	}
	if list := run(t, "", "users", "list", "--store", store); list.stdout != before {
		t.Errorf("store changed by a failed import; list:\n%.500s", list.stdout)
	}
}

// TestImportLargeRollsBack pins the transaction at scale: an import cut
// short after the store has written a tenth of the users in it (here by
// cancelling, as Ctrl-C would) leaves the store as it was.
func TestImportLargeRollsBack(t *testing.T) {
	cli.ShowProgressAtOnce(t)
	n := largeImport()
	store, before := seedStore(t)
	file := writeLargeCSV(t, n, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Once progress reports users written, cancel.
	written := regexp.MustCompile(`(?m)^importing +([1-9][0-9]*)/`)
	stderr := &watchWriter{match: func(b []byte) bool { return written.Match(b) }, then: cancel}
	var stdout bytes.Buffer
	code := cli.Run(ctx, []string{"users", "import", "--store", store, file}, cli.IO{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: stderr,
	})
	// The error is context.Canceled or, when database/sql's rollback on
	// cancellation wins the race, "sql: statement is closed".
	if code != 1 || !strings.Contains(stderr.String(), "nothing imported") {
		t.Fatalf("cancelled import: exit %d, stdout %q, stderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !written.MatchString(stderr.String()) {
		t.Fatalf("import failed before writing any user:\n%s", stderr.String())
	}
	if list := run(t, "", "users", "list", "--store", store); list.stdout != before {
		t.Errorf("store changed by a cancelled import; list:\n%.500s", list.stdout)
	}
}

// TestImportLargeProgress pins what a CI log of a large import shows: plain
// lines of both steps, no more than one per tenth of the users, ending
// with the full count.
func TestImportLargeProgress(t *testing.T) {
	cli.ShowProgressAtOnce(t)
	n := largeImport() / 5
	store := newStore(t)
	r := run(t, "", "users", "import", "--store", store, writeLargeCSV(t, n, ""))
	if want := fmt.Sprintf("imported %d users\n", n); r.code != 0 || r.stdout != want {
		t.Fatalf("import = %+v; want %q", r, want)
	}
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("progress in a log redraws its line: %q", r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	t.Logf("progress:\n%s", r.stderr)
	reading := regexp.MustCompile(`^reading    [0-9]+\.[0-9]s$`)
	read := regexp.MustCompile(fmt.Sprintf(`^reading    %d users  [0-9]+\.[0-9]s$`, n))
	importing := regexp.MustCompile(`^importing +([0-9]+)/([0-9]+) +([0-9]+)%  [0-9]+\.[0-9]s$`)
	if len(lines) < 5 || !reading.MatchString(lines[0]) || !read.MatchString(lines[1]) {
		t.Fatalf("progress does not start with the reading step:\n%s", r.stderr)
	}
	prev := -1
	for i, line := range lines[2:] {
		m := importing.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("progress line %q is not an importing line", line)
		}
		count, _ := strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		percent, _ := strconv.Atoi(m[3])
		switch {
		case total != n || percent != count*100/n:
			t.Errorf("progress line %q: want a count of %d and its percentage", line, n)
		case i == 0 && count != 0:
			t.Errorf("first importing line %q: want 0 written", line)
		case i > 0 && count < prev+n/10 && count != n:
			t.Errorf("progress line %q less than a tenth after the last (%d)", line, prev)
		}
		prev = count
	}
	if prev != n {
		t.Errorf("progress ends at %d, want the full count %d", prev, n)
	}
	if len(lines) < 2+3 {
		t.Errorf("want importing lines between the first and the last, got:\n%s", r.stderr)
	}
}

// TestImportProgressQuietAndQuick pins that progress never shows for
// --quiet, nor by default for an import quicker than half a second.
func TestImportProgressQuietAndQuick(t *testing.T) {
	store := newStore(t)
	if r := run(t, "", "users", "import", "--store", store, writeFile(t, "patients.csv", patientsCSV)); r.code != 0 || r.stderr != "" {
		t.Errorf("quick import: %+v; want nothing on stderr", r)
	}
	cli.ShowProgressAtOnce(t)
	for _, quiet := range []string{"--quiet", "-q"} {
		if r := run(t, "", "users", "import", quiet, "--store", store, writeFile(t, "patients.csv", patientsCSV)); r.code != 0 || r.stderr != "" || r.stdout != "imported 3 users\n" {
			t.Errorf("import %s: %+v; want nothing on stderr", quiet, r)
		}
	}
}

// watchWriter is a buffer that calls then, once, when a write makes match
// true of everything written so far.
type watchWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	match func([]byte) bool
	then  func()
	done  bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if !w.done && w.match(w.buf.Bytes()) {
		w.done = true
		w.then()
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
