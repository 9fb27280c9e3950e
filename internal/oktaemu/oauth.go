package oktaemu

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// oauthError is an OAuth 2.0 error response: to the redirect URI from
// /authorize, as JSON from the other endpoints.
type oauthError struct {
	status      int // for JSON responses; 0 means 400
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{code: "invalid_request", description: desc}
}

func errInvalidScope(desc string) *oauthError {
	return &oauthError{code: "invalid_scope", description: desc}
}

func errInvalidGrant(desc string) *oauthError {
	return &oauthError{code: "invalid_grant", description: desc}
}

func errUnauthorizedClient(grant string) *oauthError {
	return &oauthError{code: "unauthorized_client",
		description: "The client is not authorized to use the provided grant type: " + grant + "."}
}

// pageError is a problem in an authorize or logout request that cannot be
// sent to a redirect URI (no valid client or redirect URI): the browser
// gets an error page instead, so nobody can be redirected anywhere.
type pageError struct {
	status      int
	title, text string
}

func (e *pageError) Error() string { return e.title + ": " + e.text }

// grantScopes checks the scopes a client asks for in a grant and returns
// them without duplicates, in the order asked.
func (a *authServer) grantScopes(c *Client, grant string, requested []string) ([]string, *oauthError) {
	var scopes []string
	for _, s := range requested {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 {
		return nil, errInvalidScope("The scope parameter is required.")
	}
	var unknown, denied []string
	for _, s := range scopes {
		switch {
		case !slices.Contains(a.scopes, s):
			unknown = append(unknown, s)
		case len(c.Scopes) > 0 && !slices.Contains(c.Scopes, s):
			denied = append(denied, s)
		}
	}
	if len(unknown) > 0 {
		return nil, errInvalidScope("One or more scopes are not configured for the authorization server resource: " + strings.Join(unknown, " ") + ".")
	}
	if grant == GrantClientCredentials {
		for _, s := range scopes {
			if slices.Contains(standardScopes, s) {
				return nil, errInvalidScope("Client Credentials requests cannot contain OpenID scopes.")
			}
		}
	}
	if len(denied) > 0 {
		return nil, errInvalidScope("The client is not allowed the scopes: " + strings.Join(denied, " ") + ".")
	}
	return scopes, nil
}

// allows reports whether the client may use the grant.
func allows(c *Client, grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// authorizeRequest is a checked /v1/authorize request.
type authorizeRequest struct {
	client       *Client
	redirectURI  string
	responseType string          // as sent
	types        map[string]bool // code, id_token, token
	responseMode string          // effective: query, fragment or form_post
	scope        string          // as sent
	scopes       []string        // granted
	state        string
	nonce        string
	challenge    string // PKCE S256 challenge; "" without PKCE
	prompt       map[string]bool
	rawQuery     string // the query the hook sees in url.value
}

func (ar *authorizeRequest) implicit() bool { return !ar.types["code"] }

func (ar *authorizeRequest) grant() string {
	if ar.implicit() {
		return GrantImplicit
	}
	return GrantAuthorizationCode
}

// supportedResponseTypes are the response_type values the emulator
// implements, with their words sorted.
var supportedResponseTypes = []string{"code", "id_token", "token", "id_token token"}

// parseAuthorize checks an authorize request. A *pageError means no
// redirect is possible; an *oauthError goes to the redirect URI, described
// by the returned request (client, redirect URI, mode, state).
func (a *authServer) parseAuthorize(params url.Values, rawQuery string) (*authorizeRequest, error) {
	for name, v := range params {
		// RFC 6749 §3.1: parameters must not be repeated.
		if len(v) > 1 {
			return nil, &pageError{http.StatusBadRequest, "Bad request", "The " + name + " parameter is repeated."}
		}
	}
	ar := &authorizeRequest{rawQuery: rawQuery, state: params.Get("state")}
	id := params.Get("client_id")
	if id == "" {
		return nil, &pageError{http.StatusBadRequest, "Bad request", "The client_id parameter is required."}
	}
	if ar.client = a.clients[id]; ar.client == nil {
		return nil, &pageError{http.StatusBadRequest, "Unknown client", "No client with this client_id is registered."}
	}
	ar.redirectURI = params.Get("redirect_uri")
	if ar.redirectURI == "" || !slices.Contains(ar.client.RedirectURIs, ar.redirectURI) {
		return nil, &pageError{http.StatusBadRequest, "Bad request",
			"The redirect_uri parameter must be a Login redirect URI in the client app settings."}
	}

	ar.responseType = params.Get("response_type")
	words := strings.Fields(ar.responseType)
	slices.Sort(words)
	ar.types = map[string]bool{}
	for _, w := range words {
		ar.types[w] = true
	}
	// Until the mode is known, errors go where the response type would send
	// them: the fragment for anything returning tokens.
	ar.responseMode = "query"
	if ar.types["token"] || ar.types["id_token"] {
		ar.responseMode = "fragment"
	}
	switch mode := params.Get("response_mode"); mode {
	case "":
	case "query", "fragment", "form_post":
		ar.responseMode = mode
	default:
		return ar, errInvalidRequest("The response_mode " + mode + " is not supported; use query, fragment or form_post.")
	}
	if ar.responseType == "" {
		return ar, errInvalidRequest("The response_type parameter is required.")
	}
	if !slices.Contains(supportedResponseTypes, strings.Join(words, " ")) {
		return ar, &oauthError{code: "unsupported_response_type",
			description: "The response type is not supported by the authorization server. Supported: " + strings.Join(supportedResponseTypes, ", ") + "."}
	}
	if ar.implicit() && ar.responseMode == "query" {
		return ar, errInvalidRequest("The query response_mode cannot carry tokens; use fragment or form_post.")
	}
	if !allows(ar.client, ar.grant()) {
		return ar, errUnauthorizedClient(ar.grant())
	}

	ar.scope = params.Get("scope")
	scopes, oerr := a.grantScopes(ar.client, ar.grant(), strings.Fields(ar.scope))
	if oerr != nil {
		return ar, oerr
	}
	ar.scopes = scopes
	if ar.types["id_token"] && !slices.Contains(scopes, "openid") {
		return ar, errInvalidScope("The openid scope is required when an ID token is requested.")
	}
	ar.nonce = params.Get("nonce")
	if ar.implicit() && ar.types["id_token"] && ar.nonce == "" {
		return ar, errInvalidRequest("The nonce parameter is required for implicit flows that return an ID token.")
	}

	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case ar.implicit():
	case method != "" && method != "S256":
		return ar, errInvalidRequest("PKCE code challenge method " + method + " is not supported; use S256.")
	case challenge != "" && method == "":
		return ar, errInvalidRequest("The code_challenge_method parameter is required with code_challenge (S256; plain is not supported).")
	case challenge == "" && method != "":
		return ar, errInvalidRequest("The code_challenge parameter is required with code_challenge_method.")
	case challenge == "" && ar.client.TokenEndpointAuthMethod == AuthNone:
		return ar, errInvalidRequest("PKCE code challenge is required when the token endpoint authentication method is 'NONE'.")
	case challenge != "" && !validPKCE(challenge):
		return ar, errInvalidRequest("The code_challenge parameter must be 43 to 128 characters of [A-Za-z0-9-._~].")
	default:
		ar.challenge = challenge
	}

	ar.prompt = map[string]bool{}
	for _, p := range strings.Fields(params.Get("prompt")) {
		switch p {
		case "none", "login", "consent":
			ar.prompt[p] = true
		default:
			return ar, errInvalidRequest("The prompt value " + p + " is not supported; use none, login or consent.")
		}
	}
	if ar.prompt["none"] && len(ar.prompt) > 1 {
		return ar, errInvalidRequest("prompt=none cannot be combined with other values.")
	}
	return ar, nil
}

// validPKCE reports whether s is a valid code verifier or challenge
// (RFC 7636 §4.1).
func validPKCE(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', strings.ContainsRune("-._~", c):
		default:
			return false
		}
	}
	return true
}

// protocolRequest is context.protocol.request for an authorize request.
func (ar *authorizeRequest) protocolRequest() inlinehook.ProtocolRequest {
	return inlinehook.ProtocolRequest{
		ClientID:     ar.client.ID,
		RedirectURI:  ar.redirectURI,
		ResponseMode: ar.responseMode,
		ResponseType: ar.responseType,
		Scope:        ar.scope,
		State:        ar.state,
	}
}
