package sampleapp

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// sessionCookie holds the random session id (see loginCookie for the name).
const sessionCookie = "sampleapp_session"

// session is one signed-in browser: what the pages show, computed once at
// login.
type session struct {
	RawIDToken string // for id_token_hint at logout; never shown or logged
	Name       string // for the greeting: name, preferred_username or sub
	Scope      string // the scopes granted, when the token response says
	IDClaims   []claimRow
	// AccessClaims are the access token's claims, nil when it is opaque.
	AccessClaims []claimRow
	// UserinfoClaims are the userinfo endpoint's claims; UserinfoNote says
	// why they are missing.
	UserinfoClaims []claimRow
	UserinfoNote   string
}

// newSession builds the session for a verified login.
func (a *App) newSession(ctx context.Context, p *providerInfo, tok *oauth2.Token, rawID string, idToken *oidc.IDToken) (*session, error) {
	var payload json.RawMessage
	if err := idToken.Claims(&payload); err != nil {
		return nil, err
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, err
	}
	s := &session{RawIDToken: rawID, IDClaims: claimRows(claims), Name: idToken.Subject}
	for _, k := range []string{"name", "preferred_username"} {
		if v, ok := claims[k].(string); ok && v != "" {
			s.Name = v
			break
		}
	}
	s.Scope, _ = tok.Extra("scope").(string)
	if at, ok := jwtClaims(tok.AccessToken); ok {
		s.AccessClaims = claimRows(at)
	}
	s.UserinfoClaims, s.UserinfoNote = a.userinfo(ctx, p, tok, idToken.Subject)
	return s, nil
}

// userinfo fetches the userinfo claims, as Okta's sample shows them. A
// failure only leaves a note: the ID token is what this app is about.
func (a *App) userinfo(ctx context.Context, p *providerInfo, tok *oauth2.Token, subject string) ([]claimRow, string) {
	if p.provider.UserInfoEndpoint() == "" {
		return nil, "The provider has no userinfo endpoint."
	}
	info, err := p.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		a.log.Warn("userinfo request failed")
		return nil, "The userinfo endpoint did not answer: " + err.Error()
	}
	if info.Subject != subject {
		// OpenID Connect Core 1.0, 5.3.2: a different sub must not be used.
		return nil, "The userinfo response is about another subject, so it is not shown."
	}
	var payload json.RawMessage
	if err := info.Claims(&payload); err != nil {
		return nil, "The userinfo response cannot be read."
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, "The userinfo response is not a JSON object."
	}
	return claimRows(claims), ""
}

func (a *App) sessionCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   a.secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// currentSession returns the request's session, or nil.
func (a *App) currentSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return a.sessions.get(c.Value)
}

// sessionStore is a bounded in-memory map of sessions by random id.
type sessionStore struct {
	max int
	now func() time.Time

	mu   sync.Mutex
	byID map[string]*storedSession
	seq  uint64 // orders sessions by age, whatever the clock does
}

type storedSession struct {
	s       *session
	seq     uint64
	expires time.Time
}

func newSessionStore(max int, now func() time.Time) *sessionStore {
	return &sessionStore{max: max, now: now, byID: map[string]*storedSession{}}
}

// add stores s until expires and returns its new id. When the store is
// full it first drops expired sessions, then the oldest.
func (st *sessionStore) add(s *session, expires time.Time) string {
	id := rand.Text()
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.byID) >= st.max {
		for k, v := range st.byID {
			if !now.Before(v.expires) {
				delete(st.byID, k)
			}
		}
	}
	for len(st.byID) >= st.max {
		var oldest string
		for k, v := range st.byID {
			if oldest == "" || v.seq < st.byID[oldest].seq {
				oldest = k
			}
		}
		delete(st.byID, oldest)
	}
	st.seq++
	st.byID[id] = &storedSession{s: s, seq: st.seq, expires: expires}
	return id
}

// get returns the live session with id, or nil.
func (st *sessionStore) get(id string) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	v, ok := st.byID[id]
	if !ok {
		return nil
	}
	if !st.now().Before(v.expires) {
		delete(st.byID, id)
		return nil
	}
	return v.s
}

func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byID, id)
}

func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byID)
}
