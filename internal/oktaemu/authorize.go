package oktaemu

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// authorize is /v1/authorize: check the request, make sure the browser has
// a session (else the hosted login page), mint the tokens — calling the
// hook — and answer on the redirect URI.
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	var rawQuery string
	if r.Method == http.MethodPost {
		if err := parseForm(w, r); err != nil {
			e.errorPage(w, &pageError{http.StatusBadRequest, "Bad request", "The authorize request's form could not be read."})
			return
		}
		params, rawQuery = r.PostForm, r.PostForm.Encode()
	} else {
		var err error
		if params, err = url.ParseQuery(r.URL.RawQuery); err != nil {
			e.errorPage(w, &pageError{http.StatusBadRequest, "Bad request", "The authorize request's query string is malformed."})
			return
		}
		rawQuery = r.URL.RawQuery
	}
	ar, err := e.as.parseAuthorize(params, rawQuery)
	var pe *pageError
	var oe *oauthError
	switch {
	case errors.As(err, &pe):
		e.errorPage(w, pe)
		return
	case errors.As(err, &oe):
		e.redirectError(w, ar, oe)
		return
	}

	// The request as a GET URL: where the login page sends the browser back.
	requestURI := e.prefix + "/v1/authorize?" + rawQuery
	cookie, s, u := e.currentSession(r)
	if ar.prompt["login"] && s != nil {
		if s.freshFor != requestURI {
			s, u = nil, nil // prompt=login: this request needs a sign-in of its own
		} else {
			// A sign-in answers one prompt=login, not every later one.
			consumed := *s
			consumed.freshFor = ""
			e.sessions.put(cookie, &consumed, s.expires)
		}
	}
	if s == nil {
		if ar.prompt["none"] {
			e.redirectError(w, ar, &oauthError{code: "login_required",
				description: "The client specified not to prompt, but the user is not logged in."})
			return
		}
		http.Redirect(w, r, "/login?from="+url.QueryEscape(requestURI), http.StatusFound)
		return
	}

	tokens, oerr := e.mint(r.Context(), e.as.authorizeMint(ar, u, s, r.Method, clientIP(r)))
	if oerr != nil {
		e.redirectError(w, ar, oerr)
		return
	}
	if ar.implicit() {
		out := url.Values{}
		if tokens.accessToken != "" {
			out.Set("access_token", tokens.accessToken)
			out.Set("token_type", "Bearer")
			out.Set("expires_in", strconv.Itoa(tokens.expiresIn))
			out.Set("scope", joinScopes(tokens.scopes))
		}
		if tokens.idToken != "" {
			out.Set("id_token", tokens.idToken)
		}
		e.redirectResponse(w, ar, out)
		return
	}
	code := randomToken(32)
	g := &codeGrant{clientID: ar.client.ID, redirectURI: ar.redirectURI, challenge: ar.challenge, tokens: tokens}
	if tokens.refreshJTI != "" {
		g.refresh = &refreshGrant{
			jti: tokens.refreshJTI, clientID: ar.client.ID, userID: u.ID,
			scopes: ar.scopes, authTime: s.created, original: ar.protocolRequest(),
		}
	}
	e.codes.put(code, g, e.now().Add(time.Duration(e.as.cfg.Lifetimes.AuthorizationCode)*time.Second))
	e.redirectResponse(w, ar, url.Values{"code": {code}})
}

// redirectError sends an OAuth error to the client's redirect URI.
func (e *Emulator) redirectError(w http.ResponseWriter, ar *authorizeRequest, oe *oauthError) {
	e.logger.Info("authorize error", "client_id", ar.client.ID, "error", oe.code)
	e.redirectResponse(w, ar, url.Values{"error": {oe.code}, "error_description": {oe.description}})
}

// redirectResponse answers an authorize request on the redirect URI, in
// the response mode: the query, the fragment, or a self-posting form.
func (e *Emulator) redirectResponse(w http.ResponseWriter, ar *authorizeRequest, params url.Values) {
	if ar.state != "" {
		params.Set("state", ar.state)
	}
	switch ar.responseMode {
	case "form_post":
		type field struct{ Name, Value string }
		names := make([]string, 0, len(params))
		for k := range params {
			names = append(names, k)
		}
		sort.Strings(names)
		fields := make([]field, len(names))
		for i, k := range names {
			fields[i] = field{k, params.Get(k)}
		}
		e.renderPage(w, http.StatusOK, "formpost", "Signing in…", struct {
			Action string
			Fields []field
		}{ar.redirectURI, fields})
	case "fragment":
		base, _, _ := strings.Cut(ar.redirectURI, "#")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", base+"#"+params.Encode())
		w.WriteHeader(http.StatusFound)
	default:
		u, err := url.Parse(ar.redirectURI)
		if err != nil { // checked at configuration time; never expected
			e.errorPage(w, &pageError{http.StatusInternalServerError, "Server error", "The redirect URI is malformed."})
			return
		}
		q := u.Query()
		for k, v := range params {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", u.String())
		w.WriteHeader(http.StatusFound)
	}
}
