package oktaemu

import (
	"bytes"
	"embed"
	"encoding/json/v2"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"
)

// maxFormBytes caps form bodies (token, login, introspect, ...).
const maxFormBytes = 64 << 10

// routes lists every endpoint in one place.
func (e *Emulator) routes() http.Handler {
	mux := http.NewServeMux()
	p := e.prefix
	mux.HandleFunc("GET "+p+"/.well-known/openid-configuration", e.discovery(true))
	mux.HandleFunc("GET "+p+"/.well-known/oauth-authorization-server", e.discovery(false))
	mux.HandleFunc("GET "+p+"/v1/keys", e.keys)
	// /authorize takes POST too (a form_post from the client app): it is
	// not cross-origin protected, since every client app is another origin.
	mux.HandleFunc("GET "+p+"/v1/authorize", e.authorize)
	mux.HandleFunc("POST "+p+"/v1/authorize", e.authorize)
	mux.HandleFunc("POST "+p+"/v1/token", e.token)
	mux.HandleFunc("GET "+p+"/v1/userinfo", e.userinfo)
	mux.HandleFunc("POST "+p+"/v1/userinfo", e.userinfo)
	mux.HandleFunc("POST "+p+"/v1/introspect", e.introspect)
	mux.HandleFunc("POST "+p+"/v1/revoke", e.revoke)
	mux.HandleFunc("GET "+p+"/v1/logout", e.logout)
	mux.HandleFunc("POST "+p+"/v1/logout", e.logout)

	// The sign-in form: CSRF token and cross-origin protection both, so a
	// page elsewhere can neither post credentials nor log the browser in
	// as someone else.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.errorPage(w, &pageError{http.StatusForbidden, "Forbidden", "Cross-origin sign-in requests are refused."})
	}))
	mux.HandleFunc("GET /login", e.loginPage)
	mux.Handle("POST /login", cop.Handler(http.HandlerFunc(e.loginSubmit)))

	mux.HandleFunc("GET /{$}", e.home)
	mux.HandleFunc("GET /system-log", e.systemLogPage)
	mux.HandleFunc("GET /system-log.json", e.systemLogJSON)
	return e.recoverer(mux)
}

// recoverer turns a panic into a 500 without details, so none reaches a
// client as a dropped connection or a stack trace.
func (e *Emulator) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				e.logger.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// clientIP is the requester's address, as Okta reports it in
// context.request.ipAddress.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// parseForm reads a form body of at most maxFormBytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	return r.ParseForm()
}

// writeJSON writes v as JSON. Unless the handler set a Cache-Control
// (public metadata), it is never cached: token responses carry secrets.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	body, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"server_error","error_description":"The response could not be encoded."}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// oauthErrorBody is the JSON body of an OAuth 2.0 error.
type oauthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeOAuthError writes an OAuth error as JSON, with its status (400 when
// unset).
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	status := e.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, oauthErrorBody{e.code, e.description})
}

//go:embed templates/*.html
var templateFS embed.FS

// pageNames are the HTML pages, each rendered inside layout.html.
var pageNames = []string{"login", "error", "home", "systemlog", "formpost", "signedout"}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	funcs := template.FuncMap{"join": strings.Join}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what every page template gets: its own data and the layout's.
type page struct {
	Title string
	Nonce string // for the form_post page's script
	Data  any
}

// renderPage writes an HTML page with headers that keep it out of frames
// and caches and let it run no script but its own.
func (e *Emulator) renderPage(w http.ResponseWriter, status int, name, title string, data any) {
	p := page{Title: title, Data: data}
	script := "'none'"
	if name == "formpost" {
		p.Nonce = randomToken(16)
		script = "'nonce-" + p.Nonce + "'"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	// No form-action: Chromium applies it to the redirects after the
	// sign-in POST, which end at the client's redirect URI.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src "+script+"; frame-ancestors 'none'; base-uri 'none'")
	// Rendered into a buffer first: a template error becomes a clean 500,
	// not half a page.
	var buf bytes.Buffer
	if err := e.pages[name].Execute(&buf, p); err != nil {
		e.logger.Error("rendering page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage renders a page error.
func (e *Emulator) errorPage(w http.ResponseWriter, pe *pageError) {
	e.renderPage(w, pe.status, "error", pe.title, struct{ Title, Text string }{pe.title, pe.text})
}
