package main

import (
	"slices"
	"testing"
	"time"
)

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tnode\nVmPeak:\t 1203344 kB\nVmHWM:\t  126044 kB\nVmRSS:\t  120000 kB\n"
	got, err := parseVmHWM([]byte(status))
	if err != nil || got != 126044 {
		t.Errorf("parseVmHWM = %d, %v; want 126044", got, err)
	}
	if _, err := parseVmHWM([]byte("Name:\tx\n")); err == nil {
		t.Error("parseVmHWM without VmHWM succeeded")
	}
}

func TestParseStatCPU(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
	stat := "4242 (node server.js) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 7 0\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != 3*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 3s", got, err)
	}
}

func TestParseCPUBusy(t *testing.T) {
	stat := "cpu  21646 0 13879 1481817 290 0 2142 0 0 0\n" +
		"cpu0 12000 0 6000 739817 42 0 1000 0 0 0\n" +
		"cpu1 9617 5 7430 742000 248 1 779 2 0 0\n"
	got, err := parseCPUBusy([]byte(stat), 1)
	if want := time.Duration(9617+5+7430+1+779+2) * 10 * time.Millisecond; err != nil || got != want {
		t.Errorf("parseCPUBusy(cpu1) = %v, %v; want %v", got, err, want)
	}
	if _, err := parseCPUBusy([]byte(stat), 2); err == nil {
		t.Error("parseCPUBusy(cpu2) succeeded")
	}
}

func TestPinnedArgv(t *testing.T) {
	got := pinnedArgv([]string{"node", "server.js"}, 0, -10)
	want := []string{"nice", "-n", "-10", "taskset", "-c", "0", "node", "server.js"}
	if !slices.Equal(got, want) {
		t.Errorf("pinnedArgv = %q, want %q", got, want)
	}
	if got := pinnedArgv([]string{"wrk"}, 1, 0); !slices.Equal(got, []string{"taskset", "-c", "1", "wrk"}) {
		t.Errorf("pinnedArgv without nice = %q", got)
	}
}

func TestParseStatTimes(t *testing.T) {
	// utime 250, stime 50, cutime 700, cstime 300 ticks.
	stat := "4242 (postgres) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 700 300 20 0 7 0\n"
	own, children, err := parseStatTimes([]byte(stat))
	if err != nil || own != 3*time.Second || children != 10*time.Second {
		t.Errorf("parseStatTimes = %v, %v, %v; want 3s, 10s", own, children, err)
	}
	if _, _, err := parseStatTimes([]byte("1 (x) S 1 2 3")); err == nil {
		t.Error("short stat accepted")
	}
}
