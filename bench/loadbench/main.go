// Command loadbench measures the tokenhook server against two peers, side by
// side, on loopback:
//
//   - fixed: a Go net/http handler that returns the hook's reply without
//     reading the request (bench/peers/fixed), the ceiling for any Go hook;
//   - express: Okta's token inline hook guide sample in Node/Express
//     (bench/peers/express), what people would otherwise run;
//   - tokenhook: `tokenhook serve` with a SQLite store of imported users,
//     and variants of it: SQLite and PostgreSQL stores of a thousand and a
//     million users with the cache off, and a configuration of 20 rules.
//
// Every target gets a fresh process per concurrency level, pinned to one CPU
// (GOMAXPROCS=1 for Go), and must answer the benchmark request with the right
// patch before and after the load. The load generator, wrk (one thread) when
// installed or a built-in closed-loop Go generator, is pinned to another CPU.
// loadbench prints requests/s, p50, p99, errors and peak RSS per target and
// concurrency, tokenhook's ratios to the peers, and with -markdown writes the
// same as a section for docs/performance.md.
//
// Run it from the module:
//
//	go run ./bench/loadbench -targets=fixed,express,tokenhook -c 1,16,64 -d 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the benchmark's settings, from the command line.
type config struct {
	targets   []string
	conns     []int
	duration  time.Duration
	warmup    time.Duration
	gen       string // "wrk", "go", or "" for wrk when installed
	markdown  string // file to write the markdown section to
	bodyFile  string
	bodySize  int
	usersCSV  string
	postgres  string // URL of a PostgreSQL server; "" for a throwaway cluster
	serverCPU int
	genCPU    int
	nice      int  // scheduling niceness of targets and generator
	runs      int  // repetitions of each run; the median is reported
	keep      bool // keep the scratch directory
}

// Bounds that keep every run short on a shared machine.
const (
	maxDuration = 2 * time.Minute
	maxConns    = 1024
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if len(os.Args) > 1 && os.Args[1] == workerCommand {
		err = runGoWorker(ctx, os.Stdin, os.Stdout)
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// run is the whole benchmark: parse flags, prepare targets, measure, report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	cfg, err := parseFlags(args, root, os.Getenv, stderr)
	if err != nil {
		return err
	}
	specs, err := selectTargets(targetSpecs(), cfg.targets)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(cfg.bodyFile)
	if err != nil {
		return err
	}
	cfg.bodySize = len(body)

	tmp, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer func() {
		if cfg.keep || err != nil {
			fmt.Fprintf(stderr, "scratch directory (logs, binaries) kept: %s\n", tmp)
			return
		}
		os.RemoveAll(tmp)
	}()

	gen, err := pickGenerator(cfg, tmp)
	if err != nil {
		return err
	}
	ws := newWorkspace(root, tmp, cfg)
	defer ws.cleanup() // before the scratch directory goes
	b := newBench(cfg, ws, gen, body, stderr)
	ready, unavailable := b.prepareAll(ctx, specs)
	if len(ready) == 0 {
		return errors.New("no target could be prepared")
	}

	fmt.Fprintf(stderr, "measuring with %s: servers on CPU %d, generator on CPU %d, niceness %d, %s warm-up + %s per run, %d run(s) each\n",
		gen.name(), cfg.serverCPU, cfg.genCPU, cfg.nice, cfg.warmup, cfg.duration, cfg.runs)
	runs, runErr := b.runAll(ctx, ready)

	rep := report{cfg: cfg, env: describeEnvironment(ctx, cfg, root, args, ready, gen, ws), generator: gen.name(),
		runs: runs, unavailable: unavailable}
	if err := rep.writeText(stdout); err != nil {
		return err
	}
	if cfg.markdown != "" && len(runs) > 0 {
		if err := writeMarkdownFile(rep, cfg.markdown); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "markdown written to %s\n", cfg.markdown)
	}
	if runErr != nil {
		return runErr
	}
	if len(unavailable) > 0 {
		return fmt.Errorf("%d target(s) could not be measured", len(unavailable))
	}
	return nil
}

// parseFlags reads the command line into a config, checking its bounds;
// getenv gives the environment's defaults.
func parseFlags(args []string, root string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	targets := fs.String("targets", defaultTargets, "comma-separated targets to measure, or all: "+strings.Join(targetNames(), ", "))
	conns := fs.String("c", "1,16,64", "comma-separated numbers of concurrent connections")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration of each run (at most "+maxDuration.String()+")")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "warm-up before each measured run (0 for none)")
	fs.StringVar(&cfg.gen, "gen", "", "load generator: wrk or go (default: wrk when installed, else go)")
	fs.StringVar(&cfg.markdown, "markdown", "", "also write the results as a markdown section to this file")
	fs.StringVar(&cfg.bodyFile, "body", filepath.Join(root, "bench", "testdata", "request.json"), "request body to send")
	fs.StringVar(&cfg.usersCSV, "users", filepath.Join(root, "bench", "testdata", "users.csv"), "users to import into tokenhook's store")
	fs.StringVar(&cfg.postgres, "postgres", getenv(envPostgres), "URL of a PostgreSQL server where loadbench may CREATE DATABASE, for the tokenhook-pg targets (default $"+envPostgres+"; without either, a throwaway cluster from the installed server binaries)")
	fs.IntVar(&cfg.serverCPU, "server-cpu", 0, "CPU the targets are pinned to")
	fs.IntVar(&cfg.genCPU, "gen-cpu", 1, "CPU the load generator is pinned to")
	fs.IntVar(&cfg.nice, "nice", -20, "niceness of targets and generator, so that other work on the machine disturbs them less (0: leave as is; negative needs root)")
	fs.IntVar(&cfg.runs, "runs", 1, "run each target and concurrency this many times and report the median run by requests/s")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the scratch directory with binaries and target logs")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.targets = splitList(*targets)
	if _, err := selectTargets(targetSpecs(), cfg.targets); err != nil {
		return cfg, fmt.Errorf("-targets: %w", err)
	}
	if cfg.postgres != "" {
		if err := checkPostgresURL(cfg.postgres); err != nil {
			return cfg, err
		}
	}
	var err error
	if cfg.conns, err = parseConns(*conns); err != nil {
		return cfg, err
	}
	switch {
	case cfg.duration < time.Second || cfg.duration > maxDuration:
		return cfg, fmt.Errorf("-d %s: want 1s to %s", cfg.duration, maxDuration)
	case cfg.warmup < 0 || cfg.warmup > maxDuration:
		return cfg, fmt.Errorf("-warmup %s: want 0 to %s", cfg.warmup, maxDuration)
	case cfg.gen != "" && cfg.gen != "wrk" && cfg.gen != "go":
		return cfg, fmt.Errorf("-gen %q: want wrk or go", cfg.gen)
	case cfg.runs < 1 || cfg.runs > 9:
		return cfg, fmt.Errorf("-runs %d: want 1 to 9", cfg.runs)
	case cfg.nice < -20 || cfg.nice > 19:
		return cfg, fmt.Errorf("-nice %d: want -20 to 19", cfg.nice)
	case cfg.nice < 0 && os.Geteuid() != 0:
		return cfg, fmt.Errorf("-nice %d needs root; use -nice=0", cfg.nice)
	case cfg.serverCPU == cfg.genCPU:
		return cfg, errors.New("-server-cpu and -gen-cpu must differ")
	case cfg.serverCPU < 0 || cfg.genCPU < 0 || max(cfg.serverCPU, cfg.genCPU) >= runtime.NumCPU():
		return cfg, fmt.Errorf("CPUs %d and %d: this machine has %d", cfg.serverCPU, cfg.genCPU, runtime.NumCPU())
	}
	return cfg, nil
}

// parseConns parses "1,16,64".
func parseConns(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > maxConns {
			return nil, fmt.Errorf("-c: %q is not a number of connections from 1 to %d", f, maxConns)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("-c: no concurrency level")
	}
	return out, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// pickGenerator returns the generator cfg asks for: wrk when installed unless
// -gen says otherwise.
func pickGenerator(cfg config, tmp string) (generator, error) {
	for _, tool := range []string{"taskset", "nice"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, err
		}
	}
	_, wrkErr := exec.LookPath("wrk")
	switch {
	case cfg.gen == "go", cfg.gen == "" && wrkErr != nil:
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		return goGenerator{cpu: cfg.genCPU, niceness: cfg.nice, exe: exe}, nil
	case wrkErr != nil:
		return nil, fmt.Errorf("-gen=wrk: %w (apt-get install wrk)", wrkErr)
	}
	return wrkGenerator{cpu: cfg.genCPU, niceness: cfg.nice, workDir: tmp}, nil
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run loadbench inside the tokenhook module")
	}
	return filepath.Dir(gomod), nil
}

// writeMarkdownFile writes rep's markdown section to path.
func writeMarkdownFile(rep report, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.writeMarkdown(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
