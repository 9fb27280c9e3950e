package main

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
)

func TestManyRulesConfigShape(t *testing.T) {
	var doc struct {
		Lookups []map[string]any `yaml:"lookups"`
		Rules   []struct {
			Name  string `yaml:"name"`
			Claim string `yaml:"claim"`
			When  string `yaml:"when"`
		} `yaml:"rules"`
	}
	if err := yaml.Unmarshal([]byte(manyRulesConfig()), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Rules) != 20 || len(doc.Lookups) != 1 {
		t.Fatalf("%d rules and %d lookups, want 20 and 1 (the user)", len(doc.Rules), len(doc.Lookups))
	}
	if doc.Rules[0].Claim != "patientId" || doc.Rules[0].When != "" {
		t.Errorf("first rule %+v, want the unconditional patient rule", doc.Rules[0])
	}
	var names []string
	for _, r := range doc.Rules {
		if slices.Contains(names, r.Name) {
			t.Errorf("rule name %q twice", r.Name)
		}
		names = append(names, r.Name)
	}
}

// hookFor wires the real hook (internal/setup, as `tokenhook serve` does)
// with config over a memory store holding records, and returns its answer
// to body.
func hookFor(t *testing.T, config string, records []user.User, body []byte) (int, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokenhook.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := setup.LoadConfig(path, []string{"TOKENHOOK_STORE=memory:",
		"TOKENHOOK_AUTH_BASIC_USERNAME=" + hookUser, "TOKENHOOK_AUTH_BASIC_PASSWORD=" + hookPassword}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := setup.NewHook(t.Context(), cfg, setup.NewLogger(io.Discard, cfg.Log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := h.Store.Import(t.Context(), records, user.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", cfg.Server.Path, strings.NewReader(string(body)))
	req.SetBasicAuth(hookUser, hookPassword)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func benchRequest(t *testing.T) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "testdata", "request.json"))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestManyRulesAnswerThePatch: the 19 extra rules compile and none fires
// for the benchmark request, so tokenhook-20rules must answer the one patch.
func TestManyRulesAnswerThePatch(t *testing.T) {
	status, reply := hookFor(t, manyRulesConfig(),
		[]user.User{{Key: patientLogin, Attributes: map[string]any{"patientId": patientID}}}, benchRequest(t))
	if err := compareReply(status, reply); err != nil {
		t.Error(err)
	}
}

// TestManyRulesAreLive: the extra rules are not dead code. For a kiosk
// client, extra query parameters, a hardware key without MFA, and a richer
// record, most of them fire.
func TestManyRulesAreLive(t *testing.T) {
	var req map[string]any
	if err := json.Unmarshal(benchRequest(t), &req); err != nil {
		t.Fatal(err)
	}
	ctx := req["data"].(map[string]any)["context"].(map[string]any)
	url := ctx["request"].(map[string]any)["url"].(map[string]any)
	url["value"] = url["value"].(string) + "&tenant=acme&region=eu"
	session := ctx["session"].(map[string]any)
	session["amr"] = append(session["amr"].([]any), "HWK")
	session["mfaActive"] = false
	ctx["protocol"].(map[string]any)["client"].(map[string]any)["id"] = "0oaKIOSK8x2kq1mZbT4Y"
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	record := user.User{Key: patientLogin, Attributes: map[string]any{
		"patientId": patientID, "groups": []any{"app-portal", "staff"}, "mrn": "M-1",
		"clinic": "Main Street", "careTeam": []any{"dr-lee"}, "preferredName": "Jess",
	}}
	status, reply := hookFor(t, manyRulesConfig(), []user.User{record}, body)
	if status != 200 {
		t.Fatalf("status %d: %s", status, reply)
	}
	for _, want := range []string{"/claims/patientId", "/claims/assurance", "/claims/clinic", "/claims/mrn",
		"/claims/tenant", "/claims/careTeam", "/claims/firstName", "/claims/memberOf", "/claims/region",
		"/token/lifetime/expiration"} {
		if !strings.Contains(string(reply), want) {
			t.Errorf("reply lacks %s: %s", want, reply)
		}
	}
}
