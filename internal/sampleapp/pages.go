package sampleapp

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
)

//go:embed templates static
var assets embed.FS

// pages holds the parsed templates, one per page, each with the layout.
type pages struct {
	byName     map[string]*template.Template
	stylesheet []byte
}

func newPages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"table": func(id string, rows []claimRow) claimTable { return claimTable{id, rows} },
	}
	for _, name := range []string{"home", "profile", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	css, err := assets.ReadFile("static/app.css")
	if err != nil {
		return nil, err
	}
	p.stylesheet = css
	return p, nil
}

// claimTable is what the "claims" template renders.
type claimTable struct {
	ID   string
	Rows []claimRow
}

// pageData is what every template gets.
type pageData struct {
	Issuer, ClientID string
	Session          *session   // nil when logged out
	Error            *pageError // error page only
}

// render executes a page into a buffer first, so a template failure never
// sends half a page.
func (a *App) render(w http.ResponseWriter, status int, name string, data pageData) error {
	var buf bytes.Buffer
	if err := a.pages.byName[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store") // pages may show tokens' claims
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

func (a *App) data(r *http.Request) pageData {
	return pageData{Issuer: a.cfg.Issuer, ClientID: a.cfg.ClientID, Session: a.currentSession(r)}
}

func (a *App) home(w http.ResponseWriter, r *http.Request) error {
	return a.render(w, http.StatusOK, "home", a.data(r))
}

// profile shows the claim tables, or sends a logged-out browser to log in
// and come back.
func (a *App) profile(w http.ResponseWriter, r *http.Request) error {
	d := a.data(r)
	if d.Session == nil {
		http.Redirect(w, r, "/login?return="+url.QueryEscape("/profile"), http.StatusFound)
		return nil
	}
	return a.render(w, http.StatusOK, "profile", d)
}

func (a *App) stylesheet(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err := w.Write(a.pages.stylesheet)
	return err
}

// pageError is an error shown as a page with its status.
type pageError struct {
	Status  int
	Message string // for the user, a sentence or two
	// Code and Description are an OAuth error as the provider reported it.
	Code, Description string
	// Detail is a technical reason, shown on the page, never a secret.
	Detail string
	cause  error // logged; never a token, code or claim value
}

func (e *pageError) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

// StatusText is the status line shown on the page.
func (e *pageError) StatusText() string {
	return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
}

// serveError maps any handler error to an error page; the one place that
// decides status, page and log line.
func (a *App) serveError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	if !errors.As(err, &pe) {
		a.log.Error("internal error", "path", r.URL.Path, "error", err)
		pe = &pageError{Status: http.StatusInternalServerError, Message: "Something went wrong in the sample app."}
	} else {
		level := slog.LevelInfo
		if pe.Status >= 500 {
			level = slog.LevelWarn
		}
		attrs := []any{"path", r.URL.Path, "status", pe.Status, "message", pe.Message}
		if pe.cause != nil {
			attrs = append(attrs, "error", pe.cause.Error())
		}
		a.log.Log(r.Context(), level, "request failed", attrs...)
	}
	d := a.data(r)
	d.Error = pe
	if err := a.render(w, pe.Status, "error", d); err != nil {
		a.log.Error("error page failed", "error", err)
		http.Error(w, pe.StatusText(), pe.Status)
	}
}
