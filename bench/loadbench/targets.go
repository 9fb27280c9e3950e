package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	usersCSV string // users imported into the tokenhook store
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
	prepare  func(ctx context.Context, w workspace) (launcher, error)
}

// launcher returns the command that serves the target on 127.0.0.1:port.
type launcher func(port int) command

// targetSpecs is the table of every known target, in report order. Command
// lines of the targets live here and only here.
func targetSpecs() []targetSpec {
	return []targetSpec{
		{name: "fixed", hookPath: "/hooks/okta/token", prepare: prepareFixed},
		{name: "express", hookPath: "/tokenHook", prepare: prepareExpress},
		{name: "tokenhook", hookPath: "/hooks/okta/token", prepare: prepareTokenhook},
	}
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

// prepareTokenhook builds cmd/tokenhook, checks that it has a serve command,
// and imports the benchmark users into a fresh SQLite store.
func prepareTokenhook(ctx context.Context, w workspace) (launcher, error) {
	bin := filepath.Join(w.tmp, "tokenhook")
	if err := goBuild(ctx, w, bin, "./cmd/tokenhook"); err != nil {
		return nil, err
	}
	if err := runQuiet(ctx, command{argv: []string{bin, "serve", "--help"}}); err != nil {
		return nil, fmt.Errorf("tokenhook has no working serve command yet: %w", err)
	}
	dir := filepath.Join(w.tmp, "tokenhook-store")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	store := "sqlite:" + filepath.Join(dir, "tokenhook.db")
	if err := runQuiet(ctx, command{argv: []string{bin, "users", "import", "--store", store, w.usersCSV}}); err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	return func(port int) command {
		return command{
			argv: []string{bin, "serve", "--listen", addrOf(port), "--store", store, "--log-level", "warn"},
			env: []string{"GOMAXPROCS=1",
				"TOKENHOOK_AUTH_BASIC_USERNAME=" + hookUser, "TOKENHOOK_AUTH_BASIC_PASSWORD=" + hookPassword},
		}
	}, nil
}

// goBuild builds the main package pkg of the module into out.
func goBuild(ctx context.Context, w workspace, out, pkg string) error {
	return runQuiet(ctx, command{argv: []string{"go", "build", "-o", out, pkg}, dir: w.root})
}

// addrOf is the loopback address with port.
func addrOf(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// selectTargets returns the specs named in names, in the table's order.
func selectTargets(all []targetSpec, names []string) ([]targetSpec, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	var picked []targetSpec
	for _, t := range all {
		if want[t.name] {
			picked = append(picked, t)
			delete(want, t.name)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("unknown target %q", n)
	}
	if len(picked) == 0 {
		return nil, errors.New("no target selected")
	}
	return picked, nil
}
