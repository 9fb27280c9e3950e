package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// describeEnvironment collects what the markdown report states about the run.
func describeEnvironment(ctx context.Context, cfg config, root string, args []string, targets []prepared, gen generator, ws workspace) environment {
	env := environment{
		date:      time.Now(),
		command:   commandLine(redactArgs(args)),
		goVersion: strings.TrimPrefix(runtime.Version(), "go"),
		cpuModel:  cpuModel(),
		cpus:      runtime.NumCPU(),
		kernel:    firstLine(output(ctx, "uname", "-r")),
		body:      cfg.bodyFile,
		postgres:  ws.shared.postgresInfo,
	}
	if rel, err := filepath.Rel(root, cfg.bodyFile); err == nil && !strings.HasPrefix(rel, "..") {
		env.body = rel
	}
	for _, t := range targets {
		if t.spec.name == "express" {
			env.node = strings.TrimPrefix(firstLine(output(ctx, "node", "--version")), "v")
		}
	}
	if gen.name() == "wrk" {
		// wrk prints its version with the usage text and exits non-zero.
		fields := strings.Fields(firstLine(output(ctx, "wrk", "--version")))
		if len(fields) >= 2 {
			env.wrk = fields[1]
		}
	}
	return env
}

// commandLine is the command that reproduces this run.
func commandLine(args []string) string {
	parts := []string{"go", "run", "./bench/loadbench"}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_=.,/:@+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

// output runs a command and returns its standard output and error, whatever
// its exit status.
func output(ctx context.Context, name string, args ...string) string {
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}
