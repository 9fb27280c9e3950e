package inlinehook_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// packageDirs are this package's directories and what each may import
// besides the standard library.
var packageDirs = map[string][]string{
	".":              nil,
	"inlinehooktest": {"github.com/tokenhook/tokenhook/inlinehook"},
}

// TestImports enforces that inlinehook depends on the standard library only,
// so any Go hook can import it (and inlinehooktest on inlinehook only).
func TestImports(t *testing.T) {
	for dir, allowed := range packageDirs {
		for _, file := range goFiles(t, dir) {
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				first, _, _ := strings.Cut(path, "/")
				if strings.Contains(first, ".") && !slices.Contains(allowed, path) {
					t.Errorf("%s imports %s: only the standard library is allowed", file, path)
				}
			}
		}
	}
}

// TestPackageDocs: every package has a doc comment.
func TestPackageDocs(t *testing.T) {
	for dir := range packageDirs {
		documented := false
		for _, file := range goFiles(t, dir) {
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" ") {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package in %s has no doc comment starting %q", dir, "Package <name> ")
		}
	}
}

// goFiles lists the non-test Go files of dir.
func goFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			files = append(files, filepath.Join(dir, n))
		}
	}
	if len(files) == 0 {
		tb.Fatalf("no Go files in %s", dir)
	}
	return files
}
