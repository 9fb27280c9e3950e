package inlinehook_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

var pointerTokenCases = []struct {
	raw, escaped string
}{
	{"", ""},
	{"plain", "plain"},
	{"a/b", "a~1b"},
	{"~", "~0"},
	{"~1", "~01"}, // RFC 6901: "~01" is "~1", never "/"
	{"/~", "~1~0"},
	{"https://example.com/claims/plan", "https:~1~1example.com~1claims~1plan"},
	{"a~b/c~d", "a~0b~1c~0d"},
	{"ünï/cödé", "ünï~1cödé"},
}

func TestEscapePointerToken(t *testing.T) {
	for _, tt := range pointerTokenCases {
		if got := inlinehook.EscapePointerToken(tt.raw); got != tt.escaped {
			t.Errorf("Escape(%q) = %q, want %q", tt.raw, got, tt.escaped)
		}
		got, err := inlinehook.UnescapePointerToken(tt.escaped)
		if err != nil || got != tt.raw {
			t.Errorf("Unescape(%q) = %q, %v, want %q", tt.escaped, got, err, tt.raw)
		}
	}
	for _, bad := range []string{"~", "a~", "~2", "~a", "x~~0"} {
		if _, err := inlinehook.UnescapePointerToken(bad); !errors.Is(err, inlinehook.ErrBadEscape) {
			t.Errorf("Unescape(%q): err = %v, want ErrBadEscape", bad, err)
		}
	}
}

func TestClaimPath(t *testing.T) {
	tests := []struct {
		claim  string
		inside []string
		want   string
	}{
		{"extPatientId", nil, "/claims/extPatientId"},
		{"a/b", []string{"0"}, "/claims/a~1b/0"},
		{"employee_profile", []string{"department_id"}, "/claims/employee_profile/department_id"},
		{"arr", []string{"-"}, "/claims/arr/-"},
		{"https://x.example/c", []string{"k/v", "~"}, "/claims/https:~1~1x.example~1c/k~1v/~0"},
	}
	for _, tt := range tests {
		if got := inlinehook.ClaimPath(tt.claim, tt.inside...); got != tt.want {
			t.Errorf("ClaimPath(%q, %q) = %q, want %q", tt.claim, tt.inside, got, tt.want)
		}
	}
}

var parseClaimPathCases = []struct {
	path   string
	claim  string
	inside []string
	err    error
}{
	{"/claims/extPatientId", "extPatientId", nil, nil},
	{"/claims/a~1b", "a/b", nil, nil},
	{"/claims/a~1b/0", "a/b", []string{"0"}, nil},
	{"/claims/m~0n/~0/~1", "m~n", []string{"~", "/"}, nil},
	{"/claims/o/", "o", []string{""}, nil},
	{"/claims/o//x", "o", []string{"", "x"}, nil},
	{"/claims/arr/-", "arr", []string{"-"}, nil},
	{"/claims/", "", nil, inlinehook.ErrEmptyClaimName},
	{"/claims//x", "", nil, inlinehook.ErrEmptyClaimName},
	{"/claims", "", nil, inlinehook.ErrNotClaimPath},
	{"/claimsx/a", "", nil, inlinehook.ErrNotClaimPath},
	{"claims/a", "", nil, inlinehook.ErrNotClaimPath},
	{"", "", nil, inlinehook.ErrNotClaimPath},
	{inlinehook.LifetimePath, "", nil, inlinehook.ErrNotClaimPath},
	{"/CLAIMS/a", "", nil, inlinehook.ErrNotClaimPath},
	{"/claims/a~2", "", nil, inlinehook.ErrBadEscape},
	{"/claims/a/b~", "", nil, inlinehook.ErrBadEscape},
}

func TestParseClaimPath(t *testing.T) {
	for _, tt := range parseClaimPathCases {
		claim, inside, err := inlinehook.ParseClaimPath(tt.path)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("ParseClaimPath(%q): err = %v, want %v", tt.path, err, tt.err)
			continue
		}
		if claim != tt.claim || !reflect.DeepEqual(inside, tt.inside) {
			t.Errorf("ParseClaimPath(%q) = %q, %q, want %q, %q", tt.path, claim, inside, tt.claim, tt.inside)
		}
		if err == nil {
			if back := inlinehook.ClaimPath(claim, inside...); back != tt.path {
				t.Errorf("ClaimPath(ParseClaimPath(%q)) = %q", tt.path, back)
			}
		}
	}
}

// FuzzClaimPath: escaping round-trips, and parsing never panics and
// round-trips whatever it accepts.
func FuzzClaimPath(f *testing.F) {
	for _, tt := range pointerTokenCases {
		f.Add(tt.raw, tt.escaped)
	}
	for _, tt := range parseClaimPathCases {
		f.Add(tt.claim, tt.path)
	}
	f.Fuzz(func(t *testing.T, name, path string) {
		esc := inlinehook.EscapePointerToken(name)
		if strings.Contains(esc, "/") {
			t.Fatalf("Escape(%q) = %q contains /", name, esc)
		}
		back, err := inlinehook.UnescapePointerToken(esc)
		if err != nil || back != name {
			t.Fatalf("Unescape(Escape(%q)) = %q, %v", name, back, err)
		}
		if name != "" {
			claim, inside, err := inlinehook.ParseClaimPath(inlinehook.ClaimPath(name, path))
			if err != nil || claim != name || len(inside) != 1 || inside[0] != path {
				t.Fatalf("ParseClaimPath(ClaimPath(%q, %q)) = %q, %q, %v", name, path, claim, inside, err)
			}
		}
		claim, inside, err := inlinehook.ParseClaimPath(path)
		if err != nil {
			return
		}
		if got := inlinehook.ClaimPath(claim, inside...); got != path {
			t.Fatalf("ClaimPath(ParseClaimPath(%q)) = %q", path, got)
		}
	})
}
