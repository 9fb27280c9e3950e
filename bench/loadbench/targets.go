package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Basic auth credentials of Okta's token inline hook guide: the hook is
// registered with the header "Authorization: Basic YWRtaW46c3VwZXJzZWNyZXQ=".
const (
	hookUser     = "admin"
	hookPassword = "supersecret"
)

// workspace is where targets are built and prepared for a benchmark.
type workspace struct {
	root     string // module root (holds go.mod)
	tmp      string // scratch directory of this benchmark
	usersCSV string // users imported into the default tokenhook store (-users)
	postgres string // -postgres: a server's URL, or "" for a throwaway cluster
	genCPU   int    // the generator's CPU, where a throwaway cluster runs too
	nice     int    // niceness of targets, generator and throwaway cluster
	shared   *shared
}

// shared is what the preparations of several targets share: work done once
// (a build, a users file, a PostgreSQL server) and what to undo at the end.
type shared struct {
	mu           sync.Mutex
	done         map[string]onceResult
	cleanups     []func()
	settle       []func() // run while each measured run goes on
	postgresInfo string   // the PostgreSQL server used, for the report
	// dbCPU, when loadbench runs the PostgreSQL server, is the CPU time
	// the server's processes have used so far.
	dbCPU func() (time.Duration, error)
}

// dbCPUProbe returns the shared dbCPU function, nil when there is none.
func (w workspace) dbCPUProbe() func() (time.Duration, error) {
	w.shared.mu.Lock()
	defer w.shared.mu.Unlock()
	return w.shared.dbCPU
}

type onceResult struct {
	value string
	err   error
}

// newWorkspace returns a workspace with nothing prepared yet.
func newWorkspace(root, tmp string, cfg config) workspace {
	return workspace{root: root, tmp: tmp, usersCSV: cfg.usersCSV, postgres: cfg.postgres,
		genCPU: cfg.genCPU, nice: cfg.nice, shared: &shared{done: map[string]onceResult{}}}
}

// once runs fn the first time key is asked for and returns its result, the
// same result every later time.
func (w workspace) once(key string, fn func() (string, error)) (string, error) {
	w.shared.mu.Lock()
	r, ok := w.shared.done[key]
	w.shared.mu.Unlock()
	if ok {
		return r.value, r.err
	}
	value, err := fn()
	w.shared.mu.Lock()
	w.shared.done[key] = onceResult{value, err}
	w.shared.mu.Unlock()
	return value, err
}

// atExit registers fn to run when the benchmark ends; they run in reverse.
func (w workspace) atExit(fn func()) {
	w.shared.mu.Lock()
	defer w.shared.mu.Unlock()
	w.shared.cleanups = append(w.shared.cleanups, fn)
}

// whileMeasuring registers fn to run at the start of each measured run and
// every settleEvery during it.
func (w workspace) whileMeasuring(fn func()) {
	w.shared.mu.Lock()
	defer w.shared.mu.Unlock()
	w.shared.settle = append(w.shared.settle, fn)
}

// settleEvery is how often the whileMeasuring functions run.
const settleEvery = 250 * time.Millisecond

// settle runs what whileMeasuring registered, now and then every
// settleEvery until the returned function is called.
func (w workspace) settle() (stop func()) {
	w.shared.mu.Lock()
	fns := slices.Clone(w.shared.settle)
	w.shared.mu.Unlock()
	if len(fns) == 0 {
		return func() {}
	}
	runAll := func() {
		for _, fn := range fns {
			fn()
		}
	}
	runAll()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(settleEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runAll()
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// cleanup runs what atExit registered, last first.
func (w workspace) cleanup() {
	w.shared.mu.Lock()
	fns := w.shared.cleanups
	w.shared.cleanups = nil
	w.shared.mu.Unlock()
	for _, fn := range slices.Backward(fns) {
		fn()
	}
}

// path joins elements onto the module root.
func (w workspace) path(elem ...string) string {
	return filepath.Join(append([]string{w.root}, elem...)...)
}

// targetSpec is one server under test. prepare builds or installs it once;
// the returned launcher gives the command line that serves on a port.
type targetSpec struct {
	name     string
	hookPath string // URL path Okta would POST to
	about    string // what it is, one line for the report
	prepare  func(ctx context.Context, w workspace) (launcher, error)
	// compared: the report gives its ratios to fixed and express.
	compared bool
	// goal: the report says whether it meets the project's goal (for
	// production configurations: the cache on).
	goal bool
	// baseline: the target it differs from in one respect; the report
	// gives its ratios to it.
	baseline string
	// postgres: the target reads the PostgreSQL server, whose CPU time
	// the report gives when loadbench runs the server.
	postgres bool
}

// launcher returns the command that serves the target on 127.0.0.1:port.
type launcher func(port int) command

// Numbers of users of the store-path variants.
const (
	fewUsers  = 1_000
	manyUsers = 1_000_000
)

// targetSpecs is the table of every known target, in report order. Command
// lines of the targets live here and only here.
func targetSpecs() []targetSpec {
	sqlite1k := tokenhookVariant{store: "sqlite", users: fewUsers, cacheOff: true}
	sqlite1m := tokenhookVariant{store: "sqlite", users: manyUsers, cacheOff: true}
	pg1k := tokenhookVariant{store: "postgres", users: fewUsers, cacheOff: true}
	pg1m := tokenhookVariant{store: "postgres", users: manyUsers, cacheOff: true}
	rules20 := tokenhookVariant{store: "sqlite", users: fewUsers, manyRules: true}
	th := func(name string, v tokenhookVariant, goal bool, baseline string) targetSpec {
		v.name = name
		return targetSpec{name: name, hookPath: "/hooks/okta/token", about: v.describe(), prepare: v.prepare,
			compared: true, goal: goal, baseline: baseline, postgres: v.store == "postgres"}
	}
	return []targetSpec{
		{name: "fixed", hookPath: "/hooks/okta/token", about: "Go handler with a constant reply", prepare: prepareFixed},
		{name: "express", hookPath: "/tokenHook", about: "Okta's guide sample, Node/Express", prepare: prepareExpress},
		th("tokenhook", tokenhookVariant{store: "sqlite"}, true, ""),
		th("tokenhook-sqlite-1k", sqlite1k, false, "tokenhook"),
		th("tokenhook-sqlite-1m", sqlite1m, false, "tokenhook-sqlite-1k"),
		th("tokenhook-pg-1k", pg1k, false, "tokenhook-sqlite-1k"),
		th("tokenhook-pg-1m", pg1m, false, "tokenhook-pg-1k"),
		th("tokenhook-20rules", rules20, true, "tokenhook"),
	}
}

// defaultTargets are the targets measured without -targets.
const defaultTargets = "fixed,express,tokenhook"

// targetNames lists the table's names, in its order.
func targetNames() []string {
	var names []string
	for _, t := range targetSpecs() {
		names = append(names, t.name)
	}
	return names
}

// specByName returns the table's target called name.
func specByName(name string) (targetSpec, bool) {
	for _, t := range targetSpecs() {
		if t.name == name {
			return t, true
		}
	}
	return targetSpec{}, false
}

// prepareFixed builds bench/peers/fixed: a Go handler with a fixed reply.
func prepareFixed(ctx context.Context, w workspace) (launcher, error) {
	bin := filepath.Join(w.tmp, "fixed")
	if err := goBuild(ctx, w, bin, "./bench/peers/fixed"); err != nil {
		return nil, err
	}
	return func(port int) command {
		return command{
			argv: []string{bin, "-listen", addrOf(port)},
			env:  []string{"GOMAXPROCS=1"},
		}
	}, nil
}

// prepareExpress installs bench/peers/express (Okta's guide sample) with npm
// when its node_modules are missing.
func prepareExpress(ctx context.Context, w workspace) (launcher, error) {
	dir := w.path("bench", "peers", "express")
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("the express peer needs %s: %w", tool, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "express", "package.json")); err != nil {
		install := []string{"npm", "ci", "--no-audit", "--no-fund"}
		if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err != nil {
			install[1] = "install"
		}
		if err := runQuiet(ctx, command{argv: install, dir: dir}); err != nil {
			return nil, err
		}
	}
	return func(port int) command {
		return command{
			argv: []string{"node", "server.js", strconv.Itoa(port)},
			env: []string{"HOST=127.0.0.1", "NODE_ENV=production",
				"BASIC_AUTH_USER=" + hookUser, "BASIC_AUTH_PASSWORD=" + hookPassword},
			dir: dir,
		}
	}, nil
}

// tokenhookVariant is one configuration of `tokenhook serve`. The zero
// value of each field is the production default.
type tokenhookVariant struct {
	name      string // the target's name; names its store
	store     string // "sqlite" or "postgres"
	users     int    // users generated by writeUsersCSV; 0: the -users file
	cacheOff  bool   // TOKENHOOK_CACHE_ENABLED=false: every request hits the store
	manyRules bool   // the manyRulesConfig configuration instead of the default
}

// describe says what the variant is, for the report.
func (v tokenhookVariant) describe() string {
	users := "the -users file"
	if v.users > 0 {
		users = groupDigits(v.users) + " users"
	}
	rules, cache := "default config", "cache on"
	if v.manyRules {
		rules = fmt.Sprintf("%d rules", 1+len(quietRules))
	}
	if v.cacheOff {
		cache = "cache off"
	}
	store := map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}[v.store]
	return strings.Join([]string{store, users, cache, rules}, ", ")
}

// groupDigits writes n with a space between groups of three digits, as the
// docs do: 1 000 000.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// env is the environment of every tokenhook command of the variant: the
// store goes there rather than on the command line, where a PostgreSQL
// password would show.
func (v tokenhookVariant) env(store string) []string {
	env := []string{"GOMAXPROCS=1", "TOKENHOOK_STORE=" + store,
		"TOKENHOOK_AUTH_BASIC_USERNAME=" + hookUser, "TOKENHOOK_AUTH_BASIC_PASSWORD=" + hookPassword}
	if v.cacheOff {
		env = append(env, "TOKENHOOK_CACHE_ENABLED=false")
	}
	return env
}

// serveArgv is the variant's serve command line.
func (v tokenhookVariant) serveArgv(bin string, port int, configFile string) []string {
	argv := []string{bin, "serve", "--listen", addrOf(port), "--log-level", "warn"}
	if configFile != "" {
		argv = append(argv, "--config", configFile)
	}
	return argv
}

// prepare builds cmd/tokenhook (once for all variants), creates the
// variant's store (a SQLite file, or a database of the PostgreSQL server)
// and imports its users with `tokenhook users import`.
func (v tokenhookVariant) prepare(ctx context.Context, w workspace) (launcher, error) {
	bin, err := buildTokenhook(ctx, w)
	if err != nil {
		return nil, err
	}
	csv := w.usersCSV
	if v.users > 0 {
		if csv, err = usersFile(w, v.users); err != nil {
			return nil, err
		}
	}
	var store string
	switch v.store {
	case "sqlite":
		dir := filepath.Join(w.tmp, "tokenhook-store")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		store = "sqlite:" + filepath.Join(dir, v.name+".db")
	case "postgres":
		server, err := postgresServer(ctx, w)
		if err != nil {
			return nil, err
		}
		if store, err = createBenchDatabase(ctx, w, server, pgDatabaseName(v.name)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown store %q", v.store)
	}
	if err := runQuiet(ctx, command{argv: []string{bin, "users", "import", "--quiet", csv}, env: v.env(store)}); err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	if v.store == "postgres" {
		if err := vacuumAnalyze(ctx, store); err != nil {
			return nil, fmt.Errorf("vacuum: %w", err)
		}
	}
	var configFile string
	if v.manyRules {
		configFile = filepath.Join(w.tmp, v.name+".yaml")
		if err := os.WriteFile(configFile, []byte(manyRulesConfig()), 0o644); err != nil {
			return nil, err
		}
	}
	return func(port int) command {
		return command{argv: v.serveArgv(bin, port, configFile), env: v.env(store)}
	}, nil
}

// buildTokenhook builds cmd/tokenhook once and checks that it has a serve
// command.
func buildTokenhook(ctx context.Context, w workspace) (string, error) {
	return w.once("build-tokenhook", func() (string, error) {
		bin := filepath.Join(w.tmp, "tokenhook")
		if err := goBuild(ctx, w, bin, "./cmd/tokenhook"); err != nil {
			return "", err
		}
		if err := runQuiet(ctx, command{argv: []string{bin, "serve", "--help"}}); err != nil {
			return "", fmt.Errorf("tokenhook has no working serve command yet: %w", err)
		}
		return bin, nil
	})
}

// goBuild builds the main package pkg of the module into out.
func goBuild(ctx context.Context, w workspace, out, pkg string) error {
	return runQuiet(ctx, command{argv: []string{"go", "build", "-o", out, pkg}, dir: w.root})
}

// addrOf is the loopback address with port.
func addrOf(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// selectTargets returns the specs named in names, in the table's order;
// "all" names every target.
func selectTargets(all []targetSpec, names []string) ([]targetSpec, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	if want["all"] {
		delete(want, "all")
		for _, t := range all {
			want[t.name] = true
		}
	}
	var picked []targetSpec
	for _, t := range all {
		if want[t.name] {
			picked = append(picked, t)
			delete(want, t.name)
		}
	}
	for n := range want {
		var known []string
		for _, t := range all {
			known = append(known, t.name)
		}
		return nil, fmt.Errorf("unknown target %q (known: all, %s)", n, strings.Join(known, ", "))
	}
	if len(picked) == 0 {
		return nil, errors.New("no target selected")
	}
	return picked, nil
}
