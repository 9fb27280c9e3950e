package preview

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// Target is where and how a preview calls the hook, in the terms of the
// command line.
type Target struct {
	URL string
	// Headers are custom headers, each "Name: value".
	Headers []string
	// AuthHeader is the HTTP-header scheme, "Name: value" (e.g.
	// "Authorization: Basic …"); empty for none.
	AuthHeader string
	// OAuth: set TokenURL to use it. ClientSecret selects
	// client_secret_post, PrivateKeyFile (PEM or JWK) private_key_jwt.
	OAuthTokenURL       string
	OAuthClientID       string
	OAuthClientSecret   string
	OAuthPrivateKeyFile string
	OAuthKeyID          string // default: the JWK's kid
	OAuthScope          string
	// Timeout is the budget; zero means Okta's 3 s.
	Timeout time.Duration
	// AllowHTTPAnyHost accepts http:// to any host. http:// to a loopback
	// host is always accepted: the hook is on this machine.
	AllowHTTPAnyHost bool
	// Reserved is the reserved-claim table: "latest" (or empty) or "union".
	Reserved string
	// DPoP makes cnf reserved in access tokens too.
	DPoP bool
}

// Hook returns the hookcall.Hook for t, or every problem with it.
func (t Target) Hook() (hookcall.Hook, error) {
	var errs []error
	h := hookcall.Hook{
		URL:              t.URL,
		AllowHTTP:        true,
		AllowHTTPAnyHost: t.AllowHTTPAnyHost,
		Timeout:          t.Timeout,
		Rules:            inlinehook.Rules{DPoP: t.DPoP},
	}
	switch t.Reserved {
	case "", "latest":
	case "union":
		h.Rules.ReservedClaims = inlinehook.ReservedUnion
	default:
		errs = append(errs, fmt.Errorf("--reserved %q: want latest or union", t.Reserved))
	}
	for _, s := range t.Headers {
		hd, err := ParseHeader(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--header: %w", err))
			continue
		}
		h.Headers = append(h.Headers, hd)
	}
	if t.AuthHeader != "" {
		hd, err := ParseHeader(t.AuthHeader)
		if err != nil {
			errs = append(errs, fmt.Errorf("--auth-header: %w", err))
		} else {
			h.Auth.Header = &hd
		}
	}
	if t.OAuthTokenURL != "" || t.OAuthClientID != "" || t.OAuthPrivateKeyFile != "" {
		o := &hookcall.OAuth{TokenURL: t.OAuthTokenURL, ClientID: t.OAuthClientID, Scope: t.OAuthScope}
		switch {
		case t.OAuthClientSecret != "" && t.OAuthPrivateKeyFile != "":
			errs = append(errs, errors.New("OAuth: give a client secret or a private key, not both"))
		case t.OAuthPrivateKeyFile != "":
			key, kid, err := hookcall.ReadPrivateKeyFile(t.OAuthPrivateKeyFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("--oauth-private-key: %w", err))
			}
			o.AuthType, o.Key, o.KeyID = hookcall.PrivateKeyJWT, key, kid
			if t.OAuthKeyID != "" {
				o.KeyID = t.OAuthKeyID
			}
		case t.OAuthClientSecret != "":
			o.AuthType, o.ClientSecret = hookcall.ClientSecretPost, t.OAuthClientSecret
		default:
			errs = append(errs, errors.New("OAuth: a client secret (environment) or --oauth-private-key is required"))
		}
		h.Auth.OAuth = o
	}
	if len(errs) == 0 {
		if err := h.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return h, errors.Join(errs...)
}

// ParseHeader parses "Name: value" (the space is optional).
func ParseHeader(s string) (hookcall.Header, error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		// Never quote s: it may be a secret.
		return hookcall.Header{}, errors.New(`want "Name: value"`)
	}
	return hookcall.Header{Name: name, Value: strings.TrimSpace(value)}, nil
}
