package inlinehook_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden runs every response of testdata/responses against every request
// of testdata/requests and compares Okta's verdict with
// testdata/golden/<response>.golden: the violations, what Apply mints (as
// changes to each token), and for rejected responses what the guard
// (Prune) would let through. Run with -update to rewrite the files, and
// review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "responses", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no response fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			got := renderVerdicts(t, mustReadFile(t, "responses", name+".json"))
			golden := filepath.Join("testdata", "golden", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file; run with -update and review the diff.\ngot:\n%s", golden, got)
			}
		})
	}
}

// renderVerdicts describes what Okta does with body for each request fixture.
func renderVerdicts(tb testing.TB, body []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	resp, err := inlinehook.ParseResponse(body)
	if err != nil {
		fmt.Fprintf(&b, "unreadable: %v\n", err)
		return b.Bytes()
	}
	for _, name := range requestFixtures {
		req := mustRequest(tb, name)
		fmt.Fprintf(&b, "== %s\n", name)
		res, err := inlinehook.Apply(req, resp)
		var denied *inlinehook.DeniedError
		var invalid *inlinehook.ValidationError
		switch {
		case errors.As(err, &denied):
			fmt.Fprintf(&b, "denied: error=server_error error_description=%q\n", denied.Summary)
			continue
		case errors.As(err, &invalid):
			b.WriteString("rejected, tokens minted unmodified:\n")
			for _, v := range invalid.Violations {
				fmt.Fprintf(&b, "  commands[%d]", v.Command)
				if v.Op >= 0 {
					fmt.Fprintf(&b, ".value[%d]", v.Op)
				}
				fmt.Fprintf(&b, ": %s\n", v.Message)
			}
			pruned := mustResponse(tb, string(body))
			inlinehook.Prune(req, pruned)
			if res, err = inlinehook.Apply(req, pruned); err != nil {
				tb.Fatalf("%s: the pruned response fails: %v", name, err)
			}
			b.WriteString("after Prune:\n")
		case err != nil:
			tb.Fatalf("%s: %v", name, err)
		default:
			b.WriteString("applied:\n")
		}
		renderChanges(tb, &b, "identity", req.Data.Identity, res.Identity)
		renderChanges(tb, &b, "access", req.Data.Access, res.Access)
	}
	return b.Bytes()
}

// renderChanges lists how a token changed, one claim per line.
func renderChanges(tb testing.TB, b *bytes.Buffer, label string, before *inlinehook.Token, after *inlinehook.Minted) {
	tb.Helper()
	if before == nil {
		return
	}
	var lines []string
	for k, v := range after.Claims {
		old, ok := before.Claims[k]
		switch {
		case !ok:
			lines = append(lines, fmt.Sprintf("+ %s = %s", k, mustJSON(tb, v)))
		case !reflect.DeepEqual(old, v):
			lines = append(lines, fmt.Sprintf("~ %s = %s", k, mustJSON(tb, v)))
		}
	}
	for k := range before.Claims {
		if _, ok := after.Claims[k]; !ok {
			lines = append(lines, fmt.Sprintf("- %s", k))
		}
	}
	slices.SortFunc(lines, func(x, y string) int { return strings.Compare(x[2:], y[2:]) })
	if l := before.Token.Lifetime.Expiration; l != after.Lifetime {
		lines = append(lines, fmt.Sprintf("lifetime %d -> %d", l, after.Lifetime))
	}
	if len(lines) == 0 {
		lines = []string{"(unchanged)"}
	}
	fmt.Fprintf(b, "  %s: %s\n", label, strings.Join(lines, "\n    "+strings.Repeat(" ", len(label))))
}
