package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat; it is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// command is a program to run: its argv, extra environment and directory.
type command struct {
	argv []string
	env  []string // added to the inherited environment
	dir  string   // working directory ("" = current)
}

// server is a running target process.
type server struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed
}

// pinnedArgv is argv run through nice (unless niceness is 0) and taskset.
// Both exec the next program, so the process id stays the program's own.
func pinnedArgv(argv []string, cpu, niceness int) []string {
	out := []string{"taskset", "-c", strconv.Itoa(cpu)}
	if niceness != 0 {
		out = append([]string{"nice", "-n", strconv.Itoa(niceness)}, out...)
	}
	return append(out, argv...)
}

// startPrioritized starts c pinned to cpu, in a session of its own whose
// scheduler autogroup gets the niceness. With autogroups (the default on
// most distributions) nice alone only ranks a process within its session,
// so processes of other sessions would still take half of the CPU; the
// autogroup's niceness ranks the whole session against them. The process
// is killed if ctx ends or loadbench dies.
func startPrioritized(ctx context.Context, c command, cpu, niceness int, stdin io.Reader, stdout, stderr io.Writer) (*exec.Cmd, error) {
	argv := pinnedArgv(c.argv, cpu, niceness)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Dir = c.dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(c.argv, " "), err)
	}
	if err := prioritize(cmd.Process.Pid, niceness); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return cmd, nil
}

// prioritize sets the niceness of pid's autogroup, when the kernel has
// autogroups.
func prioritize(pid, niceness int) error {
	if niceness == 0 {
		return nil
	}
	path := filepath.Join("/proc", strconv.Itoa(pid), "autogroup")
	if _, err := os.Stat(path); err != nil {
		return nil // no autogroups: nice alone does it
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(niceness)), 0); err != nil {
		return fmt.Errorf("set autogroup niceness (use -nice=0 to skip): %w", err)
	}
	return nil
}

// startServer starts a target: c pinned to cpu at the given niceness, its
// output going to logPath.
func startServer(ctx context.Context, c command, cpu, niceness int, logPath string) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd, err := startPrioritized(ctx, c, cpu, niceness, nil, logFile, logFile)
	if err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// waitListening waits until addr accepts TCP connections, the process exits,
// or timeout passes.
func (s *server) waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited before listening on %s (%v); log %s:\n%s", addr, s.waitErr, s.logPath, tail(s.logPath, 20))
		case <-ctx.Done():
			return fmt.Errorf("not listening on %s after %v; log %s:\n%s", addr, timeout, s.logPath, tail(s.logPath, 20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, and SIGKILL if the process has not exited after 5 s.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// peakRSS is the process's peak resident set size (VmHWM) in KiB.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	return parseVmHWM(data)
}

// parseVmHWM reads the "VmHWM:   12345 kB" line of /proc/PID/status.
func parseVmHWM(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmHWM line %q", sc.Text())
		}
		return strconv.ParseInt(fields[0], 10, 64)
	}
	return 0, errors.New("no VmHWM line in /proc/PID/status")
}

// processCPU is the user+system CPU time a process has used so far.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(data)
}

// parseStatCPU adds utime and stime (fields 14 and 15) of /proc/PID/stat.
func parseStatCPU(stat []byte) (time.Duration, error) {
	own, _, err := parseStatTimes(stat)
	return own, err
}

// parseStatTimes reads a process's own CPU time, utime+stime (fields 14 and
// 15) of /proc/PID/stat, and that of its children that have exited and been
// waited for, cutime+cstime (fields 16 and 17).
func parseStatTimes(stat []byte) (own, children time.Duration, err error) {
	s := string(stat)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0, 0, errors.New("malformed /proc/PID/stat")
	}
	fields := strings.Fields(s[i+1:]) // fields[0] is field 3 (state)
	if len(fields) < 15 {
		return 0, 0, errors.New("short /proc/PID/stat")
	}
	var ticks [4]int64
	for j, f := range fields[11:15] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/PID/stat: %w", err)
		}
		ticks[j] = n
	}
	tick := time.Second / clockTicks
	return time.Duration(ticks[0]+ticks[1]) * tick, time.Duration(ticks[2]+ticks[3]) * tick, nil
}

// cpuBusy is the time CPU cpu has spent busy (not idle or waiting for I/O)
// since boot, from /proc/stat.
func cpuBusy(cpu int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseCPUBusy(data, cpu)
}

// parseCPUBusy adds user, nice, system, irq, softirq and steal of the
// "cpuN" line of /proc/stat.
func parseCPUBusy(stat []byte, cpu int) (time.Duration, error) {
	prefix := "cpu" + strconv.Itoa(cpu) + " "
	for line := range strings.Lines(string(stat)) {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 8 {
			return 0, fmt.Errorf("short /proc/stat line %q", line)
		}
		var ticks int64
		for _, i := range []int{0, 1, 2, 5, 6, 7} { // skip idle (3) and iowait (4)
			n, err := strconv.ParseInt(fields[i], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/stat: %w", err)
			}
			ticks += n
		}
		return time.Duration(ticks) * time.Second / clockTicks, nil
	}
	return 0, fmt.Errorf("no cpu%d line in /proc/stat", cpu)
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of the file at path (for error messages).
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runQuiet runs c to completion and returns its combined output in the error
// when it fails.
func runQuiet(ctx context.Context, c command) error {
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Dir = c.dir
	// A daemon it starts (pg_ctl's server) must not keep Wait waiting for
	// the output pipe.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(c.argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
