package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
	"github.com/tokenhook/tokenhook/internal/preview"
)

// Environment variables preview reads secrets from, so they stay out of
// shell history and process listings.
const (
	envPreviewAuth        = "TOKENHOOK_PREVIEW_AUTH"
	envPreviewOAuthSecret = "TOKENHOOK_PREVIEW_OAUTH_CLIENT_SECRET"
)

type previewFlags struct {
	request        string
	emulatorConfig string
	spec           oktaemu.PreviewSpec
	scopes         []string
	sets           []string
	login          string
	target         preview.Target
	jsonOut        bool
}

func newPreviewCmd(stdio IO) *cobra.Command {
	var f previewFlags
	cmd := &cobra.Command{
		Use:   "preview --url URL (--request FILE | --emulator-config FILE --user LOGIN --client ID [--grant TYPE])",
		Short: "Call a token hook as Okta's Admin Console Preview does, and show Okta's verdict",
		Long: `Call a token inline hook exactly as Okta would — POST, Okta's headers and
authentication, a 3 s budget, no retry, no redirects — and show what Okta
would make of the answer: the HTTP status and time, the raw response, the
verdict in words (applied, no change, DISCARDED with every reason, DENIED
with the OAuth error the requester gets, FAILED with the cause) and, per
token, the claims before and after.

The request comes from one of:
  --request FILE         a token hook request (JSON; "-" reads standard input).
                         Okta's own Preview output pasted into a file works:
                         it is the same format.
  --emulator-config FILE the request the emulator (tokenhook emulate) would
                         send for --user, --client, --grant (default
                         authorization_code), --scope, --response-type.

Then --set edits it (a JSON Pointer and a JSON value; a bare word that is
not JSON is a string) and --login switches the user's login.

Authentication: --auth-header 'Name: value' (or the environment variable
TOKENHOOK_PREVIEW_AUTH, which keeps the secret out of shell history), or
OAuth 2.0 with --oauth-token-url and --oauth-client-id plus either the
client secret in TOKENHOOK_PREVIEW_OAUTH_CLIENT_SECRET (client_secret_post)
or --oauth-private-key (private_key_jwt). --header adds custom headers.

Okta only calls https:// URLs. preview also accepts http:// to this machine
(localhost, 127.0.0.1, ::1), and to any host with --allow-http.

The report shows claim values: it is written for your own terminal, not for
a log. Secrets (the auth header, the client secret, the bearer token) are
never shown.

Exit status: 0 when Okta would apply the answer or it asks for no change;
1 when Okta would discard it, the hook denies the token, or the call fails;
2 for usage errors.`,
		Example: `  # Against a local tokenhook serve, with the guide's Basic credentials:
  TOKENHOOK_PREVIEW_AUTH='Authorization: Basic YWRtaW46c3VwZXJzZWNyZXQ=' \
    tokenhook preview --url http://localhost:8082/hooks/okta/token \
      --request inlinehook/testdata/requests/authorization_code.json \
      --login kim.sato@example.com

  # A request built by the emulator, as JSON for a script:
  tokenhook preview --url https://hooks.example.com/tokenHook --json \
    --emulator-config emulator.yaml --user jessie.smith@example.com \
    --client tokenhook-sample --grant implicit --response-type "id_token token"`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPreview(cmd, stdio, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target.URL, "url", "", "the hook's URL (required)")
	fl.StringVar(&f.request, "request", "", `request file (JSON), "-" for standard input`)
	fl.StringVar(&f.emulatorConfig, "emulator-config", "", "emulator configuration (YAML) to build the request from")
	fl.StringVar(&f.spec.User, "user", "", "with --emulator-config: the user's login")
	fl.StringVar(&f.spec.Client, "client", "", "with --emulator-config: the OAuth client id")
	fl.StringVar(&f.spec.GrantType, "grant", "authorization_code", "with --emulator-config: authorization_code, implicit, refresh_token, password, client_credentials")
	fl.StringArrayVar(&f.scopes, "scope", nil, "with --emulator-config: a granted scope (repeatable, or space-separated)")
	fl.StringVar(&f.spec.ResponseType, "response-type", "", `with --emulator-config and implicit: "id_token token", "id_token" or "token"`)
	fl.StringArrayVar(&f.sets, "set", nil, `edit the request: PATH=JSON, e.g. /data/identity/claims/preferred_username='"kim.sato@example.com"' (repeatable)`)
	fl.StringVar(&f.login, "login", "", "make the request about this login (user profile, session, preferred_username)")
	fl.StringArrayVar(&f.target.Headers, "header", nil, "custom header 'Name: value' sent on the call (repeatable)")
	fl.StringVar(&f.target.AuthHeader, "auth-header", "", "HTTP-header authentication 'Name: value' (default $"+envPreviewAuth+")")
	fl.StringVar(&f.target.OAuthTokenURL, "oauth-token-url", "", "OAuth 2.0: the token endpoint")
	fl.StringVar(&f.target.OAuthClientID, "oauth-client-id", "", "OAuth 2.0: the client id (client secret from $"+envPreviewOAuthSecret+")")
	fl.StringVar(&f.target.OAuthPrivateKeyFile, "oauth-private-key", "", "OAuth 2.0 private_key_jwt: the RSA private key (PEM or JWK)")
	fl.StringVar(&f.target.OAuthKeyID, "oauth-key-id", "", "OAuth 2.0 private_key_jwt: the key id (default: the JWK's kid)")
	fl.StringVar(&f.target.OAuthScope, "oauth-scope", "", "OAuth 2.0: the scope to request")
	fl.DurationVar(&f.target.Timeout, "timeout", hookcall.DefaultTimeout, "the whole call's budget, OAuth token fetch included (Okta's is 3s)")
	fl.BoolVar(&f.target.AllowHTTPAnyHost, "allow-http", false, "accept http:// to any host (always accepted to localhost)")
	fl.StringVar(&f.target.Reserved, "reserved", "latest", "reserved-claim table: latest (Okta's 2023-07) or union (every table Okta published)")
	fl.BoolVar(&f.target.DPoP, "dpop", false, "the authorization server uses DPoP (cnf reserved in access tokens)")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON document instead of the text report")
	return cmd
}

func runPreview(cmd *cobra.Command, stdio IO, f *previewFlags) error {
	changed := cmd.Flags().Changed
	if f.target.URL == "" {
		return &usageError{errors.New("--url is required")}
	}
	if (f.request == "") == (f.emulatorConfig == "") {
		return &usageError{errors.New("give exactly one of --request FILE and --emulator-config FILE")}
	}
	if f.request != "" {
		for _, name := range []string{"user", "client", "grant", "scope", "response-type"} {
			if changed(name) {
				return &usageError{fmt.Errorf("--%s builds a request from --emulator-config; with --request, edit it with --set or --login", name)}
			}
		}
	}
	if f.target.Timeout <= 0 {
		return &usageError{errors.New("--timeout must be positive")}
	}
	if !changed("auth-header") {
		f.target.AuthHeader = getenv(stdio.Environ, envPreviewAuth)
	}
	f.target.OAuthClientSecret = getenv(stdio.Environ, envPreviewOAuthSecret)
	if f.target.OAuthTokenURL == "" && f.target.OAuthClientID == "" && f.target.OAuthPrivateKeyFile == "" {
		f.target.OAuthClientSecret = "" // a stray environment variable does not turn OAuth on
	}
	hook, err := f.target.Hook()
	if err != nil {
		return &usageError{err}
	}
	edits := make([]preview.Edit, 0, len(f.sets))
	for _, s := range f.sets {
		e, err := preview.ParseEdit(s)
		if err != nil {
			return &usageError{err}
		}
		edits = append(edits, e)
	}

	var req *inlinehook.TokenRequest
	if f.request != "" {
		if req, err = preview.ReadRequestFile(f.request, stdio.Stdin); err != nil {
			return err
		}
	} else {
		for _, s := range f.scopes {
			f.spec.Scopes = append(f.spec.Scopes, strings.Fields(s)...)
		}
		env := envLookup(stdio.Environ)
		if req, err = preview.BuildRequest(f.emulatorConfig, f.spec, env); err != nil {
			return err
		}
	}
	if f.login != "" {
		preview.SetLogin(req, f.login)
	}
	if req, err = preview.ApplyEdits(req, edits); err != nil {
		return &usageError{err}
	}

	caller := &hookcall.Caller{Hook: hook}
	report := preview.Run(cmd.Context(), caller, req)
	if f.jsonOut {
		err = report.WriteJSON(stdio.Stdout)
	} else {
		err = report.WriteText(stdio.Stdout)
	}
	if err != nil {
		return err
	}
	if report.ExitCode() != 0 {
		return fmt.Errorf("the hook's answer: %s", report.Verdict)
	}
	return nil
}
