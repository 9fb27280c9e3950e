package oktaemu

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// errInvalidClient is the answer to any failed client authentication: the
// same words whether the client is unknown or its secret is wrong.
func errInvalidClient() *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
		description: "Client authentication failed. Either the client or the client credentials are invalid."}
}

// authenticateClient authenticates the client of a token, introspection or
// revocation request: client_secret_basic (the Authorization header),
// client_secret_post (client_id and client_secret in the form),
// private_key_jwt (client_assertion_type and client_assertion in the form)
// or, for a public client, client_id alone. The method must be the
// client's. basic reports whether the header was used, for
// WWW-Authenticate.
func (e *Emulator) authenticateClient(r *http.Request) (c *Client, basic bool, oe *oauthError) {
	form := r.PostForm
	if form.Has("client_assertion") || form.Has("client_assertion_type") {
		_, _, basic = r.BasicAuth()
		if basic || form.Has("client_secret") {
			return nil, basic, errInvalidRequest("The client authenticated in more than one way.")
		}
		c, oe = e.assertionClient(r)
		return c, false, oe
	}
	var id, secret, method string
	if hid, hsecret, ok := r.BasicAuth(); ok {
		basic = true
		if form.Has("client_secret") {
			return nil, true, errInvalidRequest("The client authenticated in more than one way.")
		}
		// RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
		var err1, err2 error
		id, err1 = url.QueryUnescape(hid)
		secret, err2 = url.QueryUnescape(hsecret)
		if err1 != nil || err2 != nil {
			return nil, true, errInvalidClient()
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return nil, true, errInvalidRequest("The client_id does not match the authenticated client.")
		}
		method = AuthClientSecretBasic
	} else if form.Has("client_secret") {
		id, secret, method = form.Get("client_id"), form.Get("client_secret"), AuthClientSecretPost
	} else {
		id, method = form.Get("client_id"), AuthNone
	}
	if id == "" {
		return nil, basic, errInvalidClient()
	}
	c = e.as.clients[id]
	if c == nil || c.TokenEndpointAuthMethod != method {
		e.logger.Info("client authentication failed", "method", method)
		return nil, basic, errInvalidClient()
	}
	if method != AuthNone && !equalSecrets(secret, c.Secret) {
		e.logger.Info("client authentication failed", "client_id", c.ID, "method", method)
		return nil, basic, errInvalidClient()
	}
	return c, basic, nil
}

// equalSecrets compares in constant time, lengths included.
func equalSecrets(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// writeClientError writes an OAuth error; an invalid_client after Basic
// authentication carries WWW-Authenticate, as RFC 6749 §5.2 requires.
func (e *Emulator) writeClientError(w http.ResponseWriter, oe *oauthError, basic bool) {
	if oe.code == "invalid_client" && basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+e.as.issuer+`"`)
	}
	writeOAuthError(w, oe)
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// token is /v1/token.
func (e *Emulator) token(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		writeOAuthError(w, errInvalidRequest("The request body could not be read as a form."))
		return
	}
	for name, v := range r.PostForm {
		if len(v) > 1 {
			writeOAuthError(w, errInvalidRequest("The "+name+" parameter is repeated."))
			return
		}
	}
	client, basic, oe := e.authenticateClient(r)
	if oe != nil {
		e.writeClientError(w, oe, basic)
		return
	}
	grant := r.PostForm.Get("grant_type")
	switch grant {
	case "":
		writeOAuthError(w, errInvalidRequest("The grant_type parameter is required."))
		return
	case GrantAuthorizationCode, GrantRefreshToken, GrantPassword, GrantClientCredentials:
	default:
		writeOAuthError(w, &oauthError{code: "unsupported_grant_type", description: "The grant type " + grant + " is not supported."})
		return
	}
	if !allows(client, grant) {
		writeOAuthError(w, errUnauthorizedClient(grant))
		return
	}
	var (
		tokens  *mintedTokens
		refresh string
	)
	switch grant {
	case GrantAuthorizationCode:
		tokens, refresh, oe = e.redeemCode(r, client)
	case GrantRefreshToken:
		tokens, refresh, oe = e.refreshGrant(r, client)
	case GrantPassword:
		tokens, refresh, oe = e.passwordGrant(r, client)
	case GrantClientCredentials:
		tokens, oe = e.clientCredentialsGrant(r, client)
	}
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		TokenType:    "Bearer",
		ExpiresIn:    tokens.expiresIn,
		AccessToken:  tokens.accessToken,
		Scope:        joinScopes(tokens.scopes),
		IDToken:      tokens.idToken,
		RefreshToken: refresh,
	})
}

func errBadCode() *oauthError {
	return errInvalidGrant("The authorization code is invalid or has expired.")
}

// redeemCode exchanges an authorization code for the tokens minted when
// it was issued. A code is single use: taken before anything is checked,
// so a second attempt fails whatever the first did.
func (e *Emulator) redeemCode(r *http.Request, c *Client) (*mintedTokens, string, *oauthError) {
	code := r.PostForm.Get("code")
	if code == "" {
		return nil, "", errInvalidRequest("The code parameter is required.")
	}
	g, ok := e.codes.take(code)
	if !ok || g.clientID != c.ID {
		return nil, "", errBadCode()
	}
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		return nil, "", errInvalidGrant("The redirect_uri does not match the one of the authorize request.")
	}
	verifier := r.PostForm.Get("code_verifier")
	if g.challenge != "" || verifier != "" {
		sum := sha256.Sum256([]byte(verifier))
		if g.challenge == "" || !validPKCE(verifier) ||
			subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
			return nil, "", errInvalidGrant("PKCE verification failed.")
		}
	}
	refresh := ""
	if g.refresh != nil {
		refresh = e.storeRefresh(g.refresh)
	}
	return g.tokens, refresh, nil
}

// storeRefresh registers a refresh grant and returns its token.
func (e *Emulator) storeRefresh(g *refreshGrant) string {
	now := e.now()
	stored := *g
	stored.issued = now
	stored.expires = now.Add(time.Duration(e.as.cfg.Lifetimes.RefreshToken) * time.Second)
	token := randomToken(32)
	e.refresh.put(token, &stored, stored.expires)
	return token
}

// refreshGrant mints new tokens for a refresh token, calling the hook with
// OriginalGrant. The refresh token is not rotated: the same one is
// returned, as with Okta's "persistent token" setting.
func (e *Emulator) refreshGrant(r *http.Request, c *Client) (*mintedTokens, string, *oauthError) {
	token := r.PostForm.Get("refresh_token")
	if token == "" {
		return nil, "", errInvalidRequest("The refresh_token parameter is required.")
	}
	g, ok := e.refresh.get(token)
	if !ok || g.clientID != c.ID || !slices.Contains(g.scopes, "offline_access") {
		return nil, "", errInvalidGrant("The refresh token is invalid or expired.")
	}
	u := e.as.usersByID[g.userID]
	if u == nil || u.Status != "ACTIVE" {
		return nil, "", errInvalidGrant("The refresh token is invalid or expired.")
	}
	scopes := g.scopes
	if requested := strings.Fields(r.PostForm.Get("scope")); len(requested) > 0 {
		scopes = nil
		for _, s := range requested {
			if !slices.Contains(g.scopes, s) {
				return nil, "", errInvalidScope("The requested scope is not part of the refresh token's grant.")
			}
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	tokens, oe := e.mint(r.Context(), refreshMint(g, c, u, scopes, r.URL.RawQuery, clientIP(r)))
	if oe != nil {
		return nil, "", oe
	}
	return tokens, token, nil
}

// passwordGrant is the resource owner password grant.
func (e *Emulator) passwordGrant(r *http.Request, c *Client) (*mintedTokens, string, *oauthError) {
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if username == "" || password == "" {
		return nil, "", errInvalidRequest("The username and password parameters are required.")
	}
	scopes, oe := e.as.grantScopes(c, GrantPassword, strings.Fields(r.PostForm.Get("scope")))
	if oe != nil {
		return nil, "", oe
	}
	u := e.as.users[strings.ToLower(strings.TrimSpace(username))]
	if !e.checkPassword(u, password) {
		return nil, "", errInvalidGrant("The credentials provided were invalid.")
	}
	m := passwordMint(c, u, scopes, e.now(), r.URL.RawQuery, clientIP(r))
	tokens, oe := e.mint(r.Context(), m)
	if oe != nil {
		return nil, "", oe
	}
	refresh := ""
	if tokens.refreshJTI != "" {
		refresh = e.storeRefresh(&refreshGrant{
			jti: tokens.refreshJTI, clientID: c.ID, userID: u.ID, scopes: scopes, authTime: m.authTime,
			original: inlinehook.ProtocolRequest{ClientID: c.ID, GrantType: GrantPassword, Scope: joinScopes(scopes)},
		})
	}
	return tokens, refresh, nil
}

// clientCredentialsGrant is the client credentials grant: custom scopes
// only, no user.
func (e *Emulator) clientCredentialsGrant(r *http.Request, c *Client) (*mintedTokens, *oauthError) {
	scopes, oe := e.as.grantScopes(c, GrantClientCredentials, strings.Fields(r.PostForm.Get("scope")))
	if oe != nil {
		return nil, oe
	}
	return e.mint(r.Context(), clientCredentialsMint(c, scopes, r.URL.RawQuery, clientIP(r)))
}
