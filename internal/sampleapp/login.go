package sampleapp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	// loginCookie carries the sealed loginState from /login to the callback.
	// The names start with "sampleapp_": cookies ignore ports, so on
	// localhost this app shares its cookie jar with the emulator.
	loginCookie = "sampleapp_login"
	// loginLifetime bounds how long a user may take at the provider's login
	// page.
	loginLifetime = 10 * time.Minute
)

// loginState is what the callback must check, sealed into loginCookie.
type loginState struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Return   string    `json:"return"` // local path to go to after login
	Expires  time.Time `json:"expires"`
}

// seal encrypts and authenticates st with the per-process key, so the
// browser can neither read the PKCE verifier nor forge a state.
func (a *App) seal(st loginState) string {
	plain, _ := json.Marshal(st) // cannot fail: strings and a time
	nonce := make([]byte, a.sealer.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(a.sealer.Seal(nonce, nonce, plain, []byte(loginCookie)))
}

// unseal reverses seal and checks expiry.
func (a *App) unseal(value string) (loginState, error) {
	var st loginState
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < a.sealer.NonceSize() {
		return st, errors.New("malformed")
	}
	n := a.sealer.NonceSize()
	plain, err := a.sealer.Open(nil, raw[:n], raw[n:], []byte(loginCookie))
	if err != nil {
		return st, errors.New("not sealed by this process (it may have restarted)")
	}
	if err := json.Unmarshal(plain, &st); err != nil {
		return st, errors.New("malformed")
	}
	if !a.cfg.Now().Before(st.Expires) {
		return st, errors.New("expired")
	}
	return st, nil
}

// login starts the authorization code flow with PKCE.
func (a *App) login(w http.ResponseWriter, r *http.Request) error {
	p, err := a.discover(r.Context())
	if err != nil {
		return providerUnreachable(err)
	}
	st := loginState{
		State:    rand.Text(),
		Nonce:    rand.Text(),
		Verifier: oauth2.GenerateVerifier(),
		Return:   localPath(r.URL.Query().Get("return")),
		Expires:  a.cfg.Now().Add(loginLifetime),
	}
	http.SetCookie(w, &http.Cookie{
		Name:     loginCookie,
		Value:    a.seal(st),
		Path:     CallbackPath,
		MaxAge:   int(loginLifetime / time.Second),
		HttpOnly: true,
		Secure:   a.secure,
		SameSite: http.SameSiteLaxMode, // Lax: the provider's redirect back is a top-level GET
	})
	a.log.Info("login started")
	http.Redirect(w, r, p.oauth.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
	return nil
}

// localPath returns p when it is a path on this app, else "/": the return
// parameter must not make the app an open redirector.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return "/"
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return p
}

// callback finishes the flow: it checks state, reports the provider's
// error, exchanges the code with the PKCE verifier, verifies the ID token
// and its nonce, and starts a session.
func (a *App) callback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return badCallback("No sign-in was started from this browser, or it took longer than 10 minutes.")
	}
	// The login state is good for one callback, whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: CallbackPath, MaxAge: -1, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	st, err := a.unseal(c.Value)
	if err != nil {
		return badCallback(fmt.Sprintf("The sign-in state is %s.", err))
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return badCallback("The state parameter does not match the sign-in started from this browser.")
	}
	if code := q.Get("error"); code != "" {
		a.log.Warn("provider returned an error to the redirect URI", "error", code)
		return &pageError{
			Status:      http.StatusBadRequest,
			Message:     "The provider did not sign you in.",
			Code:        code,
			Description: q.Get("error_description"),
		}
	}
	code := q.Get("code")
	if code == "" {
		return badCallback("The provider's redirect carries neither a code nor an error.")
	}
	p, err := a.discover(r.Context())
	if err != nil {
		return providerUnreachable(err)
	}
	ctx := a.providerContext(r.Context())
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return tokenError(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return untrusted("The token response has no ID token.", nil)
	}
	idToken, err := p.verifier.Verify(ctx, rawID)
	if err != nil {
		return untrusted("The ID token failed verification.", err)
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(st.Nonce)) != 1 {
		return untrusted("The ID token's nonce does not match this sign-in.", nil)
	}
	if idToken.AccessTokenHash != "" {
		if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
			return untrusted("The access token does not match the ID token's at_hash.", err)
		}
	}
	s, err := a.newSession(ctx, p, tok, rawID, idToken)
	if err != nil {
		return untrusted("The ID token's claims cannot be read.", err)
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		a.sessions.delete(old.Value) // a new login gets a new session id
	}
	id := a.sessions.add(s, a.cfg.Now().Add(a.cfg.SessionLifetime))
	http.SetCookie(w, a.sessionCookie(id, int(a.cfg.SessionLifetime/time.Second)))
	a.log.Info("login completed", "claims", len(s.IDClaims))
	http.Redirect(w, r, st.Return, http.StatusSeeOther)
	return nil
}

// logout ends the local session, then the provider's when it has an
// end_session_endpoint.
func (a *App) logout(w http.ResponseWriter, r *http.Request) error {
	var rawID string
	if c, err := r.Cookie(sessionCookie); err == nil {
		if s := a.sessions.get(c.Value); s != nil {
			rawID = s.RawIDToken
		}
		a.sessions.delete(c.Value)
	}
	http.SetCookie(w, a.sessionCookie("", -1))
	target := "/"
	if rawID != "" {
		if p, err := a.discover(r.Context()); err != nil {
			a.log.Warn("provider unreachable at logout; ending the local session only", "error", err)
		} else if p.endSession != "" {
			target = endSessionURL(p.endSession, rawID, a.cfg.BaseURL)
		}
	}
	a.log.Info("logout", "provider_logout", target != "/")
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// endSessionURL adds the RP-initiated logout parameters to the provider's
// endpoint, keeping any query it already has.
func endSessionURL(endpoint, idTokenHint, postLogout string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "/"
	}
	q := u.Query()
	q.Set("id_token_hint", idTokenHint)
	q.Set("post_logout_redirect_uri", postLogout)
	u.RawQuery = q.Encode()
	return u.String()
}

func badCallback(msg string) error {
	return &pageError{Status: http.StatusBadRequest, Message: msg + " Please sign in again."}
}

// providerUnreachable reports a failed discovery; its error (a URL, a
// status, the discovery document) holds no secret, so it is shown and logged.
func providerUnreachable(err error) error {
	return &pageError{
		Status:  http.StatusBadGateway,
		Message: "The identity provider cannot be reached right now. Is it running, and is ISSUER right?",
		Detail:  err.Error(),
		cause:   err,
	}
}

// untrusted reports a token the app refuses. The reason is shown to the
// user, whose token it is, but not logged: go-oidc's messages may quote
// claim values.
func untrusted(msg string, err error) error {
	pe := &pageError{Status: http.StatusBadGateway, Message: msg + " Nothing was signed in."}
	if err != nil {
		pe.Detail = err.Error()
	}
	return pe
}

// tokenError reports a failed code exchange. An OAuth error from the token
// endpoint is shown as the provider stated it (a hook's denial at the token
// endpoint arrives this way); never the response body, which the logs must
// not carry either.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return &pageError{
			Status:      http.StatusBadRequest,
			Message:     "The provider refused to issue tokens.",
			Code:        re.ErrorCode,
			Description: re.ErrorDescription,
			cause:       fmt.Errorf("token endpoint: %s", re.ErrorCode),
		}
	}
	if re != nil && re.Response != nil {
		err = fmt.Errorf("token endpoint: %s", re.Response.Status)
	}
	return &pageError{Status: http.StatusBadGateway, Message: "The code could not be exchanged for tokens.", Detail: err.Error(), cause: err}
}
