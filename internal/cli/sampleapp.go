package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/spf13/cobra"

	"github.com/tokenhook/tokenhook/internal/sampleapp"
	"github.com/tokenhook/tokenhook/internal/setup"
)

func newSampleappCmd(stdio IO) *cobra.Command {
	var listen, envFile, issuer, clientID string
	cmd := &cobra.Command{
		Use:   "sampleapp",
		Short: "Run the guide's sample web app: sign in, see every ID token claim",
		Long: `Run the sample web app of Okta's token inline hook guide: an OpenID Connect
client (authorization code flow with PKCE) whose profile page lists every claim
of the ID token, so a claim the hook added shows at once. It works against a
real Okta org and against 'tokenhook emulate'.

Configuration, as in Okta's sample: ISSUER, CLIENT_ID and CLIENT_SECRET, and
optionally BASE_URL (default http://localhost:8080) and SCOPES (default
"openid profile email"), from the environment or the --env-file (KEY=VALUE
lines; Okta's testenv is read when .env is absent). The environment wins over
the file and --issuer/--client-id win over both; the secret comes only from the
environment or the file. Register BASE_URL/authorization-code/callback as the
redirect URI and BASE_URL as the sign-out redirect URI.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			// Flags override by coming last: ConfigFromEnv takes the last
			// entry of a key.
			environ := slices.Clone(stdio.Environ)
			if cmd.Flags().Changed("issuer") {
				environ = append(environ, "ISSUER="+issuer)
			}
			if cmd.Flags().Changed("client-id") {
				environ = append(environ, "CLIENT_ID="+clientID)
			}
			cfg, err := sampleapp.ConfigFromEnv(environ, envFile)
			if err != nil {
				return err
			}
			cfg.Logger = slog.New(slog.NewTextHandler(stdio.Stderr, nil))
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			app, err := sampleapp.New(ctx, cfg)
			if err != nil {
				ln.Close()
				return err
			}
			if why := baseURLMismatch(app.BaseURL(), ln.Addr()); why != "" {
				fmt.Fprintf(stdio.Stderr, "warning: %s; the redirect URI %s must lead browsers to this server (fine behind a proxy that forwards to it)\n",
					why, app.RedirectURL())
			}
			// An early look at the provider: a wrong ISSUER stops here; a
			// provider that is not up yet is only a warning, since the app
			// retries whenever someone logs in.
			if err := app.Discover(ctx); err != nil {
				if mismatch := (*oidc.IssuerMismatchError)(nil); errors.As(err, &mismatch) {
					ln.Close()
					return err
				}
				fmt.Fprintf(stdio.Stderr, "warning: the provider is not reachable yet (%v); the app retries when someone logs in\n", err)
			}
			fmt.Fprintf(stdio.Stdout, "Listening on %s\nOpen %s in a browser\nRedirect URI %s, sign-out redirect URI %s\n",
				ln.Addr(), app.BaseURL(), app.RedirectURL(), app.BaseURL())
			return setup.RunServer(ctx, app.Server(), ln, 5*time.Second, cfg.Logger)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on, host:port (match BASE_URL)")
	f.StringVar(&envFile, "env-file", ".env", "dotenv file with ISSUER, CLIENT_ID, CLIENT_SECRET (\"\" for none)")
	f.StringVar(&issuer, "issuer", "", "issuer URL, overriding ISSUER")
	f.StringVar(&clientID, "client-id", "", "client ID, overriding CLIENT_ID")
	return cmd
}

// baseURLMismatch says why browsers sent to baseURL may not reach a server
// listening on addr, or "" when they do. Loopback names and addresses count
// as one host, and an unspecified address serves every host.
func baseURLMismatch(baseURL string, addr net.Addr) string {
	u, err := url.Parse(baseURL)
	tcp, ok := addr.(*net.TCPAddr)
	if err != nil || !ok {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	sameHost := tcp.IP.IsUnspecified() ||
		(tcp.IP.IsLoopback() && (host == "localhost" || (ip != nil && ip.IsLoopback()))) ||
		(ip != nil && ip.Equal(tcp.IP))
	if port == strconv.Itoa(tcp.Port) && sameHost {
		return ""
	}
	return fmt.Sprintf("BASE_URL is %s but the app listens on %s", baseURL, addr)
}
