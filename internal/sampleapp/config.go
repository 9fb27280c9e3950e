package sampleapp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults of the zero Config fields (those of Okta's okta-hosted-login sample).
const (
	DefaultBaseURL = "http://localhost:8080"
	// CallbackPath is the redirect URI's path below BaseURL, as in the guide.
	CallbackPath = "/authorization-code/callback"
)

// DefaultScopes are the scopes requested when Config.Scopes is empty.
func DefaultScopes() []string { return []string{"openid", "profile", "email"} }

// Config configures the app. Zero values take the documented defaults.
type Config struct {
	// Issuer is the authorization server's issuer URL, exactly as its
	// discovery document states it (for Okta,
	// https://{yourOktaDomain}/oauth2/default). Required.
	Issuer string
	// ClientID is the app integration's client ID. Required.
	ClientID string
	// ClientSecret authenticates the app at the token endpoint
	// (client_secret_basic, or client_secret_post when the provider supports
	// only that). Empty means a public client that relies on PKCE alone.
	ClientSecret string
	// BaseURL is where browsers reach the app. The redirect URI is BaseURL +
	// CallbackPath and the post-logout redirect URI is BaseURL; both must be
	// registered with the provider. Default DefaultBaseURL.
	BaseURL string
	// Scopes are the scopes requested; they must include openid. Default
	// DefaultScopes().
	Scopes []string
	// HTTPClient makes every call to the provider: discovery, keys, token,
	// userinfo. Nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Logger receives operational logs, never tokens, codes or claim values.
	// Nil discards them.
	Logger *slog.Logger
	// Now is the clock for login-state and session expiry and for the ID
	// token's time checks. Nil means time.Now.
	Now func() time.Time
	// SessionLifetime is how long a login lasts in this app. Default 1 h.
	SessionLifetime time.Duration
	// MaxSessions bounds the in-memory session store: when it is full the
	// oldest session is dropped. Default 1000.
	MaxSessions int
}

// withDefaults returns c with its zero fields filled in.
func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = time.Hour
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 1000
	}
	return c
}

// problems lists everything wrong with c (after withDefaults), each field
// named by the environment variable that sets it. requireSecret makes an
// empty ClientSecret a problem too.
func (c Config) problems(requireSecret bool) []string {
	var missing, bad []string
	if c.Issuer == "" {
		missing = append(missing, "ISSUER")
	} else if msg := checkURL(c.Issuer); msg != "" {
		bad = append(bad, fmt.Sprintf("ISSUER %q: %s", c.Issuer, msg))
	}
	if c.ClientID == "" {
		missing = append(missing, "CLIENT_ID")
	}
	if requireSecret && c.ClientSecret == "" {
		missing = append(missing, "CLIENT_SECRET")
	}
	if msg := checkURL(c.BaseURL); msg != "" {
		bad = append(bad, fmt.Sprintf("BASE_URL %q: %s", c.BaseURL, msg))
	}
	if !slices.Contains(c.Scopes, "openid") {
		bad = append(bad, fmt.Sprintf("SCOPES %q: must include openid, or no ID token is issued", strings.Join(c.Scopes, " ")))
	}
	if len(missing) > 0 {
		bad = slices.Insert(bad, 0, "missing "+strings.Join(missing, ", "))
	}
	return bad
}

// checkURL says what is wrong with an issuer or base URL, or "".
func checkURL(s string) string {
	if strings.ContainsAny(s, "{}") {
		return "still holds a template placeholder such as {yourOktaDomain}"
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "not an absolute http(s) URL"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "must not have a query or fragment"
	}
	return ""
}

// ConfigFromEnv reads the configuration the way Okta's sample does: ISSUER,
// CLIENT_ID and CLIENT_SECRET (all required), BASE_URL or APP_BASE_URL
// (default DefaultBaseURL) and SCOPES (space- or comma-separated, default
// "openid profile email"), from environ (KEY=value pairs; a later entry
// wins over an earlier one; empty values count as unset) or else from the
// dotenv file at dotenvPath. The environment wins over the file.
//
// The file holds KEY=VALUE lines; blank lines and lines starting with # are
// skipped, "export " before a key is allowed, values may be single-quoted
// (taken literally) or double-quoted (\n, \", \\ escapes), and an unquoted
// value ends at " #". A missing file named .env is not an error: the
// sample's testenv beside it is read instead, and when neither exists only
// the environment counts. Any other missing file is an error. An empty
// dotenvPath reads no file.
//
// Every missing or invalid value is reported in one error.
func ConfigFromEnv(environ []string, dotenvPath string) (Config, error) {
	file, source, err := readDotenvFile(dotenvPath)
	if err != nil {
		return Config{}, err
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	lookup := func(key string) string {
		if v := env[key]; v != "" {
			return v
		}
		return file[key]
	}
	cfg := Config{
		Issuer:       lookup("ISSUER"),
		ClientID:     lookup("CLIENT_ID"),
		ClientSecret: lookup("CLIENT_SECRET"),
		BaseURL:      lookup("BASE_URL"),
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = lookup("APP_BASE_URL")
	}
	if s := lookup("SCOPES"); s != "" {
		cfg.Scopes = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	}
	// Okta's web app integration always has a secret, so the sample's
	// configuration requires one; New alone accepts a public client.
	problems := cfg.withDefaults().problems(true)
	if len(problems) > 0 {
		where := "the environment"
		if source != "" {
			where += " or " + source
		} else if dotenvPath != "" {
			where += fmt.Sprintf(" or %s (not found)", dotenvPath)
		}
		return Config{}, fmt.Errorf("sample app configuration (from %s): %s", where, strings.Join(problems, "; "))
	}
	return cfg, nil
}

// readDotenvFile reads the dotenv file at path, or the testenv beside a
// missing .env. It returns the values and the file actually read ("" for
// none).
func readDotenvFile(path string) (map[string]string, string, error) {
	if path == "" {
		return nil, "", nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && filepath.Base(path) == ".env" {
		path = filepath.Join(filepath.Dir(path), "testenv")
		f, err = os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("env file: %w", err)
	}
	defer f.Close()
	values, err := parseDotenv(f, path)
	if err != nil {
		return nil, "", err
	}
	return values, path, nil
}

// parseDotenv parses KEY=VALUE lines (see ConfigFromEnv). Errors name the
// file and line but never quote the line, which may hold a secret.
func parseDotenv(r io.Reader, name string) (map[string]string, error) {
	values := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, raw, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || !validEnvKey(key) {
			return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", name, n)
		}
		value, err := dotenvValue(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", name, n, key, err)
		}
		values[key] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return values, nil
}

func validEnvKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c == '.' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// dotenvValue unquotes one value (already trimmed).
func dotenvValue(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	switch q := raw[0]; q {
	case '\'', '"':
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			c := raw[i]
			switch {
			case c == q:
				rest := strings.TrimSpace(raw[i+1:])
				if rest != "" && !strings.HasPrefix(rest, "#") {
					return "", errors.New("text after the closing quote")
				}
				return b.String(), nil
			case c == '\\' && q == '"' && i+1 < len(raw):
				i++
				switch raw[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default: // \" \\ and anything else: the character itself
					b.WriteByte(raw[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("unterminated quote")
	}
	if i := strings.Index(raw, " #"); i >= 0 {
		raw = raw[:i]
	}
	return strings.TrimSpace(raw), nil
}
