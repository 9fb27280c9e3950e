package cli_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of the examples")

// TestExamples runs every example of examples/ as a user would: rules check
// on its configuration, then rules eval on each of its requests with its
// users file, compared with the golden output beside it (go test
// ./internal/cli -run TestExamples -update rewrites them).
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "tokenhook.yaml"))
	if err != nil || len(dirs) < 6 {
		t.Fatalf("examples: %v %v", dirs, err)
	}
	for _, cfgPath := range dirs {
		dir := filepath.Dir(cfgPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if r := run(t, "", "rules", "check", "--config", cfgPath); r.code != 0 || !strings.HasPrefix(r.stdout, "ok: ") {
				t.Fatalf("rules check: %+v", r)
			}
			users, err := filepath.Glob(filepath.Join(dir, "users.*"))
			if err != nil || len(users) != 1 {
				t.Fatalf("want one users file in %s: %v %v", dir, users, err)
			}
			requests, err := filepath.Glob(filepath.Join(dir, "requests", "*.json"))
			if err != nil || len(requests) < 2 {
				t.Fatalf("want at least two requests in %s: %v %v", dir, requests, err)
			}
			for _, req := range requests {
				name := strings.TrimSuffix(filepath.Base(req), ".json")
				r := run(t, "", "rules", "eval", "--config", cfgPath, "--users", users[0], "--request", req)
				wantCode := 0
				if strings.Contains(r.stdout, "Verdict: DENIED") {
					wantCode = 1
				}
				if r.code != wantCode {
					t.Errorf("%s: exit %d, want %d\n%s%s", name, r.code, wantCode, r.stdout, r.stderr)
				}
				golden := filepath.Join(dir, "golden", name+".txt")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(r.stdout), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if r.stdout != string(want) {
					t.Errorf("%s: output differs from %s:\n--- got\n%s--- want\n%s", name, golden, r.stdout, want)
				}
			}
		})
	}
}

func TestRulesCheckReportsEveryProblem(t *testing.T) {
	cfg := writeFile(t, "tokenhook.yaml", `
rules:
  - name: a
    claim: sub
    value: '"x"'
  - name: b
    claim: x
    value: 'login +'
  - name: c
    token: access
    lifetime: "60"
`)
	r := run(t, "", "rules", "check", "--config", cfg)
	if r.code != 1 {
		t.Fatalf("exit %d: %+v", r.code, r)
	}
	for _, want := range []string{`rule "a": claim "sub" is reserved`, `rule "b": value: ERROR`, `rule "c": lifetime 60 s`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestRulesEvalUsage(t *testing.T) {
	req := filepath.Join("..", "..", "inlinehook", "testdata", "requests", "authorization_code.json")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rules", "eval"}, 2, "--request FILE is required"},
		{[]string{"rules", "eval", "--request", req, "--users", "x.csv", "--store", "memory:"}, 2, "not both"},
		{[]string{"rules", "eval", "--request", "/nonexistent.json", "--store", "memory:"}, 1, "nonexistent"},
		{[]string{"rules", "eval", "--request", req, "--users", "/nonexistent.csv"}, 1, "nonexistent"},
	} {
		if r := run(t, "", tc.args...); r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
	// The JSON report, from the store.
	store := newStore(t)
	if r := run(t, "", "users", "put", "--store", store, "jessie.smith@example.com", "--set", "patientId=1235"); r.code != 0 {
		t.Fatal(r)
	}
	r := run(t, "", "rules", "eval", "--request", req, "--store", store, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"verdict": "applied"`) || !strings.Contains(r.stdout, `"key": "jessie.smith@example.com"`) {
		t.Errorf("json eval: %+v", r)
	}
}
