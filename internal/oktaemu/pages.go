package oktaemu

import (
	"encoding/json/v2"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"

	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// homeData is what the home page shows: how to point a client at the
// emulator. Passwords appear only when they are the documented demo one.
type homeData struct {
	Issuer    string
	Discovery string
	Clients   []Client
	Users     []homeUser
	Hook      string // the hook URL without secrets; "" without a hook
	HookOn    []string
}

type homeUser struct {
	Login, ID, Password string
	Active              bool
}

// home is the emulator's landing page.
func (e *Emulator) home(w http.ResponseWriter, r *http.Request) {
	cfg := e.as.cfg
	d := homeData{
		Issuer:    e.as.issuer,
		Discovery: e.as.issuer + "/.well-known/openid-configuration",
		Clients:   cfg.Clients,
	}
	for _, u := range cfg.Users {
		hu := homeUser{Login: u.Login, ID: u.ID, Active: u.Status == "ACTIVE"}
		if u.Password == DemoPassword {
			hu.Password = DemoPassword
		}
		d.Users = append(d.Users, hu)
	}
	if cfg.Hook.Enabled() {
		d.Hook = redactedURL(cfg.Hook.URL)
		d.HookOn = cfg.Hook.GrantTypes
		if len(d.HookOn) == 0 {
			d.HookOn = []string{"every grant"}
		}
	}
	e.renderPage(w, http.StatusOK, "home", "Okta emulator", d)
}

// redactedURL drops what may carry a secret: user info and the query.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// logRow is one System Log event as the page shows it.
type logRow struct {
	hookcall.Event
	Debug []debugItem
}

type debugItem struct{ Key, Value string }

// newestFirst returns the kept events, newest first, as both pages list
// them.
func (e *Emulator) newestFirst() []hookcall.Event {
	events := e.log.Events()
	slices.Reverse(events)
	return events
}

// systemLogPage shows the hook events, so a demo user can see why a hook's
// answer was discarded.
func (e *Emulator) systemLogPage(w http.ResponseWriter, r *http.Request) {
	events := e.newestFirst()
	rows := make([]logRow, len(events))
	for i, ev := range events {
		rows[i].Event = ev
		keys := make([]string, 0, len(ev.DebugContext.DebugData))
		for k := range ev.DebugContext.DebugData {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rows[i].Debug = append(rows[i].Debug, debugItem{k, debugValue(ev.DebugContext.DebugData[k])})
		}
	}
	e.renderPage(w, http.StatusOK, "systemlog", "System Log", rows)
}

func debugValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// systemLogJSON is the System Log as a JSON array, newest first.
func (e *Emulator) systemLogJSON(w http.ResponseWriter, r *http.Request) {
	events := e.newestFirst()
	if events == nil {
		events = []hookcall.Event{}
	}
	writeJSON(w, http.StatusOK, events)
}
