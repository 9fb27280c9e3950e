package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The project's performance goal for the tokenhook target, at goalConns
// connections with the server on one core.
const (
	goalConns        = 64
	goalRPSOfFixed   = 0.70 // at least this share of the fixed peer's requests/s
	goalP99OfFixed   = 1.5  // p99 at most this multiple of the fixed peer's
	goalRPSOfExpress = 4.0  // at least this multiple of Express's requests/s
)

// environment describes where and how the benchmark ran.
type environment struct {
	date      time.Time
	command   string // the exact command line
	goVersion string
	cpuModel  string
	cpus      int
	kernel    string
	node      string // node --version, or "" when not used
	wrk       string // wrk's version, or "" when not used
	body      string // the request body's file, relative to the module when inside it
	postgres  string // the PostgreSQL server of the tokenhook-pg targets, or ""
}

// report is everything a benchmark produced.
type report struct {
	cfg         config
	env         environment
	generator   string
	runs        []result // every run; see rows and ratiosFor
	unavailable map[string]error
}

// ratios compares a tokenhook target with the peers at one concurrency.
type ratios struct {
	target                   string
	conns                    int
	rpsOfFixed, rpsOfExpress float64 // 0 when a peer is missing
	p99OfFixed               float64
	valid                    bool // every run involved is valid
}

// baselineRatios compares a target with its baseline (the target it differs
// from in one respect) at one concurrency.
type baselineRatios struct {
	target, baseline string
	conns            int
	rps, p50, p99    float64 // the target's over the baseline's
	valid            bool
}

// pairing holds the runs by target, concurrency and round.
type pairing map[pairKey]result

type pairKey struct {
	target       string
	conns, round int
}

func pairRuns(runs []result) pairing {
	p := pairing{}
	for _, r := range runs {
		p[pairKey{r.target, r.conns, r.round}] = r
	}
	return p
}

// ratio is the median over the rounds of f(a's run, b's run) at conns, the
// ratio taken within each round, between runs minutes apart at most: the
// machine's speed drifts more between rounds than the targets differ within
// one. valid is false when a run involved is invalid; ok when a round had
// both targets.
func (p pairing) ratio(runs []result, a, b string, conns int, f func(x, y result) float64) (med float64, valid, ok bool) {
	valid = true
	var xs []float64
	for _, x := range runs {
		if x.target != a || x.conns != conns {
			continue
		}
		valid = valid && x.valid()
		if y, found := p[pairKey{b, conns, x.round}]; found {
			xs = append(xs, f(x, y))
			valid = valid && y.valid()
		}
	}
	return median(xs), valid, len(xs) > 0
}

func rpsRatio(x, y result) float64 { return divide(x.load.rps(), y.load.rps()) }
func p50Ratio(x, y result) float64 { return divide(float64(x.load.p50), float64(y.load.p50)) }
func p99Ratio(x, y result) float64 { return divide(float64(x.load.p99), float64(y.load.p99)) }

// ratiosFor computes each compared target's ratios to the peers per
// concurrency, in the target table's order.
func ratiosFor(runs []result) []ratios {
	p := pairRuns(runs)
	var out []ratios
	for _, t := range targetSpecs() {
		if !t.compared {
			continue
		}
		for _, conns := range levels(runs, t.name) {
			rs := ratios{target: t.name, conns: conns}
			var v1, v2, v3 bool
			rs.rpsOfFixed, v1, _ = p.ratio(runs, t.name, "fixed", conns, rpsRatio)
			rs.p99OfFixed, v2, _ = p.ratio(runs, t.name, "fixed", conns, p99Ratio)
			rs.rpsOfExpress, v3, _ = p.ratio(runs, t.name, "express", conns, rpsRatio)
			rs.valid = v1 && v2 && v3
			out = append(out, rs)
		}
	}
	return out
}

// baselineRatiosFor computes each target's ratios to its baseline, where
// both were measured.
func baselineRatiosFor(runs []result) []baselineRatios {
	p := pairRuns(runs)
	var out []baselineRatios
	for _, t := range targetSpecs() {
		if t.baseline == "" {
			continue
		}
		for _, conns := range levels(runs, t.name) {
			br := baselineRatios{target: t.name, baseline: t.baseline, conns: conns}
			var v1, v2, v3, ok bool
			if br.rps, v1, ok = p.ratio(runs, t.name, t.baseline, conns, rpsRatio); !ok {
				continue
			}
			br.p50, v2, _ = p.ratio(runs, t.name, t.baseline, conns, p50Ratio)
			br.p99, v3, _ = p.ratio(runs, t.name, t.baseline, conns, p99Ratio)
			br.valid = v1 && v2 && v3
			out = append(out, br)
		}
	}
	return out
}

// levels lists the concurrencies at which target ran, in first-run order.
func levels(runs []result, target string) []int {
	var out []int
	for _, r := range runs {
		if r.target == target && !slices.Contains(out, r.conns) {
			out = append(out, r.conns)
		}
	}
	return out
}

// median is the middle value of xs (the upper one of an even count), or 0.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func divide(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// rows returns one row per target and concurrency, the median of its runs,
// ordered by the target table, then by concurrency.
func (rep report) rows() []result {
	order := map[string]int{}
	for i, t := range targetSpecs() {
		order[t.name] = i
	}
	var rows []result
	for _, t := range targetSpecs() {
		for _, conns := range levels(rep.runs, t.name) {
			var same []result
			for _, r := range rep.runs {
				if r.target == t.name && r.conns == conns {
					same = append(same, r)
				}
			}
			rows = append(rows, medianRun(same))
		}
	}
	slices.SortStableFunc(rows, func(a, b result) int {
		if d := order[a.target] - order[b.target]; d != 0 {
			return d
		}
		return a.conns - b.conns
	})
	return rows
}

// measuredSpecs are the table's targets that have runs or were not
// measured, in the table's order.
func (rep report) measuredSpecs() []targetSpec {
	var out []targetSpec
	for _, t := range targetSpecs() {
		_, unavailable := rep.unavailable[t.name]
		if unavailable || slices.ContainsFunc(rep.runs, func(r result) bool { return r.target == t.name }) {
			out = append(out, t)
		}
	}
	return out
}

// hasDB reports whether any row reads a PostgreSQL server.
func (rep report) hasDB() bool {
	return slices.ContainsFunc(rep.runs, func(r result) bool { return r.hasDB })
}

// tableHeader names the results table's columns; withDB adds db CPU.
func tableHeader(conns string, withDB bool) []string {
	h := []string{"target", conns, "req/s", "p50", "p99", "errors", "peak RSS", "srv CPU", "others", "gen CPU"}
	if withDB {
		h = append(h, "db CPU")
	}
	return append(h, "check")
}

// tableCells are one row of the results table.
func tableCells(r result, withDB bool) []string {
	c := []string{r.target, strconv.Itoa(r.conns), fmt.Sprintf("%.0f", r.load.rps()),
		fmtLatency(r.load.p50), fmtLatency(r.load.p99), strconv.FormatInt(r.load.errors(), 10),
		fmtRSS(r.peakRSSKiB), fmtShare(r.serverCPU, r.load.elapsed),
		fmtShare(r.otherCPU, r.load.elapsed), fmtShare(r.load.genCPU, r.load.elapsed)}
	if withDB {
		db := "–"
		if r.hasDB {
			db = fmtShare(r.dbCPU, r.load.elapsed)
		}
		c = append(c, db)
	}
	return append(c, validity(r))
}

// writeText prints the results table and tokenhook's ratios for a terminal.
func (rep report) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	withDB := rep.hasDB()
	fmt.Fprintln(tw, strings.Join(tableHeader("conns", withDB), "\t")+"\t")
	for _, r := range rep.rows() {
		fmt.Fprintln(tw, strings.Join(tableCells(r, withDB), "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	rep.writeProblems(w, "")
	if rs := ratiosFor(rep.runs); len(rs) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "tokenhook relative to the peers (each ratio taken within a round, median over the rounds):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\tconns\treq/s vs fixed\treq/s vs express\tp99 vs fixed\t")
		for _, r := range rs {
			note := ""
			if !r.valid {
				note = "(invalid rows)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.target, r.conns, fmtRatio(r.rpsOfFixed), fmtRatio(r.rpsOfExpress),
				fmtRatio(r.p99OfFixed), note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, v := range goalVerdicts(rs) {
			fmt.Fprintln(w, v)
		}
	}
	if bs := baselineRatiosFor(rep.runs); len(bs) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "each variant relative to the one it differs from in one respect (within a round, median over the rounds):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\tvs\tconns\treq/s\tp50\tp99\t")
		for _, b := range bs {
			note := ""
			if !b.valid {
				note = "(invalid rows)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", b.target, b.baseline, b.conns, fmtRatio(b.rps), fmtRatio(b.p50), fmtRatio(b.p99), note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// writeProblems lists invalid rows and unavailable targets, each line
// prefixed with bullet.
func (rep report) writeProblems(w io.Writer, bullet string) {
	for _, r := range rep.rows() {
		for _, p := range r.problems {
			fmt.Fprintf(w, "%s%s at %d connections: %s\n", bullet, r.target, r.conns, oneLine(p))
		}
		if r.load.errors() > 0 {
			fmt.Fprintf(w, "%s%s at %d connections: %d failed requests (%d status >= 400 or != 200, %d socket errors)\n",
				bullet, r.target, r.conns, r.load.errors(), r.load.statusErrors, r.load.socketErrors)
		}
	}
	for _, t := range targetSpecs() {
		if err, ok := rep.unavailable[t.name]; ok {
			fmt.Fprintf(w, "%s%s not measured: %s\n", bullet, t.name, oneLine(err.Error()))
		}
	}
}

// goalVerdicts states, for each target of the table with goal set that was
// measured, whether it meets the project's goal at goalConns.
func goalVerdicts(rs []ratios) []string {
	var out []string
	for _, t := range targetSpecs() {
		if !t.goal || !slices.ContainsFunc(rs, func(r ratios) bool { return r.target == t.name }) {
			continue
		}
		out = append(out, goalVerdict(t.name, rs))
	}
	return out
}

// goalVerdict states whether target meets the project's goal at goalConns.
func goalVerdict(target string, rs []ratios) string {
	i := slices.IndexFunc(rs, func(r ratios) bool { return r.target == target && r.conns == goalConns })
	if i < 0 {
		return fmt.Sprintf("goal of %s (at %d connections): not measured", target, goalConns)
	}
	r := rs[i]
	check := func(ok bool, have bool) string {
		switch {
		case !have:
			return "n/a"
		case ok:
			return "met"
		default:
			return "NOT met"
		}
	}
	verdict := fmt.Sprintf("goal of %s at %d connections: rps >= %.2f x fixed: %s; p99 <= %.1f x fixed: %s; rps >= %.0f x express: %s",
		target, goalConns,
		goalRPSOfFixed, check(r.rpsOfFixed >= goalRPSOfFixed, r.rpsOfFixed > 0),
		goalP99OfFixed, check(r.p99OfFixed <= goalP99OfFixed, r.p99OfFixed > 0),
		goalRPSOfExpress, check(r.rpsOfExpress >= goalRPSOfExpress, r.rpsOfExpress > 0))
	if !r.valid {
		verdict += " (some rows invalid: not a valid comparison)"
	}
	return verdict
}

// writeMarkdown writes the results as a section for docs/performance.md.
func (rep report) writeMarkdown(w io.Writer) error {
	e := rep.env
	var b strings.Builder
	fmt.Fprintf(&b, "## Load benchmark, %s\n\n", e.date.Format("2006-01-02"))
	fmt.Fprintf(&b, "Command: `%s`\n\n", e.command)
	fmt.Fprintf(&b, "- Machine: %s, %d CPUs, Linux %s; Go %s", e.cpuModel, e.cpus, e.kernel, e.goVersion)
	if e.node != "" {
		fmt.Fprintf(&b, "; Node %s", e.node)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- Each target runs alone, pinned to CPU %d (Go targets with GOMAXPROCS=1); the load generator (%s",
		rep.cfg.serverCPU, rep.generator)
	if e.wrk != "" {
		fmt.Fprintf(&b, " %s, one thread", e.wrk)
	}
	fmt.Fprintf(&b, ") is pinned to CPU %d. Loopback only; closed loop over keep-alive connections.\n", rep.cfg.genCPU)
	fmt.Fprintf(&b, "- Each row: a fresh target process, a %s warm-up, then %s measured. Request: `%s` (%d bytes), Basic auth; every target must answer 200 with the same patch before and after the load, or the row is marked invalid.\n",
		rep.cfg.warmup, rep.cfg.duration, e.body, rep.cfg.bodySize)
	b.WriteString("- Targets:")
	for i, t := range rep.measuredSpecs() {
		sep := ";"
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s `%s` (%s)", sep, t.name, t.about)
	}
	b.WriteString(".")
	if e.postgres != "" {
		fmt.Fprintf(&b, " The tokenhook-pg targets' server: %s.", e.postgres)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- Targets and generator run at niceness %d. Each row is the median by requests/s of %d run(s).\n", rep.cfg.nice, rep.cfg.runs)
	fmt.Fprintf(&b, "- Peak RSS is the target process's VmHWM; srv CPU is the target's CPU time over the measured run (100 %% = the whole core); others is CPU time other processes took on the target's core meanwhile (rows above %.0f %% are marked noisy); gen CPU is the generator's CPU time (rows where it is at least 90 %% while the target's is below are marked gen-bound: the generator, not the target, was the limit).", 100*noisyShare)
	if rep.hasDB() {
		b.WriteString(" db CPU is the CPU time of the PostgreSQL server's processes over the measured run, when loadbench runs the server (else ?).")
	}
	b.WriteString("\n\n")

	withDB := rep.hasDB()
	header := tableHeader("connections", withDB)
	header[2] = "requests/s"
	align := []string{"---"}
	for range header[1 : len(header)-1] {
		align = append(align, "--:")
	}
	align = append(align, "---")
	fmt.Fprintf(&b, "| %s |\n|%s|\n", strings.Join(header, " | "), strings.Join(align, "|"))
	for _, r := range rep.rows() {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(tableCells(r, withDB), " | "))
	}
	if rs := ratiosFor(rep.runs); len(rs) > 0 {
		b.WriteString("\ntokenhook relative to the peers (each ratio taken within a round, median over the rounds):\n\n")
		b.WriteString("| target | connections | requests/s vs fixed | requests/s vs express | p99 vs fixed |\n|---|--:|--:|--:|--:|\n")
		for _, r := range rs {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", r.target, r.conns, fmtRatio(r.rpsOfFixed), fmtRatio(r.rpsOfExpress), fmtRatio(r.p99OfFixed))
		}
		b.WriteString("\n")
		for _, v := range goalVerdicts(rs) {
			fmt.Fprintf(&b, "- %s.\n", strings.ToUpper(v[:1])+v[1:])
		}
	}
	if bs := baselineRatiosFor(rep.runs); len(bs) > 0 {
		b.WriteString("\nEach variant relative to the one it differs from in one respect (within a round, median over the rounds):\n\n")
		b.WriteString("| target | relative to | connections | requests/s | p50 | p99 |\n|---|---|--:|--:|--:|--:|\n")
		for _, br := range bs {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", br.target, br.baseline, br.conns, fmtRatio(br.rps), fmtRatio(br.p50), fmtRatio(br.p99))
		}
	}
	var problems strings.Builder
	rep.writeProblems(&problems, "- ")
	if problems.Len() > 0 {
		b.WriteString("\nProblems:\n\n")
		b.WriteString(problems.String())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func validity(r result) string {
	switch {
	case !r.valid():
		return "INVALID"
	case r.noisy():
		return "noisy"
	case r.genBound():
		return "gen-bound"
	}
	return "ok"
}

func fmtLatency(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

func fmtRSS(kib int64) string {
	if kib <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

func fmtShare(cpu, wall time.Duration) string {
	if cpu < 0 || wall <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f%%", 100*cpu.Seconds()/wall.Seconds())
}

func fmtRatio(x float64) string {
	if x == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", x)
}

func problemSuffix(r result) string {
	if v := validity(r); v != "ok" {
		return "  " + v
	}
	return ""
}

// oneLine squeezes a multi-line message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
