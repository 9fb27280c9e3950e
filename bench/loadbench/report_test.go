package main

import (
	"strings"
	"testing"
	"time"
)

func row(target string, conns int, requests int64, p99 time.Duration) result {
	return result{target: target, conns: conns, round: 1, load: loadResult{requests: requests, elapsed: time.Second, p50: p99 / 2, p99: p99}}
}

func TestRatiosAndGoal(t *testing.T) {
	results := []result{
		row("fixed", 64, 40000, 4*time.Millisecond),
		row("express", 64, 5000, 40*time.Millisecond),
		row("tokenhook", 64, 30000, 5*time.Millisecond),
	}
	rs := ratiosFor(results)
	if len(rs) != 1 {
		t.Fatalf("ratiosFor = %+v, want one level", rs)
	}
	r := rs[0]
	if r.rpsOfFixed != 0.75 || r.rpsOfExpress != 6 || r.p99OfFixed != 1.25 || !r.valid {
		t.Errorf("ratios = %+v, want 0.75, 6, 1.25, valid", r)
	}
	if v := goalVerdict("tokenhook", rs); strings.Contains(v, "NOT") || strings.Contains(v, "invalid") {
		t.Errorf("goalVerdict = %q, want all met", v)
	}

	results[2].problems = []string{"pre-flight: status 204"}
	rs = ratiosFor(results)
	if rs[0].valid || !strings.Contains(goalVerdict("tokenhook", rs), "invalid") {
		t.Errorf("a tokenhook row with a failed check must make the comparison invalid: %+v", rs[0])
	}
}

func TestErrorsMakeRowInvalid(t *testing.T) {
	r := row("tokenhook", 1, 100, time.Millisecond)
	if !r.valid() {
		t.Fatal("clean row is not valid")
	}
	r.load.statusErrors = 1
	if r.valid() {
		t.Error("row with a failed request is valid")
	}
	if r := row("fixed", 1, 0, 0); r.valid() {
		t.Error("row without requests is valid")
	}
}

func TestCompareReply(t *testing.T) {
	spaced := `{ "commands": [ { "value": [ { "value": "1235", "path": "/claims/patientId", "op": "add" } ], "type": "com.okta.identity.patch" } ] }`
	if err := compareReply(200, []byte(spaced)); err != nil {
		t.Errorf("equivalent reply rejected: %v", err)
	}
	if err := compareReply(204, nil); err == nil {
		t.Error("204 accepted")
	}
	if err := compareReply(200, []byte(strings.Replace(expectedReply, "1235", "6789", 1))); err == nil {
		t.Error("wrong patient accepted")
	}
}

func TestMarkdownHasTablesAndEnvironment(t *testing.T) {
	rep := report{
		cfg:       config{duration: 10 * time.Second, warmup: 2 * time.Second, genCPU: 1, bodySize: 4461},
		env:       environment{date: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), command: "go run ./bench/loadbench", goVersion: "1.27.0", cpuModel: "AMD EPYC", cpus: 2, kernel: "6.1"},
		generator: "wrk",
		runs: []result{
			row("tokenhook", 64, 30000, 5*time.Millisecond),
			row("fixed", 64, 40000, 4*time.Millisecond),
		},
	}
	var b strings.Builder
	if err := rep.writeMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"## Load benchmark, 2026-03-01", "`go run ./bench/loadbench`", "AMD EPYC", "Go 1.27.0",
		"| fixed | 64 | 40000 |", "| tokenhook | 64 | 0.75x | n/a | 1.25x |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "| fixed |") > strings.Index(md, "| tokenhook |") {
		t.Error("rows are not in the target table's order")
	}
}

func TestParseConns(t *testing.T) {
	got, err := parseConns("1, 16,64")
	if err != nil || len(got) != 3 || got[2] != 64 {
		t.Errorf("parseConns = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "x", "2000"} {
		if _, err := parseConns(bad); err == nil {
			t.Errorf("parseConns(%q) succeeded", bad)
		}
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote("-c=1,16,64"); got != "-c=1,16,64" {
		t.Errorf("shellQuote = %s", got)
	}
	if got := shellQuote("it's here"); got != `'it'\''s here'` {
		t.Errorf("shellQuote = %s", got)
	}
}

func TestMedianRun(t *testing.T) {
	runs := []result{
		row("fixed", 64, 30000, 3*time.Millisecond),
		row("fixed", 64, 10000, 9*time.Millisecond),
		row("fixed", 64, 20000, 5*time.Millisecond),
	}
	med := medianRun(runs)
	if med.load.requests != 20000 || med.runs != 3 || !med.valid() {
		t.Errorf("medianRun = %+v, want the 20000-request run, valid", med)
	}
	runs[0].load.socketErrors = 2
	runs[1].problems = []string{"post-flight: status 500"}
	med = medianRun(runs)
	if med.load.requests != 20000 || med.valid() || len(med.problems) != 2 {
		t.Errorf("medianRun must carry other runs' failures: %+v", med)
	}
}

func TestRatiosArePairedByRound(t *testing.T) {
	var runs []result
	add := func(round int, target string, requests int64) {
		r := row(target, 64, requests, time.Duration(requests)) // p99 in proportion
		r.round = round
		runs = append(runs, r)
	}
	// The machine is twice as fast in round 2: ratios within each round are
	// 0.5, and so is their median, whatever the medians of the rows.
	add(1, "fixed", 20000)
	add(1, "tokenhook", 10000)
	add(2, "fixed", 40000)
	add(2, "tokenhook", 20000)
	add(3, "fixed", 21000)
	add(3, "tokenhook", 10500)
	rs := ratiosFor(runs)
	if len(rs) != 1 || rs[0].rpsOfFixed != 0.5 || rs[0].p99OfFixed != 0.5 {
		t.Errorf("ratiosFor = %+v, want 0.5 and 0.5", rs)
	}
	rows := report{runs: runs}.rows()
	if len(rows) != 2 || rows[0].target != "fixed" || rows[0].load.requests != 21000 || rows[0].runs != 3 {
		t.Errorf("rows = %+v, want the median fixed run (21000) first", rows)
	}
}

func TestGenBound(t *testing.T) {
	r := row("fixed", 64, 40000, time.Millisecond)
	r.load.genCPU, r.serverCPU = 950*time.Millisecond, 700*time.Millisecond
	if !r.genBound() || validity(r) != "gen-bound" {
		t.Errorf("generator at 95%%, server at 70%%: genBound false")
	}
	r.serverCPU = 990 * time.Millisecond
	if r.genBound() || validity(r) != "ok" {
		t.Errorf("server saturated: genBound true")
	}
}

func TestDBColumnOnlyWithPostgres(t *testing.T) {
	pg := row("tokenhook-pg-1k", 64, 8000, 10*time.Millisecond)
	pg.hasDB, pg.dbCPU = true, 400*time.Millisecond
	rep := report{cfg: config{runs: 1}, runs: []result{row("fixed", 64, 40000, 4*time.Millisecond), pg}}
	var b strings.Builder
	if err := rep.writeMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"| gen CPU | db CPU | check |", "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
		"| 40% | ok |", "| – | ok |", "db CPU is the CPU time of the PostgreSQL server"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	rep.runs = rep.runs[:1]
	b.Reset()
	if err := rep.writeText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "db CPU") {
		t.Errorf("db CPU column without a PostgreSQL target:\n%s", b.String())
	}
}
