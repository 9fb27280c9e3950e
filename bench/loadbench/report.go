package main

import (
	"fmt"
	"io"
	"slices"
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
}

// report is everything a benchmark produced.
type report struct {
	cfg         config
	env         environment
	generator   string
	runs        []result // every run; see rows and ratiosFor
	unavailable map[string]error
}

// ratios compares tokenhook with the peers at one concurrency.
type ratios struct {
	conns                    int
	rpsOfFixed, rpsOfExpress float64 // 0 when a peer is missing
	p99OfFixed               float64
	valid                    bool // every run involved is valid
}

// ratiosFor computes tokenhook's ratios to the peers per concurrency. Each
// ratio is computed within a round, between runs measured minutes apart at
// most, and the median over the rounds is reported: the machine's speed
// drifts more between rounds than the targets differ within one.
func ratiosFor(runs []result) []ratios {
	type key struct {
		target       string
		conns, round int
	}
	byKey := map[key]result{}
	for _, r := range runs {
		byKey[key{r.target, r.conns, r.round}] = r
	}
	var out []ratios
	for _, conns := range levels(runs, "tokenhook") {
		rs := ratios{conns: conns, valid: true}
		var ofFixed, ofExpress, p99s []float64
		for _, th := range runs {
			if th.target != "tokenhook" || th.conns != conns {
				continue
			}
			rs.valid = rs.valid && th.valid()
			if f, ok := byKey[key{"fixed", conns, th.round}]; ok {
				ofFixed = append(ofFixed, divide(th.load.rps(), f.load.rps()))
				p99s = append(p99s, divide(float64(th.load.p99), float64(f.load.p99)))
				rs.valid = rs.valid && f.valid()
			}
			if e, ok := byKey[key{"express", conns, th.round}]; ok {
				ofExpress = append(ofExpress, divide(th.load.rps(), e.load.rps()))
				rs.valid = rs.valid && e.valid()
			}
		}
		rs.rpsOfFixed, rs.rpsOfExpress, rs.p99OfFixed = median(ofFixed), median(ofExpress), median(p99s)
		out = append(out, rs)
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

// writeText prints the results table and tokenhook's ratios for a terminal.
func (rep report) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tconns\treq/s\tp50\tp99\terrors\tpeak RSS\tsrv CPU\tothers\tgen CPU\tcheck\t")
	for _, r := range rep.rows() {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n",
			r.target, r.conns, r.load.rps(), fmtLatency(r.load.p50), fmtLatency(r.load.p99),
			r.load.errors(), fmtRSS(r.peakRSSKiB), fmtShare(r.serverCPU, r.load.elapsed),
			fmtShare(r.otherCPU, r.load.elapsed), fmtShare(r.load.genCPU, r.load.elapsed), validity(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	rep.writeProblems(w, "")
	if rs := ratiosFor(rep.runs); len(rs) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "tokenhook relative to the peers (each ratio taken within a round, median over the rounds):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "conns\treq/s vs fixed\treq/s vs express\tp99 vs fixed\t")
		for _, r := range rs {
			note := ""
			if !r.valid {
				note = "(invalid rows)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.conns, fmtRatio(r.rpsOfFixed), fmtRatio(r.rpsOfExpress),
				fmtRatio(r.p99OfFixed), note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w, goalVerdict(rs))
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

// goalVerdict states whether tokenhook meets the project's goal at goalConns.
func goalVerdict(rs []ratios) string {
	i := slices.IndexFunc(rs, func(r ratios) bool { return r.conns == goalConns })
	if i < 0 {
		return fmt.Sprintf("goal (at %d connections): not measured", goalConns)
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
	verdict := fmt.Sprintf("goal at %d connections: rps >= %.2f x fixed: %s; p99 <= %.1f x fixed: %s; rps >= %.0f x express: %s",
		goalConns,
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
	fmt.Fprintf(&b, "- Targets and generator run at niceness %d. Each row is the median by requests/s of %d run(s).\n", rep.cfg.nice, rep.cfg.runs)
	fmt.Fprintf(&b, "- Peak RSS is the target process's VmHWM; srv CPU is the target's CPU time over the measured run (100 %% = the whole core); others is CPU time other processes took on the target's core meanwhile (rows above %.0f %% are marked noisy); gen CPU is the generator's CPU time (rows where it is at least 90 %% while the target's is below are marked gen-bound: the generator, not the target, was the limit).\n\n", 100*noisyShare)

	b.WriteString("| target | connections | requests/s | p50 | p99 | errors | peak RSS | srv CPU | others | gen CPU | check |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, r := range rep.rows() {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %d | %s | %s | %s | %s | %s |\n",
			r.target, r.conns, r.load.rps(), fmtLatency(r.load.p50), fmtLatency(r.load.p99),
			r.load.errors(), fmtRSS(r.peakRSSKiB), fmtShare(r.serverCPU, r.load.elapsed),
			fmtShare(r.otherCPU, r.load.elapsed), fmtShare(r.load.genCPU, r.load.elapsed), validity(r))
	}
	if rs := ratiosFor(rep.runs); len(rs) > 0 {
		b.WriteString("\ntokenhook relative to the peers (each ratio taken within a round, median over the rounds):\n\n")
		b.WriteString("| connections | requests/s vs fixed | requests/s vs express | p99 vs fixed |\n|--:|--:|--:|--:|\n")
		for _, r := range rs {
			fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", r.conns, fmtRatio(r.rpsOfFixed), fmtRatio(r.rpsOfExpress), fmtRatio(r.p99OfFixed))
		}
		fmt.Fprintf(&b, "\n%s.\n", strings.ToUpper(goalVerdict(rs)[:1])+goalVerdict(rs)[1:])
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
