package sampleapp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/internal/sampleapp"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const oktaTestenv = `# Okta's testenv, as the guide has you fill it in
ISSUER=https://dev-123.okta.com/oauth2/default
CLIENT_ID=0oa1file
CLIENT_SECRET="quoted # not a comment"
`

func TestConfigFromEnv(t *testing.T) {
	base := sampleapp.Config{
		Issuer:       "https://dev-123.okta.com/oauth2/default",
		ClientID:     "0oa1file",
		ClientSecret: "quoted # not a comment",
	}
	tests := []struct {
		name    string
		environ []string
		file    string // .env content; "" writes no file
		testenv string // testenv content; "" writes no file
		path    string // dotenv path relative to the temp dir; default ".env"
		want    sampleapp.Config
		wantErr []string // substrings of the error
	}{
		{name: "dotenv only", file: oktaTestenv, want: base},
		{name: "testenv when .env is absent", testenv: oktaTestenv, want: base},
		{name: ".env wins over testenv", file: oktaTestenv, testenv: "ISSUER=https://other.example\nCLIENT_ID=x\nCLIENT_SECRET=y\n", want: base},
		{
			name:    "environment wins over the file; later entries win; empty counts as unset",
			environ: []string{"CLIENT_ID=0oa1env", "CLIENT_SECRET=", "CLIENT_ID=0oa2env", "BASE_URL=https://app.example/"},
			file:    oktaTestenv,
			want:    sampleapp.Config{Issuer: base.Issuer, ClientID: "0oa2env", ClientSecret: base.ClientSecret, BaseURL: "https://app.example/"},
		},
		{
			name:    "environment only, APP_BASE_URL and SCOPES",
			environ: []string{"ISSUER=http://127.0.0.1:8081/oauth2/default", "CLIENT_ID=c", "CLIENT_SECRET=s", "APP_BASE_URL=http://localhost:3000", "SCOPES=openid, profile  offline_access"},
			want:    sampleapp.Config{Issuer: "http://127.0.0.1:8081/oauth2/default", ClientID: "c", ClientSecret: "s", BaseURL: "http://localhost:3000", Scopes: []string{"openid", "profile", "offline_access"}},
		},
		{
			name: "quotes, export, comments, blank lines",
			file: "\n# comment\nexport ISSUER='https://dev-1.okta.com/oauth2/default'  # trailing\n" +
				"CLIENT_ID = 0oa-unquoted # trailing comment\n" +
				"CLIENT_SECRET=\"a\\\"b\\\\c#d\"\n" +
				"SCOPES='openid email'\n",
			want: sampleapp.Config{Issuer: "https://dev-1.okta.com/oauth2/default", ClientID: "0oa-unquoted", ClientSecret: `a"b\c#d`, Scopes: []string{"openid", "email"}},
		},
		{name: "no file, nothing set: every missing key in one error", wantErr: []string{"missing ISSUER, CLIENT_ID, CLIENT_SECRET", ".env (not found)"}},
		{name: "some keys missing", file: "ISSUER=https://dev-1.okta.com/oauth2/default\n", wantErr: []string{"missing CLIENT_ID, CLIENT_SECRET", "the environment or "}},
		{
			name:    "template placeholder and bad base URL, with a missing key",
			environ: []string{"ISSUER=https://{yourOktaDomain}/oauth2/default", "BASE_URL=localhost:8080", "CLIENT_SECRET=s"},
			wantErr: []string{"missing CLIENT_ID", "ISSUER \"https://{yourOktaDomain}/oauth2/default\": still holds a template placeholder", "BASE_URL \"localhost:8080\": not an absolute http(s) URL"},
		},
		{name: "scopes without openid", environ: []string{"SCOPES=profile"}, file: oktaTestenv, wantErr: []string{"must include openid"}},
		{name: "line without =", file: "ISSUER=https://x.example\nCLIENT_SECRET s3cret-in-a-bad-line\n", wantErr: []string{".env:2: expected KEY=VALUE"}},
		{name: "unterminated quote", file: "CLIENT_SECRET=\"abc\n", wantErr: []string{".env:1: CLIENT_SECRET: unterminated quote"}},
		{name: "text after closing quote", file: "CLIENT_SECRET='abc' def\n", wantErr: []string{"text after the closing quote"}},
		{name: "explicit file that does not exist", path: "prod.env", wantErr: []string{"prod.env", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				writeFile(t, dir, ".env", tt.file)
			}
			if tt.testenv != "" {
				writeFile(t, dir, "testenv", tt.testenv)
			}
			path := tt.path
			if path == "" {
				path = ".env"
			}
			got, err := sampleapp.ConfigFromEnv(tt.environ, filepath.Join(dir, path))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; got %+v", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error quotes a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigFromEnvNoFile(t *testing.T) {
	got, err := sampleapp.ConfigFromEnv([]string{"ISSUER=https://x.example/oauth2/default", "CLIENT_ID=c", "CLIENT_SECRET=s"}, "")
	if err != nil || got.Issuer != "https://x.example/oauth2/default" {
		t.Fatalf("%+v %v", got, err)
	}
}
