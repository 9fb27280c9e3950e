package deploy_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const unitFile = "systemd/tokenhook.service"

// unitDirectives are the directives a section of ours may use: a misspelt
// one (ProtectSytem=) is only a warning to systemd, and a hardening setting
// silently missing.
var unitDirectives = map[string][]string{
	"Unit": {"Description", "Documentation", "Wants", "Requires", "After", "Before", "BindsTo", "PartOf",
		"ConditionPathExists", "StartLimitIntervalSec", "StartLimitBurst"},
	"Service": {"Type", "ExecStart", "ExecStartPre", "ExecReload", "ExecStop", "Restart", "RestartSec",
		"KillSignal", "KillMode", "TimeoutStartSec", "TimeoutStopSec", "WatchdogSec",
		"User", "Group", "DynamicUser", "SupplementaryGroups", "StateDirectory", "StateDirectoryMode",
		"ConfigurationDirectory", "ConfigurationDirectoryMode", "RuntimeDirectory", "CacheDirectory",
		"LogsDirectory", "WorkingDirectory", "UMask", "Environment", "EnvironmentFile",
		"LoadCredential", "LoadCredentialEncrypted", "SetCredential", "SetCredentialEncrypted",
		"LimitNOFILE", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
		"PrivateMounts", "PrivateUsers", "PrivateNetwork", "DevicePolicy", "DeviceAllow",
		"ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
		"ProtectClock", "ProtectHostname", "ProtectProc", "ProcSubset", "RestrictAddressFamilies",
		"RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "RemoveIPC", "LockPersonality",
		"MemoryDenyWriteExecute", "CapabilityBoundingSet", "AmbientCapabilities", "SystemCallArchitectures",
		"SystemCallFilter", "SystemCallErrorNumber", "IPAddressAllow", "IPAddressDeny", "ReadWritePaths",
		"ReadOnlyPaths", "InaccessiblePaths", "MemoryMax", "MemoryHigh", "CPUQuota", "TasksMax"},
	"Install": {"WantedBy", "RequiredBy", "Alias", "Also"},
}

// unitSettings is a unit file: section → directive → values in order.
type unitSettings map[string]map[string][]string

// parseUnit parses a systemd unit file: [Section] headers, Key=Value
// lines, comments (# or ;), backslash continuations.
func parseUnit(t *testing.T, name string) unitSettings {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitSettings{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		for strings.HasSuffix(line, `\`) && sc.Scan() {
			n++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(sc.Text())
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				t.Errorf("%s:%d: malformed section header %q", name, n, line)
				continue
			}
			section = line[1 : len(line)-1]
			if _, ok := unitDirectives[section]; !ok {
				t.Errorf("%s:%d: unknown section [%s]", name, n, section)
			}
			if _, dup := u[section]; dup {
				t.Errorf("%s:%d: section [%s] twice", name, n, section)
			}
			u[section] = map[string][]string{}
		default:
			key, value, ok := strings.Cut(line, "=")
			key = strings.TrimSpace(key)
			switch {
			case !ok || key == "":
				t.Errorf("%s:%d: want Key=Value, have %q", name, n, line)
			case section == "":
				t.Errorf("%s:%d: %s outside any section", name, n, key)
			case !slices.Contains(unitDirectives[section], key):
				t.Errorf("%s:%d: %s= is not a directive of [%s] we expect (misspelt?)", name, n, key, section)
			default:
				u[section][key] = append(u[section][key], strings.TrimSpace(value))
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u unitSettings) last(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, unitFile)
	for _, s := range []string{"Unit", "Service", "Install"} {
		if _, ok := u[s]; !ok {
			t.Errorf("%s: no [%s] section", unitFile, s)
		}
	}
	for key, want := range map[string]string{
		"DynamicUser":             "yes",
		"StateDirectory":          "tokenhook",
		"Restart":                 "on-failure",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"CapabilityBoundingSet":   "",
		"LockPersonality":         "yes",
		"RestrictSUIDSGID":        "yes",
	} {
		if _, set := u["Service"][key]; !set || u.last("Service", key) != want {
			t.Errorf("[Service] %s=%q, want %q", key, u.last("Service", key), want)
		}
	}
	if typ := u.last("Service", "Type"); typ != "simple" && typ != "exec" {
		t.Errorf("[Service] Type=%s: serve does not notify systemd; want simple or exec", typ)
	}
	if !slices.Contains(u["Service"]["SystemCallFilter"], "@system-service") {
		t.Errorf("[Service] SystemCallFilter: want @system-service")
	}
	execStart := strings.Fields(u.last("Service", "ExecStart"))
	if len(execStart) < 2 || !filepath.IsAbs(execStart[0]) || execStart[1] != "serve" {
		t.Errorf("[Service] ExecStart=%q: want /abs/path/tokenhook serve ...", execStart)
	}
	if !slices.ContainsFunc(u["Service"]["LoadCredential"], func(v string) bool { return strings.HasPrefix(v, "hook-secret:") }) {
		t.Errorf("[Service] LoadCredential: want hook-secret:PATH")
	}
	if timeout, err := time.ParseDuration(u.last("Service", "TimeoutStopSec")); err != nil || timeout <= 10*time.Second {
		t.Errorf("[Service] TimeoutStopSec=%s: want more than serve's 10 s shutdown_timeout", u.last("Service", "TimeoutStopSec"))
	}
	if !slices.Contains(u["Install"]["WantedBy"], "multi-user.target") {
		t.Errorf("[Install] WantedBy: want multi-user.target")
	}

	env := unitEnvironment(u)
	if env["TOKENHOOK_AUTH_HEADER_VALUES_FILE"] != "%d/hook-secret" {
		t.Errorf("Environment TOKENHOOK_AUTH_HEADER_VALUES_FILE=%q, want %%d/hook-secret (the credential)", env["TOKENHOOK_AUTH_HEADER_VALUES_FILE"])
	}
	if env["TOKENHOOK_AUTH_REQUIRE"] != "true" {
		t.Errorf("Environment TOKENHOOK_AUTH_REQUIRE=%q, want true", env["TOKENHOOK_AUTH_REQUIRE"])
	}
	if store := env["TOKENHOOK_STORE"]; !strings.HasPrefix(store, "sqlite:/var/lib/tokenhook/") {
		t.Errorf("Environment TOKENHOOK_STORE=%q: want the SQLite file in the StateDirectory /var/lib/tokenhook", store)
	}
	known := configEnvNames(t)
	for name := range env {
		checkEnvName(t, known, unitFile, name)
	}
	// The example environment file: TOKENHOOK_* names the server reads,
	// commented-out examples included.
	data, err := os.ReadFile("systemd/tokenhook.env.example")
	if err != nil {
		t.Fatal(err)
	}
	assign := regexp.MustCompile(`^#?\s*([A-Z][A-Z0-9_]*)=`)
	for n, line := range strings.Split(string(data), "\n") {
		if m := assign.FindStringSubmatch(line); m != nil {
			checkEnvName(t, known, "systemd/tokenhook.env.example:"+strconv.Itoa(n+1), m[1])
		} else if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("systemd/tokenhook.env.example:%d: want KEY=value or a comment, have %q", n+1, line)
		}
	}
}

// unitEnvironment returns the variables of the unit's Environment= lines
// (NAME=value, possibly several a line, possibly quoted).
func unitEnvironment(u unitSettings) map[string]string {
	env := map[string]string{}
	for _, line := range u["Service"]["Environment"] {
		for _, kv := range strings.Fields(line) {
			kv = strings.Trim(kv, `"`)
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
	}
	return env
}

// TestSystemdConfigIsValid runs the real binary's `rules check` on
// deploy/systemd/tokenhook.yaml with the unit's environment (the credential
// written where %d points) and, where systemd-analyze is installed,
// verifies the unit with it.
func TestSystemdConfigIsValid(t *testing.T) {
	u := parseUnit(t, unitFile)
	bin := buildTokenhook(t)
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "hook-secret"), []byte("placeholder-secret-of-32-characters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	var environ []string
	for k, v := range unitEnvironment(u) {
		v = strings.ReplaceAll(v, "%d", creds)
		v = strings.ReplaceAll(v, "/var/lib/tokenhook", state)
		environ = append(environ, k+"="+v)
	}
	execStart := strings.Fields(u.last("Service", "ExecStart"))
	i := slices.Index(execStart, "--config")
	if i < 0 || i+1 >= len(execStart) || execStart[i+1] != "/etc/tokenhook/tokenhook.yaml" {
		t.Fatalf("ExecStart=%q: want --config /etc/tokenhook/tokenhook.yaml (deploy/systemd/tokenhook.yaml installed)", execStart)
	}
	rulesCheck(t, bin, "systemd/tokenhook.yaml", environ)

	t.Run("systemd-analyze verify", func(t *testing.T) {
		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			missing(t, "systemd-analyze is not installed: the unit was parsed above")
		}
		unit, err := os.ReadFile(unitFile)
		if err != nil {
			t.Fatal(err)
		}
		// verify checks that ExecStart's binary exists: point it at the
		// one just built.
		unit = []byte(strings.ReplaceAll(string(unit), "ExecStart="+execStart[0], "ExecStart="+bin))
		tmp := filepath.Join(t.TempDir(), "tokenhook.service")
		if err := os.WriteFile(tmp, unit, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", tmp).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})
}
