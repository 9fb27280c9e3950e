package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// buildTokenhook builds the main module's binary into a temporary directory
// and returns its path. It builds in the main module (..), with its own
// go.mod and go.sum, so this module needs none of tokenhook's dependencies.
func buildTokenhook(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tokenhook")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/tokenhook")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tokenhook: %v\n%s", err, out)
	}
	return bin
}

// rulesCheck runs `tokenhook rules check -c config` with exactly environ
// (nothing inherited, so a developer's TOKENHOOK_* variables cannot hide a
// problem) and fails the test unless the configuration is valid.
func rulesCheck(t *testing.T, bin, config string, environ []string) {
	t.Helper()
	cmd := exec.Command(bin, "rules", "check", "-c", config)
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tokenhook rules check -c %s with %q: %v\n%s", config, environ, err, out)
	}
	if !strings.HasPrefix(string(out), "ok: ") {
		t.Errorf("tokenhook rules check: %s, want ok: ...", out)
	}
}

// configEnvNames returns every TOKENHOOK_* variable the server reads, from
// the env and envPrefix tags of internal/config's Config, read as source
// (go/parser): an environment variable the server does not know is silently
// ignored, so a misspelt one in a manifest would be a setting silently
// missing.
func configEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	dir := filepath.Join("..", "internal", "config")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	structs := map[string]*ast.StructType{}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					structs[ts.Name.Name] = st
				}
			}
			return true
		})
	}
	names := map[string]bool{}
	var walk func(st *ast.StructType, prefix string, depth int)
	walk = func(st *ast.StructType, prefix string, depth int) {
		if depth > 10 {
			t.Fatal("internal/config: struct types nest too deep (a cycle?)")
		}
		for _, field := range st.Fields.List {
			var tag reflect.StructTag
			if field.Tag != nil {
				s, err := strconv.Unquote(field.Tag.Value)
				if err != nil {
					t.Fatal(err)
				}
				tag = reflect.StructTag(s)
			}
			if env, ok := tag.Lookup("env"); ok {
				name, _, _ := strings.Cut(env, ",")
				names[prefix+name] = true
				continue
			}
			typ := field.Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok && structs[id.Name] != nil {
				walk(structs[id.Name], prefix+tag.Get("envPrefix"), depth+1)
			}
		}
	}
	root := structs["Config"]
	if root == nil {
		t.Fatal("internal/config: no Config struct: update configEnvNames")
	}
	walk(root, "TOKENHOOK_", 0)
	for _, want := range []string{"TOKENHOOK_LISTEN", "TOKENHOOK_STORE", "TOKENHOOK_AUTH_REQUIRE", "TOKENHOOK_AUTH_HEADER_VALUES_FILE", "TOKENHOOK_LOG_FORMAT"} {
		if !names[want] {
			t.Fatalf("configEnvNames found no %s in internal/config (found %d names): update it", want, len(names))
		}
	}
	return names
}

// checkEnvName fails the test when name looks like tokenhook's but is not
// one the server reads.
func checkEnvName(t *testing.T, known map[string]bool, where, name string) {
	t.Helper()
	if strings.HasPrefix(name, "TOKENHOOK_") && !known[name] {
		t.Errorf("%s: %s is not a variable tokenhook reads (docs/configuration.md); it would be ignored", where, name)
	}
}

// missing skips t for lack of a tool, and fails it under CI=true: CI must
// never pass without running every check (.ci/run installs the tools).
func missing(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: install it; .ci/run does)", reason)
	}
	t.Skip(reason)
}
