// Package version tells which build of tokenhook is running, from what the
// go command records in every binary (runtime/debug.ReadBuildInfo): the
// module version for `go install …@vX.Y.Z`, and the VCS revision, time and
// dirty flag for builds in a checkout. Nothing is injected with -ldflags.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Info describes the running binary.
type Info struct {
	// Version is the main module's version: "v1.2.0" when built by
	// `go install module@v1.2.0`; in a checkout, a pseudo-version from
	// the commit (or the tag), "+dirty" when modified; "devel" when unknown.
	Version string `json:"version"`
	// Revision is the VCS commit the binary was built from, when known.
	Revision string `json:"revision"`
	// Time is the commit's time (RFC 3339), when known.
	Time string `json:"time"`
	// Modified reports that the work tree had uncommitted changes.
	Modified bool `json:"modified"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"goVersion"`
}

// Get returns the running binary's Info.
func Get() Info {
	info := Info{Version: "devel", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	return fromBuildInfo(bi, info.GoVersion)
}

// fromBuildInfo is Get on a given build info, for tests.
func fromBuildInfo(bi *debug.BuildInfo, goVersion string) Info {
	info := Info{Version: bi.Main.Version, GoVersion: goVersion}
	if info.Version == "" || info.Version == "(devel)" {
		info.Version = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the one-line form `tokenhook version` prints, e.g.
// "tokenhook v1.2.0 (commit 0123abcd, 2026-12-01T10:00:00Z, go1.27.3)".
// Unknown parts are left out; "+dirty" marks a modified work tree.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("tokenhook ")
	if i.Version == "" {
		b.WriteString("devel")
	} else {
		b.WriteString(i.Version)
	}
	// Since Go 1.24 a build in a checkout has a pseudo-version, which
	// already ends in +dirty when the tree was modified.
	dirty := i.Modified && !strings.HasSuffix(i.Version, "+dirty")
	var parts []string
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		commit := "commit " + rev
		if dirty {
			commit += "+dirty"
		}
		parts = append(parts, commit)
	} else if dirty {
		parts = append(parts, "+dirty")
	}
	if i.Time != "" {
		parts = append(parts, i.Time)
	}
	if i.GoVersion != "" {
		parts = append(parts, i.GoVersion)
	}
	if len(parts) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(parts, ", "))
		b.WriteString(")")
	}
	return b.String()
}
