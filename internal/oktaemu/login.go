package oktaemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Cookie names. Browsers do not separate cookies by port, so the names are
// distinctive: the sample app on another port of the same host must not
// overwrite them.
const (
	sessionCookie = "oktaemu_sid"
	csrfCookie    = "oktaemu_csrf"
)

// currentSession returns the browser's live session and its user, and the
// cookie value that keys it; nil when there is none, or when the user no
// longer exists or may not sign in.
func (e *Emulator) currentSession(r *http.Request) (string, *session, *User) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", nil, nil
	}
	s, ok := e.sessions.get(c.Value)
	if !ok {
		return "", nil, nil
	}
	u := e.as.usersByID[s.userID]
	if u == nil || u.Status != "ACTIVE" {
		return "", nil, nil
	}
	return c.Value, s, u
}

// validFrom returns from when it is an authorize request of this server
// (a path, never another site: the login page must not be an open
// redirect), else "".
func (e *Emulator) validFrom(from string) string {
	if from == "" || strings.HasPrefix(from, "//") || strings.Contains(from, "\\") {
		return ""
	}
	u, err := url.Parse(from)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path != e.prefix+"/v1/authorize" {
		return ""
	}
	return from
}

// csrfToken binds the form's token to the browser's CSRF cookie: HMAC of
// the cookie value under a key of this process. A page elsewhere can
// neither read the cookie nor compute the token.
func (e *Emulator) csrfToken(cookieValue string) string {
	m := hmac.New(sha256.New, e.csrfKey)
	m.Write([]byte(cookieValue))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// loginData is what the sign-in page shows.
type loginData struct {
	CSRF     string
	From     string
	Username string
	App      string // the client's name, when signing in for one
	Failed   bool
}

// loginPage is the hosted sign-in page, Okta's widget in miniature. The
// inputs carry the widget's ids, so a browser test finds them as it would
// on Okta.
func (e *Emulator) loginPage(w http.ResponseWriter, r *http.Request) {
	from := e.validFrom(r.URL.Query().Get("from"))
	e.renderLogin(w, r, http.StatusOK, loginData{From: from})
}

func (e *Emulator) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	value := ""
	if c, err := r.Cookie(csrfCookie); err == nil && c.Value != "" {
		value = c.Value
	} else {
		value = randomToken(32)
		http.SetCookie(w, &http.Cookie{
			Name: csrfCookie, Value: value, Path: "/login",
			HttpOnly: true, Secure: e.secure, SameSite: http.SameSiteLaxMode,
		})
	}
	d.CSRF = e.csrfToken(value)
	if d.From != "" {
		if u, err := url.Parse(d.From); err == nil {
			q := u.Query()
			if c := e.as.clients[q.Get("client_id")]; c != nil {
				d.App = c.Name
			}
			if d.Username == "" {
				d.Username = q.Get("login_hint") // OpenID Connect's hint, as Okta's widget takes it
			}
		}
	}
	e.renderPage(w, status, "login", "Sign in", d)
}

// loginSubmit checks the CSRF token and the credentials, starts a session
// and sends the browser back to the authorize request it came from.
// A wrong login and a wrong password get the same answer, after the same
// bcrypt work.
func (e *Emulator) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		e.errorPage(w, &pageError{http.StatusBadRequest, "Bad request", "The sign-in form could not be read."})
		return
	}
	c, err := r.Cookie(csrfCookie)
	given := r.PostForm.Get("csrf_token")
	if err != nil || c.Value == "" || given == "" || !hmac.Equal([]byte(given), []byte(e.csrfToken(c.Value))) {
		e.logger.Info("sign-in refused: CSRF token missing or wrong")
		e.errorPage(w, &pageError{http.StatusForbidden, "Forbidden",
			"The sign-in form was not sent by this page or has expired. Go back and reload it."})
		return
	}
	from := e.validFrom(r.PostForm.Get("from"))
	username := strings.TrimSpace(r.PostForm.Get("username"))
	u := e.as.users[strings.ToLower(username)]
	if !e.checkPassword(u, r.PostForm.Get("password")) {
		e.logger.Info("sign-in failed")
		e.renderLogin(w, r, http.StatusUnauthorized, loginData{From: from, Username: username, Failed: true})
		return
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		e.sessions.delete(old.Value) // a new sign-in never reuses a session id
	}
	now := e.now()
	s := &session{
		id: randomID("102", 25), userID: u.ID, login: u.Login,
		created: now, expires: now.Add(sessionLifetime), freshFor: from,
	}
	cookie := randomToken(32)
	e.sessions.put(cookie, s, s.expires)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: cookie, Path: "/",
		HttpOnly: true, Secure: e.secure, SameSite: http.SameSiteLaxMode,
	})
	e.logger.Info("signed in")
	if from == "" {
		from = "/"
	}
	http.Redirect(w, r, from, http.StatusSeeOther)
}

// endSession forgets the browser's session.
func (e *Emulator) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		e.sessions.delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: e.secure, SameSite: http.SameSiteLaxMode,
	})
}
