package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTargetTable(t *testing.T) {
	specs := targetSpecs()
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.name] {
			t.Errorf("target %q twice", s.name)
		}
		seen[s.name] = true
		if s.prepare == nil || s.hookPath == "" || s.about == "" {
			t.Errorf("%s: incomplete spec %+v", s.name, s)
		}
		if strings.HasPrefix(s.name, "tokenhook") != s.compared {
			t.Errorf("%s: compared = %v; every tokenhook target, and only those, gets ratios to the peers", s.name, s.compared)
		}
		if s.baseline != "" {
			b, ok := specByName(s.baseline)
			if !ok || !b.compared {
				t.Errorf("%s: baseline %q is not a tokenhook target of the table", s.name, s.baseline)
			}
		}
	}
	for _, name := range append(splitList(defaultTargets),
		"tokenhook-sqlite-1k", "tokenhook-sqlite-1m", "tokenhook-pg-1k", "tokenhook-pg-1m", "tokenhook-20rules") {
		if !seen[name] {
			t.Errorf("no target %q", name)
		}
	}
	if got := splitList(defaultTargets); !slices.Equal(got, []string{"fixed", "express", "tokenhook"}) {
		t.Errorf("default targets %q", got)
	}
}

// launch prepares nothing: it returns the command a tokenhook target's
// launcher would give for v with the given store.
func launch(v tokenhookVariant, store, config string) command {
	return command{argv: v.serveArgv("/scratch/tokenhook", 40123, config), env: v.env(store)}
}

func TestTokenhookCommandLines(t *testing.T) {
	def := launch(tokenhookVariant{store: "sqlite"}, "sqlite:/scratch/t.db", "")
	wantArgv := []string{"/scratch/tokenhook", "serve", "--listen", "127.0.0.1:40123", "--log-level", "warn"}
	if !slices.Equal(def.argv, wantArgv) {
		t.Errorf("default argv %q, want %q", def.argv, wantArgv)
	}
	for _, want := range []string{"GOMAXPROCS=1", "TOKENHOOK_STORE=sqlite:/scratch/t.db", "TOKENHOOK_AUTH_BASIC_USERNAME=admin", "TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret"} {
		if !slices.Contains(def.env, want) {
			t.Errorf("default env %q lacks %s", def.env, want)
		}
	}
	if slices.ContainsFunc(def.env, func(e string) bool { return strings.HasPrefix(e, "TOKENHOOK_CACHE") }) {
		t.Errorf("the production default must keep the default cache: %q", def.env)
	}

	dsn := "postgres://bench:s3cret@db:5432/loadbench_1_x"
	pg := launch(tokenhookVariant{store: "postgres", users: manyUsers, cacheOff: true}, dsn, "")
	if !slices.Contains(pg.env, "TOKENHOOK_CACHE_ENABLED=false") {
		t.Errorf("store-path variant keeps its cache: %q", pg.env)
	}
	if strings.Contains(strings.Join(pg.argv, " "), "s3cret") {
		t.Errorf("the DSN's password is on the command line: %q", pg.argv)
	}

	rules := launch(tokenhookVariant{store: "sqlite", users: fewUsers, manyRules: true}, "sqlite:x", "/scratch/r.yaml")
	if got := rules.argv[len(rules.argv)-2:]; !slices.Equal(got, []string{"--config", "/scratch/r.yaml"}) {
		t.Errorf("20-rules argv %q", rules.argv)
	}
}

func TestVariantsDifferInOneRespect(t *testing.T) {
	// What each target's baseline is for: the report's "relative to" table
	// reads as one difference per row.
	variants := map[string]tokenhookVariant{}
	for _, v := range []struct {
		name string
		v    tokenhookVariant
	}{
		{"tokenhook", tokenhookVariant{store: "sqlite"}},
		{"tokenhook-sqlite-1k", tokenhookVariant{store: "sqlite", users: fewUsers, cacheOff: true}},
		{"tokenhook-sqlite-1m", tokenhookVariant{store: "sqlite", users: manyUsers, cacheOff: true}},
		{"tokenhook-pg-1k", tokenhookVariant{store: "postgres", users: fewUsers, cacheOff: true}},
		{"tokenhook-pg-1m", tokenhookVariant{store: "postgres", users: manyUsers, cacheOff: true}},
		{"tokenhook-20rules", tokenhookVariant{store: "sqlite", users: fewUsers, manyRules: true}},
	} {
		variants[v.name] = v.v
		s, _ := specByName(v.name)
		if s.about != v.v.describe() {
			t.Errorf("%s is %q, want %q", v.name, s.about, v.v.describe())
		}
	}
	for _, s := range targetSpecs() {
		if s.baseline == "" {
			continue
		}
		a, b := variants[s.name], variants[s.baseline]
		diffs := 0
		if a.store != b.store {
			diffs++
		}
		if a.users != b.users && !(a.users == fewUsers && b.users == 0) { // 1 000 generated ≈ the 1 003 of users.csv
			diffs++
		}
		if a.cacheOff != b.cacheOff {
			diffs++
		}
		if a.manyRules != b.manyRules {
			diffs++
		}
		if diffs != 1 {
			t.Errorf("%s vs its baseline %s: %d differences, want 1", s.name, s.baseline, diffs)
		}
	}
}

func TestSelectTargets(t *testing.T) {
	all, err := selectTargets(targetSpecs(), []string{"all"})
	if err != nil || len(all) != len(targetSpecs()) {
		t.Fatalf("all: %d targets, %v", len(all), err)
	}
	got, err := selectTargets(targetSpecs(), []string{"tokenhook-pg-1m", "fixed"})
	if err != nil || len(got) != 2 || got[0].name != "fixed" {
		t.Errorf("selection not in the table's order: %v, %v", got, err)
	}
	if _, err := selectTargets(targetSpecs(), []string{"tokenhook-mysql"}); err == nil || !strings.Contains(err.Error(), "tokenhook-pg-1k") {
		t.Errorf("unknown target: %v, want an error listing the known ones", err)
	}
}

func TestWriteUsersCSV(t *testing.T) {
	var b bytes.Buffer
	if err := writeUsersCSV(&b, 3); err != nil {
		t.Fatal(err)
	}
	want := "login,patientId\njessie.smith@example.com,1235\nuser0000001@example.com,100001\nuser0000002@example.com,100002\n"
	if b.String() != want {
		t.Errorf("3 users:\n%s\nwant\n%s", b.String(), want)
	}
	if err := writeUsersCSV(io.Discard, 0); err == nil {
		t.Error("no users: the patient is missing, want an error")
	}
}

func TestWriteUsersCSVMillionIsDeterministic(t *testing.T) {
	sum := func() ([32]byte, int) {
		var b bytes.Buffer
		if err := writeUsersCSV(&b, manyUsers); err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(b.Bytes(), []byte("\n"))
		last := b.Bytes()[bytes.LastIndexByte(b.Bytes()[:b.Len()-1], '\n')+1:]
		if string(last) != "user0999999@example.com,1099999\n" {
			t.Errorf("last line %q", last)
		}
		return sha256.Sum256(b.Bytes()), lines
	}
	a, lines := sum()
	if lines != manyUsers+1 {
		t.Errorf("%d lines, want a header and %d users", lines, manyUsers)
	}
	if b, _ := sum(); a != b {
		t.Error("two runs wrote different files")
	}
}

func TestGroupDigits(t *testing.T) {
	for n, want := range map[int]string{7: "7", 1000: "1 000", 1_000_000: "1 000 000", 100_000: "100 000"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestOnce(t *testing.T) {
	w := newWorkspace("/m", "/tmp/x", config{})
	calls := 0
	fn := func() (string, error) { calls++; return "v", errors.New("e") }
	for range 2 {
		if v, err := w.once("k", fn); v != "v" || err == nil {
			t.Errorf("once = %q, %v", v, err)
		}
	}
	if calls != 1 {
		t.Errorf("fn ran %d times, want once", calls)
	}
	var order []int
	w.atExit(func() { order = append(order, 1) })
	w.atExit(func() { order = append(order, 2) })
	w.cleanup()
	w.cleanup()
	if !slices.Equal(order, []int{2, 1}) {
		t.Errorf("cleanups ran %v, want [2 1] once", order)
	}
}

func TestParseFlags(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("the defaults need two CPUs")
	}
	noEnv := func(string) string { return "" }
	cfg, err := parseFlags([]string{"-nice=0"}, "/m", noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.targets, []string{"fixed", "express", "tokenhook"}) || cfg.postgres != "" ||
		!slices.Equal(cfg.conns, []int{1, 16, 64}) || cfg.duration != 10*time.Second || cfg.usersCSV != "/m/bench/testdata/users.csv" {
		t.Errorf("defaults: %+v", cfg)
	}

	env := func(k string) string {
		if k == envPostgres {
			return "postgres://bench@db.internal:5432/postgres"
		}
		return ""
	}
	cfg, err = parseFlags([]string{"-nice=0", "-targets", "all", "-c", "64", "-runs", "3", "-d", "8s"}, "/m", env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.postgres != "postgres://bench@db.internal:5432/postgres" || !slices.Equal(cfg.targets, []string{"all"}) || cfg.runs != 3 {
		t.Errorf("-targets all with $%s: %+v", envPostgres, cfg)
	}
	cfg, err = parseFlags([]string{"-nice=0", "-postgres", "postgresql://other/db"}, "/m", env, io.Discard)
	if err != nil || cfg.postgres != "postgresql://other/db" {
		t.Errorf("-postgres must win over $%s: %q, %v", envPostgres, cfg.postgres, err)
	}

	for _, bad := range [][]string{
		{"-targets", "fixed,tokenhook-mysql"},
		{"-postgres", "host=db user=bench"},
		{"-postgres", "mysql://db/x"},
		{"-c", "0"},
		{"-runs", "10"},
	} {
		if _, err := parseFlags(append([]string{"-nice=0"}, bad...), "/m", noEnv, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}

func TestRedactArgs(t *testing.T) {
	args := []string{"-targets", "all", "-postgres", "postgres://bench:s3cret@db/postgres", "--postgres=postgres://u:pw@h/d", "-c", "64"}
	got := strings.Join(redactArgs(args), " ")
	if strings.Contains(got, "s3cret") || strings.Contains(got, ":pw@") {
		t.Errorf("password shown: %s", got)
	}
	for _, want := range []string{"-postgres postgres://bench:xxxxx@db/postgres", "--postgres=postgres://u:xxxxx@h/d", "-targets all", "-c 64"} {
		if !strings.Contains(got, want) {
			t.Errorf("redactArgs = %s, want %s in it", got, want)
		}
	}
	if args[3] != "postgres://bench:s3cret@db/postgres" {
		t.Error("redactArgs changed its argument")
	}
}

func TestPostgresNames(t *testing.T) {
	got, err := withDatabase("postgres://app@127.0.0.1:5433/postgres?sslmode=disable", "loadbench_7_tokenhook_pg_1k")
	if err != nil || got != "postgres://app@127.0.0.1:5433/loadbench_7_tokenhook_pg_1k?sslmode=disable" {
		t.Errorf("withDatabase = %q, %v", got, err)
	}
	if name := pgDatabaseName("tokenhook-pg-1m"); !strings.HasPrefix(name, "loadbench_") || !strings.HasSuffix(name, "_tokenhook_pg_1m") {
		t.Errorf("pgDatabaseName = %q", name)
	}
	for _, bad := range []string{"", "dbname=x", "postgres:///x", "http://h/x"} {
		if checkPostgresURL(bad) == nil {
			t.Errorf("checkPostgresURL(%q) accepted", bad)
		}
	}
}

func TestBaselineRatios(t *testing.T) {
	runs := []result{
		row("tokenhook-sqlite-1k", 64, 10000, 6*time.Millisecond),
		row("tokenhook-sqlite-1m", 64, 9500, 6*time.Millisecond),
		row("tokenhook-pg-1m", 64, 5000, 12*time.Millisecond), // its baseline pg-1k was not measured
	}
	bs := baselineRatiosFor(runs)
	if len(bs) != 1 {
		t.Fatalf("baselineRatiosFor = %+v, want only sqlite-1m vs sqlite-1k", bs)
	}
	if b := bs[0]; b.target != "tokenhook-sqlite-1m" || b.baseline != "tokenhook-sqlite-1k" || b.rps != 0.95 || b.p99 != 1 || !b.valid {
		t.Errorf("baseline ratios %+v, want 0.95 and 1, valid", b)
	}
	// Every tokenhook variant gets its ratios to the peers.
	if rs := ratiosFor(runs); len(rs) != 3 {
		t.Errorf("ratiosFor = %+v, want one per tokenhook target", rs)
	}
}
