package hookcall

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// MaxURLLength is the longest hook URL Okta accepts (channel.config.uri).
const MaxURLLength = 1024

// reservedHeader reports why a custom header may not set the header name
// (canonical form): Accept and Content-Type because Okta reserves them, the
// others because HTTP itself sets them and a custom value would be ignored
// or corrupt the request.
func reservedHeader(name string) (why string, reserved bool) {
	switch name {
	case "Accept", "Content-Type":
		return "reserved by Okta", true
	case "Host", "Content-Length", "Transfer-Encoding", "Connection":
		return "set by HTTP", true
	}
	return "", false
}

// Validate reports every problem of the hook's configuration at once, joined
// with [errors.Join]; nil means [Caller.Call] can use it. Messages name the
// field but never quote a header value or a secret.
//
// The rules are Okta's where Okta has them: an absolute https URL of at most
// [MaxURLLength] characters without whitespace; custom headers with valid
// names, none of them Accept or Content-Type; at most one authentication
// scheme; for OAuth a known authType, an absolute token URL, a client id and
// the secret or key that authType needs. Ours on top: http:// only under
// AllowHTTP (to a loopback host unless AllowHTTPAnyHost), a private key
// that is RSA (the assertion is RS256), no custom header that HTTP itself
// sets (Host, Content-Length, ...) or that the authentication scheme sets,
// and no negative Timeout.
func (h Hook) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := h.checkURL("URL", h.URL); err != nil {
		errs = append(errs, err)
	}

	authHeader := ""
	switch {
	case h.Auth.Header != nil && h.Auth.OAuth != nil:
		bad("Auth: set one scheme, Header or OAuth, not both")
	case h.Auth.Header != nil:
		a := h.Auth.Header
		if err := checkHeaderName(a.Name); err != nil {
			bad("Auth.Header: %w", err)
		} else if why, ok := reservedHeader(http.CanonicalHeaderKey(a.Name)); ok {
			bad("Auth.Header: %s is %s", http.CanonicalHeaderKey(a.Name), why)
		}
		if a.Value == "" {
			bad("Auth.Header: the value (the secret) is required")
		} else if !validHeaderValue(a.Value) {
			bad("Auth.Header: the value contains a control character")
		}
		authHeader = http.CanonicalHeaderKey(a.Name)
	case h.Auth.OAuth != nil:
		errs = append(errs, h.checkOAuth(h.Auth.OAuth)...)
		authHeader = "Authorization"
	}

	for i, hd := range h.Headers {
		if err := checkHeaderName(hd.Name); err != nil {
			bad("Headers[%d]: %w", i, err)
			continue
		}
		name := http.CanonicalHeaderKey(hd.Name)
		if why, ok := reservedHeader(name); ok {
			bad("Headers[%d]: %s is %s", i, name, why)
		} else if name == authHeader {
			bad("Headers[%d]: %s is set by the authentication scheme", i, name)
		}
		if !validHeaderValue(hd.Value) {
			bad("Headers[%d] (%s): the value contains a control character", i, name)
		}
	}

	if h.Timeout < 0 {
		bad("Timeout: must not be negative (zero means %s)", DefaultTimeout)
	}
	switch h.Rules.ReservedClaims {
	case inlinehook.ReservedLatest, inlinehook.ReservedUnion:
	default:
		bad("Rules.ReservedClaims: unknown table %d", h.Rules.ReservedClaims)
	}
	return errors.Join(errs...)
}

func (h Hook) checkOAuth(o *OAuth) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("Auth.OAuth: "+format, args...)) }
	if err := h.checkURL("Auth.OAuth.TokenURL", o.TokenURL); err != nil {
		errs = append(errs, err)
	}
	if o.ClientID == "" {
		bad("ClientID is required")
	}
	switch o.AuthType {
	case ClientSecretPost:
		if o.ClientSecret == "" {
			bad("ClientSecret is required for %s", ClientSecretPost)
		}
	case PrivateKeyJWT:
		if o.Key == nil {
			bad("Key is required for %s", PrivateKeyJWT)
		} else if _, ok := o.Key.Public().(*rsa.PublicKey); !ok {
			bad("Key must be an RSA key: the client assertion is signed RS256")
		}
	case "":
		bad("AuthType is required: %s or %s", ClientSecretPost, PrivateKeyJWT)
	default:
		bad("AuthType %q is not %s or %s", o.AuthType, ClientSecretPost, PrivateKeyJWT)
	}
	return errs
}

// checkURL checks a URL the hook sends something to. Its messages never
// quote the URL: a query string may carry a key.
func (h Hook) checkURL(field, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s is required", field)
	}
	var errs []error
	if len(raw) > MaxURLLength {
		errs = append(errs, fmt.Errorf("%s is %d characters long, more than %d", field, len(raw), MaxURLLength))
	}
	if strings.IndexFunc(raw, unicode.IsSpace) >= 0 {
		errs = append(errs, fmt.Errorf("%s contains whitespace", field))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("%s is not a valid URL", field))...)
	}
	switch {
	case !u.IsAbs() || u.Host == "":
		errs = append(errs, fmt.Errorf("%s must be absolute (https://host/path)", field))
	case u.Scheme == "https":
	case u.Scheme == "http" && h.AllowHTTP && (h.AllowHTTPAnyHost || IsLoopback(u.Hostname())):
	case u.Scheme == "http" && h.AllowHTTP:
		errs = append(errs, fmt.Errorf("%s: http:// is allowed to a loopback host only (localhost, 127.0.0.1, ::1); use https", field))
	case u.Scheme == "http":
		errs = append(errs, fmt.Errorf("%s must use https, as Okta requires", field))
	default:
		errs = append(errs, fmt.Errorf("%s must use https, not %s", field, u.Scheme))
	}
	if u.User != nil {
		errs = append(errs, fmt.Errorf("%s must not carry credentials (user:password@); use the authentication scheme", field))
	}
	return errors.Join(errs...)
}

// IsLoopback reports whether host (a URL's Hostname, without port) names
// this machine: "localhost", a name under ".localhost", or a loopback IP
// address.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkHeaderName checks that name is an HTTP token (RFC 9110 §5.6.2).
func checkHeaderName(name string) error {
	if name == "" {
		return errors.New("header name is required")
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("header name %q is not a valid HTTP token", name)
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validHeaderValue reports whether v can be sent as a header value: no
// control characters other than tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
