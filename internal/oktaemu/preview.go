package oktaemu

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// PreviewSpec chooses the mint BuildPreviewRequest describes, like the
// fields of the Admin Console's Preview tab.
type PreviewSpec struct {
	// User is a login or user id; ignored for client_credentials.
	User string
	// Client is a client id.
	Client string
	// GrantType is authorization_code, implicit, refresh_token, password
	// or client_credentials.
	GrantType string
	// Scopes granted. Empty means "openid profile email" (with
	// offline_access for refresh_token and password), or for client_credentials the
	// client's custom scopes (all custom scopes when it lists none).
	Scopes []string
	// ResponseType is for implicit: "id_token token" (default), "id_token"
	// or "token". For authorization_code it can only be "code".
	ResponseType string
}

// previewIP is the client address of previewed requests.
const previewIP = "127.0.0.1"

// BuildPreviewRequest builds the token inline hook request the emulator
// would send for the mint spec describes: the same builder the emulator
// uses, with fresh ids, a session that starts now, and, for the
// authorization code and implicit flows, the authorize URL a client would
// request (a PKCE challenge, a state and a nonce). Without an issuer in cfg
// it uses the default listen address's.
func BuildPreviewRequest(cfg *Config, spec PreviewSpec) (*inlinehook.TokenRequest, error) {
	c := cloneConfig(cfg)
	c.fillDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid emulator configuration:\n%w", err)
	}
	issuer := c.Issuer
	if issuer == "" {
		issuer = c.IssuerFor(DefaultListen)
	}
	now := time.Now()
	a := newAuthServer(c, issuer, now)

	client := a.clients[spec.Client]
	if client == nil {
		ids := make([]string, len(c.Clients))
		for i, cl := range c.Clients {
			ids[i] = cl.ID
		}
		return nil, fmt.Errorf("unknown client %q; the configuration has %s", spec.Client, strings.Join(ids, ", "))
	}
	grant := spec.GrantType
	if !slices.Contains(grantTypes, grant) {
		return nil, fmt.Errorf("grant type %q: want %s", grant, strings.Join(grantTypes, ", "))
	}
	if !allows(client, grant) {
		return nil, fmt.Errorf("client %s may not use the %s grant (it has %s)", client.ID, grant, strings.Join(client.GrantTypes, ", "))
	}
	var user *User
	if grant != GrantClientCredentials {
		if user = a.user(spec.User); user == nil {
			return nil, fmt.Errorf("unknown user %q", spec.User)
		}
		if user.Status != "ACTIVE" {
			return nil, fmt.Errorf("user %s is %s and cannot sign in", user.Login, user.Status)
		}
	}
	requested := spec.Scopes
	if len(requested) == 0 {
		requested = defaultPreviewScopes(c, client, grant)
	}
	scopes, oerr := a.grantScopes(client, grant, requested)
	if oerr != nil {
		return nil, errors.New(oerr.description)
	}

	var m *mintRequest
	switch grant {
	case GrantAuthorizationCode, GrantImplicit:
		responseType := spec.ResponseType
		if responseType == "" {
			responseType = "code"
			if grant == GrantImplicit {
				responseType = "id_token token"
			}
		}
		if (responseType == "code") != (grant == GrantAuthorizationCode) {
			return nil, fmt.Errorf("response type %q does not fit the %s grant", responseType, grant)
		}
		params := url.Values{
			"client_id":     {client.ID},
			"response_type": {responseType},
			"scope":         {strings.Join(scopes, " ")},
			"redirect_uri":  {client.RedirectURIs[0]},
			"state":         {randomToken(12)},
			"nonce":         {randomToken(12)},
		}
		if grant == GrantAuthorizationCode {
			sum := sha256.Sum256([]byte(randomToken(32)))
			params.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
			params.Set("code_challenge_method", "S256")
		}
		ar, err := a.parseAuthorize(params, params.Encode())
		if err != nil {
			return nil, err
		}
		s := &session{
			id: randomID("102", 25), userID: user.ID, login: user.Login,
			created: now, expires: now.Add(sessionLifetime),
		}
		m = a.authorizeMint(ar, user, s, http.MethodGet, previewIP)
	case GrantPassword:
		m = passwordMint(client, user, scopes, now, "", previewIP)
	case GrantClientCredentials:
		m = clientCredentialsMint(client, scopes, "", previewIP)
	case GrantRefreshToken:
		if !slices.Contains(scopes, "offline_access") {
			return nil, errors.New("the refresh_token grant needs the offline_access scope: a refresh token is only issued with it")
		}
		redirect := ""
		if len(client.RedirectURIs) > 0 {
			redirect = client.RedirectURIs[0]
		}
		g := &refreshGrant{
			jti: newRefreshJTI(), clientID: client.ID, userID: user.ID, scopes: scopes,
			authTime: now.Add(-time.Hour), issued: now.Add(-time.Hour),
			original: inlinehook.ProtocolRequest{
				ClientID: client.ID, RedirectURI: redirect, ResponseMode: "query",
				ResponseType: "code", Scope: strings.Join(scopes, " "), State: randomToken(12),
			},
		}
		m = refreshMint(g, client, user, scopes, "", previewIP)
	}
	return a.payload(m, now), nil
}

func defaultPreviewScopes(c *Config, client *Client, grant string) []string {
	switch grant {
	case GrantClientCredentials:
		var custom []string
		for _, s := range client.Scopes {
			if !slices.Contains(standardScopes, s) {
				custom = append(custom, s)
			}
		}
		if len(client.Scopes) == 0 {
			custom = slices.Clone(c.Scopes)
		}
		return custom
	case GrantRefreshToken, GrantPassword:
		return []string{"openid", "profile", "email", "offline_access"}
	}
	return []string{"openid", "profile", "email"}
}

// cloneConfig copies a configuration deeply enough that filling defaults
// never changes the caller's.
func cloneConfig(cfg *Config) *Config {
	c := *cfg
	c.Scopes = slices.Clone(cfg.Scopes)
	c.Users = slices.Clone(cfg.Users)
	c.Clients = slices.Clone(cfg.Clients)
	for i := range c.Clients {
		cl := &c.Clients[i]
		cl.GrantTypes = slices.Clone(cl.GrantTypes)
		cl.RedirectURIs = slices.Clone(cl.RedirectURIs)
		cl.PostLogoutRedirectURIs = slices.Clone(cl.PostLogoutRedirectURIs)
		cl.Scopes = slices.Clone(cl.Scopes)
	}
	c.Claims = slices.Clone(cfg.Claims)
	if cfg.Hook != nil {
		h := *cfg.Hook
		h.Headers = slices.Clone(h.Headers)
		h.GrantTypes = slices.Clone(h.GrantTypes)
		c.Hook = &h
	}
	return &c
}
