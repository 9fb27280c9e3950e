package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/internal/cli"
)

type result struct {
	code           int
	stdout, stderr string
}

// run runs the command line in-process, as the binary would.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, cli.IO{
		Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
	})
	return result{code, stdout.String(), stderr.String()}
}

func newStore(t *testing.T) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "tokenhook.db")
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const patientsCSV = "login,patientId\njessie.smith@example.com,1235\nkim.sato@example.com,6789\nrajiv.tal@example.com,4235\n"

func TestUsersLifecycle(t *testing.T) {
	store := newStore(t)
	if r := run(t, "", "users", "import", "--store", store, writeFile(t, "patients.csv", patientsCSV)); r.code != 0 || r.stdout != "imported 3 users\n" {
		t.Fatalf("import: %+v", r)
	}
	r := run(t, "", "users", "list", "--store", store)
	want := "jessie.smith@example.com\t{\"patientId\":\"1235\"}\nkim.sato@example.com\t{\"patientId\":\"6789\"}\nrajiv.tal@example.com\t{\"patientId\":\"4235\"}\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("list: %+v", r)
	}
	r = run(t, "", "users", "list", "--store", store, "--limit", "2")
	if strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stderr, `--after "kim.sato@example.com"`) {
		t.Fatalf("paged list: %+v", r)
	}
	r = run(t, "", "users", "get", "--store", store, "kim.sato@example.com")
	if r.code != 0 || !strings.Contains(r.stdout, `"patientId": "6789"`) || !strings.Contains(r.stdout, `"createdAt"`) {
		t.Fatalf("get: %+v", r)
	}
	if r = run(t, "", "users", "put", "--store", store, "new@example.com", "--attributes", `{"groups":["a","b"],"age":42}`, "--set", "patientId=1"); r.code != 0 {
		t.Fatalf("put: %+v", r)
	}
	r = run(t, "", "users", "get", "--store", store, "new@example.com")
	if !strings.Contains(r.stdout, `"age": 42`) || !strings.Contains(r.stdout, `"patientId": "1"`) {
		t.Fatalf("get after put: %+v", r)
	}
	if r = run(t, "", "users", "delete", "--store", store, "new@example.com"); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	if r = run(t, "", "users", "delete", "--store", store, "new@example.com"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("delete missing: %+v", r)
	}
	if r = run(t, "", "users", "get", "--store", store, "new@example.com"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("get missing: %+v", r)
	}

	// Export, import into a fresh store, export again: the same bytes.
	for _, format := range []string{"jsonl", "json", "csv"} {
		out := filepath.Join(t.TempDir(), "users."+format)
		if r = run(t, "", "users", "export", "--store", store, "--format", format, "-o", out); r.code != 0 {
			t.Fatalf("export %s: %+v", format, r)
		}
		other := newStore(t)
		if r = run(t, "", "users", "import", "--store", other, out); r.code != 0 {
			t.Fatalf("re-import %s: %+v", format, r)
		}
		a := run(t, "", "users", "export", "--store", store, "--format", format)
		b := run(t, "", "users", "export", "--store", other, "--format", format)
		if a.stdout != b.stdout || a.stdout == "" {
			t.Errorf("%s round trip differs:\n%s\n---\n%s", format, a.stdout, b.stdout)
		}
	}
}

// TestImportIsAtomic pins that a file with one bad record imports nothing,
// and that the error names the line.
func TestImportIsAtomic(t *testing.T) {
	tests := []struct {
		name, file, content, wantErr string
	}{
		{"csv empty key", "u.csv", "login,patientId\na@example.com,1\n,2\nb@example.com,3\n", "line 3"},
		{"csv wrong field count", "u.csv", "login,patientId\na@example.com,1\nb@example.com,2,extra\n", "line 3"},
		{"csv no key column", "u.csv", "email,patientId\na@example.com,1\n", "key"},
		{"csv duplicate key", "u.csv", "login,patientId\na@example.com,1\na@example.com,2\n", "line 3"},
		{"json lines bad JSON", "u.jsonl", "{\"key\":\"a@example.com\",\"attributes\":{}}\n{\"key\":\n", "line 2"},
		{"json lines unknown field", "u.jsonl", "{\"key\":\"a@example.com\"}\n{\"key\":\"b@example.com\",\"patientId\":\"1\"}\n", "line 2"},
		{"json array attributes not an object", "u.json", "[\n{\"key\":\"a@example.com\"},\n{\"key\":\"b@example.com\",\"attributes\":[1]}\n]\n", "line 3"},
		{"key with control character", "u.jsonl", "{\"key\":\"a@example.com\"}\n{\"key\":\"b\\u0000@example.com\"}\n", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newStore(t)
			if r := run(t, "", "users", "put", "--store", store, "existing@example.com", "--set", "patientId=7"); r.code != 0 {
				t.Fatal(r)
			}
			r := run(t, "", "users", "import", "--store", store, writeFile(t, tt.file, tt.content))
			if r.code == 0 || !strings.Contains(r.stderr, tt.wantErr) || !strings.Contains(r.stderr, "nothing imported") {
				t.Fatalf("import = %+v; want failure naming %q", r, tt.wantErr)
			}
			list := run(t, "", "users", "list", "--store", store)
			if list.stdout != "existing@example.com\t{\"patientId\":\"7\"}\n" {
				t.Errorf("store changed by a failed import:\n%s", list.stdout)
			}
		})
	}
}

func TestImportFromStdinAndFormats(t *testing.T) {
	store := newStore(t)
	r := run(t, "{\"key\":\"a@example.com\",\"attributes\":{\"patientId\":\"1\"}}\n", "users", "import", "--store", store, "--format", "jsonl", "-")
	if r.code != 0 || r.stdout != "imported 1 user\n" {
		t.Fatalf("stdin import: %+v", r)
	}
	if r = run(t, "", "users", "import", "--store", store, "--format", "xml", "-"); r.code != 2 {
		t.Fatalf("unknown format: %+v, want usage error", r)
	}
	if r = run(t, "", "users", "import", "--store", store, filepath.Join(t.TempDir(), "missing.csv")); r.code != 1 {
		t.Fatalf("missing file: %+v", r)
	}
	if r = run(t, "", "users", "import", "--store", "mysql://x", "-"); r.code != 1 || !strings.Contains(r.stderr, "DSN") {
		t.Fatalf("unknown DSN: %+v", r)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"users", "get"},
		{"users", "put", "x", "--set", "novalue"},
		{"users", "put", "x", "--attributes", "[1]"},
		{"serve", "extra-arg"},
		{"serve", "--no-such-flag"},
	} {
		if r := run(t, "", args...); r.code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, r.code, r.stderr)
		}
	}
	// A usage error stops before the default store is opened.
	if _, err := os.Stat("tokenhook.db"); !errors.Is(err, fs.ErrNotExist) {
		os.Remove("tokenhook.db")
		t.Errorf("a usage error created the default store file (stat: %v)", err)
	}
}

func TestServeInvalidConfig(t *testing.T) {
	cfg := writeFile(t, "tokenhook.yaml", "claims:\n  mappings:\n    - claim: iss\n    - claim: groups\n      token: access\n")
	r := run(t, "", "serve", "--config", cfg, "--store", "memory:")
	if r.code != 1 || !strings.Contains(r.stderr, `claim "iss" is reserved`) || !strings.Contains(r.stderr, `claim "groups" is reserved`) {
		t.Fatalf("serve with reserved claims: %+v", r)
	}
}
