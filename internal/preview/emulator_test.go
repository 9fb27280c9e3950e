package preview_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/internal/oktaemu"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
	"github.com/tokenhook/tokenhook/internal/preview"
)

// A request built from an emulator configuration (here: the demo users and
// clients) goes to the hook and is summarized.
func TestBuildRequestFromEmulatorConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emulator.yaml")
	if err := os.WriteFile(path, []byte("scopes: [patients.read]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		spec       oktaemu.PreviewSpec
		grant      string
		user       string
		minted     []string
		errContain string
	}{
		{
			name:  "authorization code",
			spec:  oktaemu.PreviewSpec{User: "jessie.smith@example.com", Client: oktaemu.DemoClientID, GrantType: "authorization_code"},
			grant: "authorization_code", user: "jessie.smith@example.com",
			minted: []string{"id_token", "access_token"},
		},
		{
			name:  "implicit, ID token only",
			spec:  oktaemu.PreviewSpec{User: "kim.sato@example.com", Client: oktaemu.DemoClientID, GrantType: "implicit", ResponseType: "id_token"},
			grant: "implicit", user: "kim.sato@example.com",
			minted: []string{"id_token"},
		},
		{
			name:   "client credentials",
			spec:   oktaemu.PreviewSpec{Client: oktaemu.DemoServiceClientID, GrantType: "client_credentials"},
			grant:  "client_credentials",
			minted: []string{"access_token"},
		},
		{
			name:       "unknown user",
			spec:       oktaemu.PreviewSpec{User: "nobody@example.com", Client: oktaemu.DemoClientID, GrantType: "authorization_code"},
			errContain: "nobody@example.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := preview.BuildRequest(path, tt.spec, nil)
			if tt.errContain != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errContain) {
					t.Fatalf("err %v, want %q", err, tt.errContain)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := newHook(t, 200, patientResponse)
			r := preview.Run(t.Context(), caller(t, h.URL), req)
			s := r.Request
			if s.GrantType != tt.grant || s.User != tt.user || !slices.Equal(s.Minted, tt.minted) {
				t.Errorf("summary %+v", s)
			}
			wantVerdict := hookcall.Applied
			if !slices.Contains(tt.minted, "id_token") {
				wantVerdict = hookcall.Discarded // the identity patch has no ID token
			}
			if r.Verdict != wantVerdict {
				t.Errorf("verdict %s, want %s (%v)", r.Verdict, wantVerdict, r.Violations)
			}
		})
	}
	if _, err := preview.BuildRequest(filepath.Join(t.TempDir(), "missing.yaml"), oktaemu.PreviewSpec{}, nil); err == nil {
		t.Error("a missing configuration file is not an error")
	}
}
