package oktaemu

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// discovery serves the OpenID Connect discovery document (oidc) or the
// OAuth 2.0 authorization server metadata: what the emulator implements,
// nothing more.
func (e *Emulator) discovery(oidc bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		base := e.as.issuer + "/v1/"
		authMethods := []string{AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT, AuthNone}
		authAlgs := []string{string(jose.RS256), string(jose.ES256)}
		doc := map[string]any{
			"issuer":                                                   e.as.issuer,
			"authorization_endpoint":                                   base + "authorize",
			"token_endpoint":                                           base + "token",
			"jwks_uri":                                                 base + "keys",
			"introspection_endpoint":                                   base + "introspect",
			"revocation_endpoint":                                      base + "revoke",
			"end_session_endpoint":                                     base + "logout",
			"response_types_supported":                                 supportedResponseTypes,
			"response_modes_supported":                                 []string{"query", "fragment", "form_post"},
			"grant_types_supported":                                    grantTypes,
			"subject_types_supported":                                  []string{"public"},
			"scopes_supported":                                         e.as.scopes,
			"token_endpoint_auth_methods_supported":                    authMethods,
			"introspection_endpoint_auth_methods_supported":            authMethods,
			"revocation_endpoint_auth_methods_supported":               authMethods,
			"token_endpoint_auth_signing_alg_values_supported":         authAlgs,
			"introspection_endpoint_auth_signing_alg_values_supported": authAlgs,
			"revocation_endpoint_auth_signing_alg_values_supported":    authAlgs,
			"code_challenge_methods_supported":                         []string{"S256"},
			"request_parameter_supported":                              false,
		}
		if oidc {
			doc["userinfo_endpoint"] = base + "userinfo"
			doc["id_token_signing_alg_values_supported"] = []string{string(jose.RS256)}
			doc["claims_supported"] = e.claimsSupported()
		}
		w.Header().Set("Cache-Control", "max-age=60")
		writeJSON(w, http.StatusOK, doc)
	}
}

// claimsSupported lists the claims the server's tokens can carry.
func (e *Emulator) claimsSupported() []string {
	claims := []string{
		"iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp", "nonce",
		"name", "nickname", "preferred_username", "given_name", "middle_name", "family_name",
		"email", "email_verified", "profile", "zoneinfo", "locale", "address", "phone_number", "at_hash",
	}
	for _, c := range e.as.cfg.Claims {
		if !slices.Contains(claims, c.Name) {
			claims = append(claims, c.Name)
		}
	}
	return claims
}

// keys serves the JWKS: the current signing key first, then the
// rotated-out ones still kept, newest first.
func (e *Emulator) keys(w http.ResponseWriter, r *http.Request) {
	e.rotateIfDue()
	var set jose.JSONWebKeySet
	for _, k := range e.ring.published(e.now()) {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key: &k.key.PublicKey, KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig",
		})
	}
	w.Header().Set("Cache-Control", "max-age=60")
	writeJSON(w, http.StatusOK, set)
}

// bearerError answers a userinfo request with RFC 6750's
// WWW-Authenticate challenge.
func bearerError(w http.ResponseWriter, status int, code, desc string) {
	challenge := "Bearer"
	if code != "" {
		challenge += ` error="` + code + `", error_description="` + desc + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, status, oauthErrorBody{Error: code, Description: desc})
}

// userinfo returns the user's claims the access token's scopes grant, the
// full profile set, and the custom claims of the ID token.
func (e *Emulator) userinfo(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(w, http.StatusUnauthorized, oauthErrorBody{Error: "invalid_request", Description: "An access token is required as a Bearer token."})
		return
	}
	claims, ok := e.verifyAccessToken(strings.TrimSpace(token))
	if !ok {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid.")
		return
	}
	scopes := stringList(claims["scp"])
	if !slices.Contains(scopes, "openid") {
		bearerError(w, http.StatusForbidden, "insufficient_scope", "The access token must provide access to at least one of these scopes - openid.")
		return
	}
	uid, _ := claims["uid"].(string)
	u := e.as.usersByID[uid]
	if u == nil {
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid.")
		return
	}
	out := map[string]any{"sub": u.ID}
	for k, v := range userClaims(u, scopes, true) {
		out[k] = v
	}
	for k, v := range e.as.customClaims(TokenID, &mintRequest{user: u, scopes: scopes}) {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// clientTokenRequest reads what introspection and revocation share: a
// form from an authenticated client with a token parameter. On failure it
// has written the OAuth error and returns ok false.
func (e *Emulator) clientTokenRequest(w http.ResponseWriter, r *http.Request) (*Client, string, bool) {
	if err := parseForm(w, r); err != nil {
		writeOAuthError(w, errInvalidRequest("The request body could not be read as a form."))
		return nil, "", false
	}
	client, basic, oe := e.authenticateClient(r)
	if oe != nil {
		e.writeClientError(w, oe, basic)
		return nil, "", false
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeOAuthError(w, errInvalidRequest("The token parameter is required."))
		return nil, "", false
	}
	return client, token, true
}

// introspect is RFC 7662 introspection, for authenticated clients: access
// tokens of any client (resource servers introspect them), refresh tokens
// of the asking client only.
func (e *Emulator) introspect(w http.ResponseWriter, r *http.Request) {
	client, token, ok := e.clientTokenRequest(w, r)
	if !ok {
		return
	}
	if claims, ok := e.verifyAccessToken(token); ok {
		out := map[string]any{}
		for k, v := range claims {
			if k != "scp" {
				out[k] = v
			}
		}
		out["active"] = true
		out["scope"] = strings.Join(stringList(claims["scp"]), " ")
		out["client_id"] = claims["cid"]
		out["username"] = claims["sub"]
		out["token_type"] = "Bearer"
		writeJSON(w, http.StatusOK, out)
		return
	}
	if g, ok := e.refresh.get(token); ok && g.clientID == client.ID {
		out := map[string]any{
			"active": true, "scope": joinScopes(g.scopes), "client_id": g.clientID,
			"iat": g.issued.Unix(), "exp": g.expires.Unix(), "iss": e.as.issuer,
			"jti": g.jti, "token_type": "refresh_token",
		}
		if u := e.as.usersByID[g.userID]; u != nil {
			out["username"], out["sub"], out["uid"] = u.Login, u.Login, u.ID
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"active": false})
}

// revoke is RFC 7009 revocation: the client's refresh tokens and access
// tokens. It answers 200 whatever the token, so it reveals nothing.
func (e *Emulator) revoke(w http.ResponseWriter, r *http.Request) {
	client, token, ok := e.clientTokenRequest(w, r)
	if !ok {
		return
	}
	if g, ok := e.refresh.get(token); ok && g.clientID == client.ID {
		e.refresh.delete(token)
		e.logger.Info("refresh token revoked", "client_id", client.ID)
	} else if claims, ok := e.verifyAccessToken(token); ok && claims["cid"] == client.ID {
		jti, _ := claims["jti"].(string)
		exp, _ := claims["exp"].(float64)
		e.revoked.put(jti, struct{}{}, time.Unix(int64(exp), 0))
		e.logger.Info("access token revoked", "client_id", client.ID)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// logout ends the emulator's session (OpenID Connect RP-initiated logout)
// and sends the browser to a registered post-logout redirect URI, or shows
// a signed-out page.
func (e *Emulator) logout(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	if r.Method == http.MethodPost {
		if err := parseForm(w, r); err != nil {
			e.errorPage(w, &pageError{http.StatusBadRequest, "Bad request", "The logout form could not be read."})
			return
		}
		params = r.PostForm
	} else {
		params = r.URL.Query()
	}
	hint, redirect, state := params.Get("id_token_hint"), params.Get("post_logout_redirect_uri"), params.Get("state")
	var client *Client
	if hint != "" {
		// An expired ID token is still a fine hint: logout comes late.
		claims, ok := e.verifyToken(hint, true)
		jti, _ := claims["jti"].(string)
		aud, _ := claims["aud"].(string)
		if !ok || !strings.HasPrefix(jti, "ID.") || e.as.clients[aud] == nil {
			e.errorPage(w, &pageError{http.StatusBadRequest, "Bad request", "The id_token_hint is not an ID token of this server."})
			return
		}
		client = e.as.clients[aud]
	}
	if redirect != "" {
		if client == nil {
			e.errorPage(w, &pageError{http.StatusBadRequest, "Bad request", "A post_logout_redirect_uri needs an id_token_hint."})
			return
		}
		if !slices.Contains(client.PostLogoutRedirectURIs, redirect) {
			e.errorPage(w, &pageError{http.StatusBadRequest, "Bad request",
				"The post_logout_redirect_uri must be a Logout redirect URI in the client app settings."})
			return
		}
	}
	e.endSession(w, r)
	e.logger.Info("signed out")
	if redirect == "" {
		e.renderPage(w, http.StatusOK, "signedout", "Signed out", nil)
		return
	}
	u, err := url.Parse(redirect)
	if err != nil {
		e.errorPage(w, &pageError{http.StatusInternalServerError, "Server error", "The redirect URI is malformed."})
		return
	}
	if state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}
