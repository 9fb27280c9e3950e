package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		name string
		info Info
		want string
	}{
		{"release", Info{Version: "v1.2.0", Revision: "0123abcd", Time: "2026-12-01T10:00:00Z", GoVersion: "go1.27.3"},
			"tokenhook v1.2.0 (commit 0123abcd, 2026-12-01T10:00:00Z, go1.27.3)"},
		{"long revision is shortened", Info{Version: "devel", Revision: "0123456789abcdef0123456789abcdef01234567", Time: "2026-12-01T10:00:00Z", GoVersion: "go1.27.3"},
			"tokenhook devel (commit 0123456789ab, 2026-12-01T10:00:00Z, go1.27.3)"},
		{"modified", Info{Version: "devel", Revision: "0123abcd", Time: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.27.3"},
			"tokenhook devel (commit 0123abcd+dirty, 2026-12-01T10:00:00Z, go1.27.3)"},
		{"modified without a revision", Info{Version: "devel", Modified: true, GoVersion: "go1.27.3"},
			"tokenhook devel (+dirty, go1.27.3)"},
		{"pseudo-version already marked dirty", Info{Version: "v0.0.0-20261201234644-0a178f679a0e+dirty", Revision: "0a178f679a0ede2c722423b63d2413fc767e0a2e", Time: "2026-12-01T23:46:44Z", Modified: true, GoVersion: "go1.27.0"},
			"tokenhook v0.0.0-20261201234644-0a178f679a0e+dirty (commit 0a178f679a0e, 2026-12-01T23:46:44Z, go1.27.0)"},
		{"no VCS information", Info{Version: "v1.2.0", GoVersion: "go1.27.3"},
			"tokenhook v1.2.0 (go1.27.3)"},
		{"nothing known", Info{},
			"tokenhook devel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.info.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want Info
	}{
		{"go install module@version", debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}},
			Info{Version: "v1.2.0", GoVersion: "go1.27.3"}},
		{"built in a checkout", debug.BuildInfo{
			Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "-trimpath", Value: "true"},
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "0123abcd"},
				{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
				{Key: "vcs.modified", Value: "true"},
			}},
			Info{Version: "devel", Revision: "0123abcd", Time: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.27.3"}},
		{"clean checkout", debug.BuildInfo{
			Main:     debug.Module{Version: "v1.2.1-0.20261201100000-0123abcd0123"},
			Settings: []debug.BuildSetting{{Key: "vcs.modified", Value: "false"}}},
			Info{Version: "v1.2.1-0.20261201100000-0123abcd0123", GoVersion: "go1.27.3"}},
		{"no version (go test)", debug.BuildInfo{},
			Info{Version: "devel", GoVersion: "go1.27.3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromBuildInfo(&tc.bi, "go1.27.3"); got != tc.want {
				t.Errorf("fromBuildInfo = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestGet(t *testing.T) {
	info := Get()
	if info.GoVersion == "" || info.GoVersion != runtime.Version() {
		t.Errorf("GoVersion = %q, want %q", info.GoVersion, runtime.Version())
	}
	if info.Version == "" {
		t.Error("Version is empty, want at least \"devel\"")
	}
}
