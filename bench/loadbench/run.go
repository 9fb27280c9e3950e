package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// result is one target measured at one concurrency.
type result struct {
	target     string
	conns      int
	load       loadResult
	peakRSSKiB int64         // VmHWM of the target process after the run
	serverCPU  time.Duration // CPU the target used during the measured run
	otherCPU   time.Duration // CPU others used on the target's CPU meanwhile
	dbCPU      time.Duration // CPU the PostgreSQL server used meanwhile; -1 unknown
	hasDB      bool          // the target reads a PostgreSQL server
	round      int           // 1 for the first run of each target and level
	runs       int           // runs this row is the median of
	problems   []string      // failed checks; any makes the row invalid
}

// noisyShare is the share of the server CPU that other processes may take
// during a run before the row is flagged as noisy.
const noisyShare = 0.05

// genBound reports whether the generator, not the target, may have been the
// limit: the generator used nearly its whole core while the target did not.
func (r result) genBound() bool {
	wall := r.load.elapsed.Seconds()
	return r.conns > 1 && wall > 0 && r.load.genCPU.Seconds() >= 0.9*wall &&
		r.serverCPU >= 0 && r.serverCPU.Seconds() < 0.9*wall
}

// noisy reports whether other processes took a noticeable share of the
// target's CPU during the measured run.
func (r result) noisy() bool {
	return r.load.elapsed > 0 && r.otherCPU.Seconds() > noisyShare*r.load.elapsed.Seconds()
}

// valid reports whether the row can be compared: the target answered right
// before and after the load, and no request failed.
func (r result) valid() bool {
	return len(r.problems) == 0 && r.load.errors() == 0 && r.load.requests > 0
}

// bench runs the load of every selected target at every concurrency.
type bench struct {
	cfg     config
	ws      workspace
	gen     generator
	body    []byte
	headers []header
	log     io.Writer // progress lines
}

// newBench gathers what every run needs.
func newBench(cfg config, ws workspace, gen generator, body []byte, log io.Writer) *bench {
	auth := base64.StdEncoding.EncodeToString([]byte(hookUser + ":" + hookPassword))
	return &bench{
		cfg: cfg, ws: ws, gen: gen, body: body, log: log,
		headers: []header{
			{"Content-Type", "application/json"},
			{"Accept", "application/json"},
			{"Authorization", "Basic " + auth},
		},
	}
}

// prepared is a target ready to be started.
type prepared struct {
	spec   targetSpec
	launch launcher
}

// prepareAll builds or installs every target. A target that cannot be
// prepared is left out and its error returned in unavailable.
func (b *bench) prepareAll(ctx context.Context, specs []targetSpec) (ready []prepared, unavailable map[string]error) {
	unavailable = map[string]error{}
	for _, s := range specs {
		fmt.Fprintf(b.log, "preparing %s...\n", s.name)
		launch, err := s.prepare(ctx, b.ws)
		if err != nil {
			fmt.Fprintf(b.log, "  %s unavailable: %v\n", s.name, err)
			unavailable[s.name] = err
			continue
		}
		ready = append(ready, prepared{spec: s, launch: launch})
	}
	return ready, unavailable
}

// runAll measures every prepared target at every concurrency, cfg.runs
// times, and returns every run. Targets alternate within a concurrency
// level, and rounds go through all levels, so that drift of the machine over
// time affects all targets alike and runs of one round can be compared.
func (b *bench) runAll(ctx context.Context, targets []prepared) ([]result, error) {
	var runs []result
	for round := 1; round <= b.cfg.runs; round++ {
		for _, conns := range b.cfg.conns {
			for _, t := range targets {
				r, err := b.runOne(ctx, t, conns)
				if err != nil {
					return runs, fmt.Errorf("%s at %d connections: %w", t.spec.name, conns, err)
				}
				r.round = round
				b.logRun(r)
				runs = append(runs, r)
			}
		}
	}
	return runs, nil
}

// logRun prints one run's figures as a progress line.
func (b *bench) logRun(r result) {
	db := ""
	if r.hasDB {
		db = "  db CPU " + fmtShare(r.dbCPU, r.load.elapsed)
	}
	fmt.Fprintf(b.log, "  run %d  %-19s c=%-3d %9.0f req/s  p50 %s  p99 %s  errors %d  RSS %s  srv CPU %s  others %s%s%s\n",
		r.round, r.target, r.conns, r.load.rps(), fmtLatency(r.load.p50), fmtLatency(r.load.p99),
		r.load.errors(), fmtRSS(r.peakRSSKiB), fmtShare(r.serverCPU, r.load.elapsed),
		fmtShare(r.otherCPU, r.load.elapsed), db, problemSuffix(r))
}

// medianRun returns the run with the median requests/s. Problems and failed
// requests of the other runs are carried over, so one bad run makes the row
// invalid.
func medianRun(runs []result) result {
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(runs[a].load.rps(), runs[b].load.rps()) })
	m := order[len(order)/2]
	med := runs[m]
	med.problems = slices.Clone(med.problems)
	med.runs = len(runs)
	for i, r := range runs {
		if i == m {
			continue
		}
		for _, p := range r.problems {
			med.problems = append(med.problems, fmt.Sprintf("run %d: %s", r.round, p))
		}
		if r.load.errors() > 0 {
			med.problems = append(med.problems, fmt.Sprintf("run %d: %d failed requests", r.round, r.load.errors()))
		}
	}
	return med
}

// runOne starts a fresh target process, checks its reply, warms it up,
// measures it and stops it. Errors are failures of the benchmark itself; a
// misbehaving target is reported in the result's problems instead.
func (b *bench) runOne(ctx context.Context, t prepared, conns int) (result, error) {
	res := result{target: t.spec.name, conns: conns}
	port, err := freePort()
	if err != nil {
		return res, err
	}
	logPath := filepath.Join(b.ws.tmp, t.spec.name+"-c"+strconv.Itoa(conns)+".log")
	srv, err := startServer(ctx, t.launch(port), b.cfg.serverCPU, b.cfg.nice, logPath)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	if err := srv.waitListening(ctx, addrOf(port), 30*time.Second); err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		res.problems = append(res.problems, "did not start: "+err.Error())
		return res, nil
	}

	spec := loadSpec{
		url:      "http://" + addrOf(port) + t.spec.hookPath,
		bodyFile: b.cfg.bodyFile,
		body:     b.body,
		headers:  b.headers,
		conns:    conns,
	}
	if err := checkReply(ctx, spec); err != nil {
		res.problems = append(res.problems, "pre-flight: "+err.Error())
	}
	var probe func() (time.Duration, error)
	if t.spec.postgres {
		res.hasDB, res.dbCPU = true, -1
		probe = b.ws.dbCPUProbe()
	}
	if res.load, res.serverCPU, res.otherCPU, err = b.measure(ctx, srv.pid(), spec, probe, &res.dbCPU); err != nil {
		return res, err
	}
	if err := checkReply(ctx, spec); err != nil {
		res.problems = append(res.problems, "post-flight: "+err.Error())
	}
	if !srv.alive() {
		res.problems = append(res.problems, "target exited during the run; log "+logPath)
	}
	if res.peakRSSKiB, err = peakRSS(srv.pid()); err != nil {
		res.problems = append(res.problems, "peak RSS: "+err.Error())
	}
	return res, nil
}

// measure warms the target up, then applies the measured load. It also
// returns the CPU time the target (pid) used during the measured run and
// the time other processes took on its CPU meanwhile, and, with a probe of
// the database's CPU time, sets *dbCPU to what the database used.
func (b *bench) measure(ctx context.Context, pid int, spec loadSpec, probe func() (time.Duration, error), dbCPU *time.Duration) (load loadResult, serverCPU, otherCPU time.Duration, err error) {
	if b.cfg.warmup > 0 {
		warm := spec
		warm.duration = b.cfg.warmup
		if _, err := b.gen.run(ctx, warm); err != nil {
			return load, 0, 0, fmt.Errorf("warm-up: %w", err)
		}
	}
	spec.duration = b.cfg.duration
	stopSettling := b.ws.settle()
	dbBefore, dbErr := probeCPU(probe)
	srvBefore, err1 := processCPU(pid)
	busyBefore, err2 := cpuBusy(b.cfg.serverCPU)
	load, err = b.gen.run(ctx, spec)
	stopSettling()
	if err != nil {
		return load, 0, 0, err
	}
	srvAfter, err3 := processCPU(pid)
	busyAfter, err4 := cpuBusy(b.cfg.serverCPU)
	if dbAfter, err := probeCPU(probe); dbErr == nil && err == nil {
		*dbCPU = dbAfter - dbBefore
	}
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return load, -1, -1, nil // unknown: shown as "?"
	}
	serverCPU = srvAfter - srvBefore
	return load, serverCPU, max(0, busyAfter-busyBefore-serverCPU), nil
}

// probeCPU calls probe, or fails without one.
func probeCPU(probe func() (time.Duration, error)) (time.Duration, error) {
	if probe == nil {
		return 0, errors.New("no probe")
	}
	return probe()
}
