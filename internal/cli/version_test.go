package cli_test

import (
	"encoding/json/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/internal/version"
)

func TestVersion(t *testing.T) {
	want := version.Get()
	r := run(t, "", "version")
	if r.code != 0 || r.stdout != want.String()+"\n" || r.stderr != "" {
		t.Fatalf("version: %+v, want stdout %q", r, want.String()+"\n")
	}
	if !strings.HasPrefix(r.stdout, "tokenhook ") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("version: %q should name tokenhook and %s", r.stdout, runtime.Version())
	}
}

func TestVersionJSON(t *testing.T) {
	r := run(t, "", "version", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("version --json: %+v", r)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("version --json: %v in %q", err, r.stdout)
	}
	for _, key := range []string{"version", "revision", "time", "modified", "goVersion"} {
		if _, ok := got[key]; !ok {
			t.Errorf("version --json: no %q in %s", key, r.stdout)
		}
	}
	if got["goVersion"] != runtime.Version() {
		t.Errorf("goVersion = %v, want %s", got["goVersion"], runtime.Version())
	}
	var info version.Info
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info != version.Get() {
		t.Errorf("version --json decodes to %+v (%v), want %+v", info, err, version.Get())
	}
}

func TestVersionArgs(t *testing.T) {
	if r := run(t, "", "version", "extra"); r.code != 2 {
		t.Errorf("version extra: %+v, want exit 2", r)
	}
}
