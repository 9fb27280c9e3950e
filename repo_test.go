// Tests of the repository itself: the import rules of the architecture and a
// doc comment on every package. They read `go list`, so they check what the
// compiler sees, not what a document claims.
package tokenhook_test

import (
	"bytes"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/tokenhook/tokenhook"

type goPackage struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string // packages it imports directly
	Deps       []string // every package it depends on, transitively
}

// listPackages returns every package of the module, from go list.
func listPackages(t *testing.T) map[string]goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Name,Doc,Imports,Deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]goPackage{}
	dec := jsontext.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		err := json.UnmarshalDecode(dec, &p)
		if errors.Is(err, io.EOF) {
			return pkgs
		}
		if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module+"/")] = p
	}
}

// isStd reports whether an import path is in the standard library: its
// first element has no dot.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// joseDep reports whether d is the standard library or what bearer-token
// authentication uses: go-jose and singleflight.
func joseDep(d string) bool {
	return isStd(d) || strings.HasPrefix(d, "github.com/go-jose/go-jose/v4") || d == "golang.org/x/sync/singleflight"
}

// celDep reports whether d is CEL or one of the modules CEL depends on.
func celDep(d string) bool {
	for _, prefix := range []string{"cel.dev/", "google.golang.org/protobuf/", "google.golang.org/genproto/",
		"github.com/antlr4-go/antlr/", "golang.org/x/exp/", "golang.org/x/text/",
		"go.yaml.in/yaml/", // cel-go reads environment files
	} {
		if strings.HasPrefix(d, prefix) {
			return true
		}
	}
	return false
}

// TestImportRules enforces the import directions of docs/architecture.md.
func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	rules := []struct {
		pkg     string // package, relative to the module
		allowed func(dep string) bool
		why     string
	}{
		{"inlinehook", isStd, "the public wire-format package is stdlib only, so any Go hook can import it"},
		{"internal/user", isStd, "the domain package knows no driver"},
		{"internal/rules", func(d string) bool {
			return (isStd(d) && !strings.HasPrefix(d, "net/http") && d != "database/sql") || !strings.HasPrefix(d, module)
		}, "the rules are pure: stdlib and CEL, no HTTP, no SQL, nothing of ours"},
		{"internal/tokenhook", func(d string) bool {
			return isStd(d) || d == module+"/inlinehook" || d == module+"/internal/user" || d == module+"/internal/rules" || celDep(d)
		}, "the core depends on the wire format, the rules and the user types only"},
		{"internal/server", func(d string) bool {
			return (isStd(d) && d != "database/sql") || d == module+"/inlinehook" || d == module+"/internal/rules" ||
				d == module+"/internal/tokenhook" || d == module+"/internal/hookauth" || d == module+"/internal/user" || celDep(d) ||
				d == "golang.org/x/time/rate" || // the per-source rate limit's token buckets
				joseDep(d) // through hookauth
		}, "the server reaches the store only through the core"},
		{"internal/telemetry", func(d string) bool {
			if !strings.HasPrefix(d, module) {
				return true // Prometheus and OpenTelemetry
			}
			return !strings.HasPrefix(d, module+"/internal/user/") && !strings.HasPrefix(d, module+"/internal/setup") &&
				!strings.HasPrefix(d, module+"/internal/cli") || d == module+"/internal/user/cache"
		}, "telemetry observes through the server's and the core's interfaces, and wraps the store as the cache's Getter: it picks no backend"},
		{"internal/certs", isStd, "serving a certificate needs nothing but crypto/tls"},
		{"internal/hookauth", joseDep, "authentication needs the standard library, and go-jose and singleflight for bearer tokens"},
		{"internal/user/memory", func(d string) bool { return isStd(d) || d == module+"/internal/user" }, "a backend depends on the contract and its driver"},
		{"internal/user/sqlite", func(d string) bool {
			return isStd(d) || d == module+"/internal/user" || !strings.HasPrefix(d, module)
		}, "a backend depends on the contract and its driver"},
		{"internal/user/postgres", func(d string) bool {
			return isStd(d) || d == module+"/internal/user" || !strings.HasPrefix(d, module)
		}, "a backend depends on the contract and its driver"},
		// The emulator and preview know the hook only over HTTP, as Okta
		// does: they share inlinehook's rules, never the server's code.
		{"internal/oktaemu/hookcall", func(d string) bool {
			return !strings.HasPrefix(d, module) || d == module+"/inlinehook"
		}, "the hook call knows the hook only over HTTP and Okta's rules only through inlinehook"},
		{"internal/oktaemu", func(d string) bool {
			return !strings.HasPrefix(d, module) || d == module+"/inlinehook" || d == module+"/internal/oktaemu/hookcall"
		}, "the emulator knows the hook only over HTTP, like Okta"},
		{"internal/preview", func(d string) bool {
			return !strings.HasPrefix(d, module) || d == module+"/inlinehook" ||
				d == module+"/internal/oktaemu" || d == module+"/internal/oktaemu/hookcall"
		}, "preview judges any hook over HTTP, ours included, as Okta would"},
		{"internal/sampleapp", func(d string) bool { return !strings.HasPrefix(d, module) },
			"the sample app is an OIDC client of any Okta, real or emulated"},
	}
	for _, r := range rules {
		p, ok := pkgs[r.pkg]
		if !ok {
			t.Errorf("package %s not found", r.pkg)
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "internal/") || strings.HasPrefix(d, "vendor/") {
				continue // the standard library's own internals
			}
			if !r.allowed(d) {
				t.Errorf("%s imports %s: %s", r.pkg, d, r.why)
			}
		}
	}
	// The core knows nothing of HTTP or SQL (inlinehook's optional HTTP
	// adapter comes in with it, but the core must not use net/http itself).
	for _, d := range pkgs["internal/tokenhook"].Imports {
		if strings.HasPrefix(d, "net/http") || d == "database/sql" {
			t.Errorf("internal/tokenhook imports %s: the core knows nothing of HTTP or SQL", d)
		}
	}
	// The PostgreSQL test helper starts servers and drops databases: it
	// belongs in tests only. go list's Deps leave test files out, so any
	// package that has it among them uses it in code that ships.
	for name, p := range pkgs {
		if name != "internal/pgtest" && slices.Contains(p.Deps, module+"/internal/pgtest") {
			t.Errorf("%s imports internal/pgtest outside its tests", name)
		}
	}
	// The backends are chosen in one place only.
	for name, p := range pkgs {
		if name == "internal/setup" || strings.HasPrefix(name, "internal/user/") || name == "e2e" {
			continue
		}
		for _, d := range p.Deps {
			if d == module+"/internal/user/sqlite" || d == module+"/internal/user/memory" || d == module+"/internal/user/postgres" {
				if name != "internal/cli" && name != "cmd/tokenhook" && name != "internal/demo" {
					t.Errorf("%s imports the backend %s: only internal/setup picks backends", name, d)
				}
			}
		}
	}
}

// TestPackageDocs pins that every package says what it is for.
func TestPackageDocs(t *testing.T) {
	for name, p := range listPackages(t) {
		if p.ImportPath == module {
			continue // this file's own directory holds tests only
		}
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "Command "
		}
		if !strings.HasPrefix(p.Doc, want) {
			t.Errorf("%s: doc comment %q should start with %q", name, p.Doc, want)
		}
	}
}
