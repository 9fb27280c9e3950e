package oktaemu

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// Demo defaults: what [DefaultConfig] configures and the emulator's home page
// shows. They are for a laptop demo only.
const (
	// DefaultListen is where `tokenhook emulate` listens by default; the
	// default issuer derives from it.
	DefaultListen = "127.0.0.1:8081"
	// DemoPassword is the password of every demo user.
	DemoPassword = "Passw0rd!"
	// DemoClientID and DemoClientSecret are the web client the sample app
	// uses (the guide's "okta-hosted-login" app integration).
	DemoClientID     = "tokenhook-sample"
	DemoClientSecret = "tokenhook-sample-secret"
	// DemoServiceClientID and DemoServiceClientSecret are the service
	// client for the client credentials grant.
	DemoServiceClientID     = "tokenhook-service"
	DemoServiceClientSecret = "tokenhook-service-secret"
	// DemoScope is the custom scope the default configuration defines.
	DemoScope = "patients.read"
)

// Grant types the emulator implements, with Okta's names.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantImplicit          = "implicit"
	GrantRefreshToken      = "refresh_token"
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
)

// grantTypes lists the grant types in the order docs and errors name them.
var grantTypes = []string{GrantAuthorizationCode, GrantImplicit, GrantRefreshToken, GrantPassword, GrantClientCredentials}

// Client types, as Okta's app integrations name them.
const (
	ClientWeb     = "web"
	ClientSPA     = "spa"
	ClientNative  = "native"
	ClientService = "service"
)

// Token endpoint authentication methods.
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthPrivateKeyJWT     = "private_key_jwt"
	AuthNone              = "none"
)

// Token targets of a custom claim.
const (
	TokenID     = "id"
	TokenAccess = "access"
	TokenBoth   = "both"
)

// Hook authentication types.
const (
	HookAuthHeader = "header"
	HookAuthOAuth  = "oauth"
)

// standardScopes are the OpenID Connect scopes every custom authorization
// server has; [Config.Scopes] adds custom ones.
var standardScopes = []string{"openid", "profile", "email", "address", "phone", "offline_access"}

// Config is the emulated authorization server: its identity, lifetimes,
// scopes, users, clients, custom claims and token inline hook. YAML keys are
// camelCase like Okta's API. Zero fields take the defaults documented on each;
// [LoadConfig] fills them.
type Config struct {
	// Issuer is the authorization server's issuer. Empty means
	// http://<listen address>/oauth2/<authorizationServerId>. Its path must
	// be /oauth2/<authorizationServerId>.
	Issuer string `yaml:"issuer"`
	// AuthorizationServerID is the custom authorization server's id
	// (default "default", like Okta's default server).
	AuthorizationServerID string `yaml:"authorizationServerId"`
	// Audience is the access token's aud (default "api://default").
	Audience string `yaml:"audience"`
	// KeyFile holds the RSA signing key as a JWK or PEM. An existing file is
	// loaded; a missing one is generated and written (mode 0600). Empty
	// means a key generated in memory for this run.
	KeyFile string `yaml:"keyFile"`
	// PolicyID and RuleID identify the access policy and rule in the hook
	// payload (default: stable ids derived from the server id).
	PolicyID string `yaml:"policyId"`
	RuleID   string `yaml:"ruleId"`
	// Lifetimes of what the server issues, in seconds.
	Lifetimes Lifetimes `yaml:"lifetimes"`
	// Scopes are custom scopes, added to the OpenID Connect ones (openid
	// profile email address phone offline_access), which always exist.
	Scopes []string `yaml:"scopes"`
	// Users who can sign in. Absent from the file means the demo users.
	Users []User `yaml:"users"`
	// Clients are the OAuth app integrations. Absent from the file means
	// the demo clients (and the demo scope patients.read with them).
	Clients []Client `yaml:"clients"`
	// Claims are the server's custom claims.
	Claims []Claim `yaml:"claims"`
	// KeyRotation is how the signing key rotates; the zero value rotates
	// only when (*Emulator).RotateKey is called.
	KeyRotation KeyRotation `yaml:"keyRotation"`
	// Hook is the token inline hook; nil (or no url) mints tokens unmodified.
	Hook *HookConfig `yaml:"hook"`
	// SystemLog is a file the System Log events are appended to as JSON
	// lines. Used by `tokenhook emulate`; empty means stdout there. The
	// library writes to Options.Log instead.
	SystemLog string `yaml:"systemLog"`
}

// Lifetimes are in seconds; zero means the default.
type Lifetimes struct {
	IDToken           int `yaml:"idToken"`           // default 3600
	AccessToken       int `yaml:"accessToken"`       // default 3600
	RefreshToken      int `yaml:"refreshToken"`      // default 7 776 000 (90 days)
	AuthorizationCode int `yaml:"authorizationCode"` // default 60
}

// KeyRotation is the signing key's rotation. A rotated-out key stays in
// /v1/keys until the last token it signed has expired and at least
// KeepPrevious has passed; at most [MaxPreviousKeys] stay.
type KeyRotation struct {
	// Every rotates the key when it has signed for this long (0: never by
	// itself; at least a minute). The check runs when a token is signed
	// or /v1/keys is read, with the emulator's clock (Options.Now).
	Every time.Duration `yaml:"every"`
	// KeepPrevious is how long a rotated-out key stays published at least
	// (0: the access token lifetime).
	KeepPrevious time.Duration `yaml:"keepPrevious"`
}

// User is a person who can sign in.
type User struct {
	// ID is the Okta user id; empty means a stable 00u… id derived from the
	// login.
	ID    string `yaml:"id"`
	Login string `yaml:"login"`
	// Password (plaintext, for demos) or PasswordHash (bcrypt, cost 10
	// keeps sign-in timing uniform): exactly one is required.
	Password     string `yaml:"password"`
	PasswordHash string `yaml:"passwordHash"`
	// Profile holds Okta profile attributes: firstName, lastName, email,
	// locale, timeZone, and any others (custom claims can read them).
	Profile map[string]any `yaml:"profile"`
	Groups  []string       `yaml:"groups"`
	// Status is ACTIVE (default); any other status cannot sign in.
	Status string `yaml:"status"`
}

// Client is an OAuth 2.0 app integration.
type Client struct {
	ID string `yaml:"id"`
	// Secret makes the client confidential; none means a public client.
	Secret string `yaml:"secret"`
	Name   string `yaml:"name"`
	// Type is web, spa, native or service (default web with a secret, spa
	// without).
	Type                   string   `yaml:"type"`
	RedirectURIs           []string `yaml:"redirectUris"`
	PostLogoutRedirectURIs []string `yaml:"postLogoutRedirectUris"`
	// GrantTypes allowed (default: web and native authorization_code and
	// refresh_token, spa authorization_code, service client_credentials).
	GrantTypes []string `yaml:"grantTypes"`
	// TokenEndpointAuthMethod is client_secret_basic (default with a
	// secret), client_secret_post, private_key_jwt (default with a public
	// key and no secret), or none (public clients).
	TokenEndpointAuthMethod string `yaml:"tokenEndpointAuthMethod"`
	// JWKS (an inline JSON Web Key Set, {keys: [...]}, public keys only)
	// or PublicKeyFile (a PEM or JWK/JWKS file; a private key's public half
	// is used) holds the keys a private_key_jwt client signs its client
	// assertions with: RSA of at least 2048 bits (RS256) or EC P-256
	// (ES256). A key without a kid gets its RFC 7638 thumbprint.
	JWKS          map[string]any `yaml:"jwks"`
	PublicKeyFile string         `yaml:"publicKeyFile"`
	// Scopes the client may ask for; empty means any the server has.
	Scopes []string `yaml:"scopes"`
}

// Claim is a custom claim of the authorization server.
type Claim struct {
	Name string `yaml:"name"`
	// Token is id, access or both (default id).
	Token string `yaml:"token"`
	// Value is a literal (any YAML value) or, as a string, one of the
	// expressions user.login, user.id, user.groups or user.profile.<attr>.
	// A claim whose expression finds nothing is left out, as Okta does.
	Value any `yaml:"value"`
	// Scopes: the claim is added only when one of them is granted; empty
	// means always.
	Scopes []string `yaml:"scopes"`
}

// HookConfig is the token inline hook (Okta's inline hook object) and the
// policy rule condition that triggers it.
type HookConfig struct {
	// Name names the hook in System Log events (default "Token inline
	// hook").
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// AllowHTTP permits an http:// URL (local development); Okta requires
	// https.
	AllowHTTP bool `yaml:"allowHttp"`
	// AllowHTTPAnyHost, with AllowHTTP, permits http:// to any host, not
	// only loopback (a hook in another container).
	AllowHTTPAnyHost bool `yaml:"allowHttpAnyHost"`
	// Timeout is the total budget of one call (default 3s, Okta's).
	Timeout time.Duration `yaml:"timeout"`
	Headers []HookHeader  `yaml:"headers"`
	// Auth is how the call authenticates; the zero value sends nothing.
	Auth HookAuth `yaml:"auth"`
	// GrantTypes that trigger the hook, like the rule's grant type
	// condition; empty means all.
	GrantTypes []string `yaml:"grantTypes"`
	// ReservedClaims is latest (default) or union: which of Okta's
	// reserved-claim tables the answer is held to.
	ReservedClaims string `yaml:"reservedClaims"`
	// DPoP reserves cnf in access tokens too.
	DPoP bool `yaml:"dpop"`
	// DeniedStatus is the HTTP status of the server_error a denying hook
	// causes at /v1/token: 400 (default, RFC 6749 §5.2) or 500. Okta's is
	// undocumented.
	DeniedStatus int `yaml:"deniedStatus"`
}

// HookHeader is a custom header sent on every hook call.
type HookHeader struct {
	Key   string `yaml:"key"`
	Value string `yaml:"value"`
}

// HookAuth is how the hook call authenticates. Value and ClientSecret may
// name environment variables as ${NAME}, so secrets stay out of the file.
type HookAuth struct {
	// Type is header or oauth; empty means no authentication.
	Type string `yaml:"type"`
	// Header scheme: the header Key carries Value verbatim.
	Key   string `yaml:"key"`
	Value string `yaml:"value"`
	// OAuth scheme: AuthType is client_secret_post or private_key_jwt.
	AuthType       string `yaml:"authType"`
	TokenURL       string `yaml:"tokenUrl"`
	ClientID       string `yaml:"clientId"`
	ClientSecret   string `yaml:"clientSecret"`
	PrivateKeyFile string `yaml:"privateKeyFile"`
	KeyID          string `yaml:"keyId"`
	Scope          string `yaml:"scope"`
}

// Enabled reports whether a hook is configured.
func (h *HookConfig) Enabled() bool { return h != nil && h.URL != "" }

// DefaultConfig returns the demo authorization server: three users (two of
// them the guide's patients), the sample web app and a service client, no
// hook. Every user's password is [DemoPassword].
func DefaultConfig() *Config {
	c := &Config{Scopes: []string{DemoScope}}
	c.Users = defaultUsers()
	c.Clients = defaultClients()
	c.fillDefaults()
	return c
}

func defaultUsers() []User {
	user := func(first, last string) User {
		login := strings.ToLower(first + "." + last + "@example.com")
		return User{
			Login:    login,
			Password: DemoPassword,
			Profile: map[string]any{
				"firstName": first, "lastName": last, "email": login,
				"locale": "en_US", "timeZone": "America/Los_Angeles",
			},
			Groups: []string{"Everyone"},
		}
	}
	return []User{user("Jessie", "Smith"), user("Kim", "Sato"), user("Pat", "Doe")}
}

func defaultClients() []Client {
	return []Client{
		{
			ID:                     DemoClientID,
			Secret:                 DemoClientSecret,
			Name:                   "tokenhook sample app",
			Type:                   ClientWeb,
			RedirectURIs:           []string{"http://localhost:8080/authorization-code/callback"},
			PostLogoutRedirectURIs: []string{"http://localhost:8080"},
			GrantTypes:             []string{GrantAuthorizationCode, GrantRefreshToken, GrantImplicit, GrantPassword},
		},
		{
			ID:         DemoServiceClientID,
			Secret:     DemoServiceClientSecret,
			Name:       "tokenhook service",
			Type:       ClientService,
			GrantTypes: []string{GrantClientCredentials},
			Scopes:     []string{DemoScope},
		},
	}
}

// LoadConfig reads the YAML file at path strictly (unknown keys are errors),
// expands ${NAME} in the hook's secrets from the process environment, fills
// defaults and validates. Lists the file leaves out (users, clients) are the
// demo ones.
func LoadConfig(path string) (*Config, error) {
	return LoadConfigEnv(path, os.LookupEnv)
}

// LoadConfigEnv is [LoadConfig] with the environment passed in.
func LoadConfigEnv(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("emulator config: %w", err)
	}
	c, err := ParseConfig(data, lookupEnv)
	if err != nil {
		return nil, fmt.Errorf("emulator config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes a YAML configuration strictly, expands ${NAME} in the
// hook's secrets with lookupEnv (nil: no environment), fills defaults and
// validates.
func ParseConfig(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	c := &Config{}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil {
			return nil, err
		}
	}
	if c.Users == nil {
		c.Users = defaultUsers()
	}
	if c.Clients == nil {
		c.Clients = defaultClients()
		// The demo service client asks for the demo scope.
		if !slices.Contains(c.Scopes, DemoScope) {
			c.Scopes = append(c.Scopes, DemoScope)
		}
	}
	envErr := c.ExpandEnv(lookupEnv)
	c.fillDefaults()
	if err := errors.Join(envErr, c.Validate()); err != nil {
		return nil, err
	}
	return c, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ExpandEnv replaces ${NAME} in hook.auth.value and hook.auth.clientSecret
// with the environment variable NAME. A variable that is not set is an
// error naming it (never its value).
func (c *Config) ExpandEnv(lookupEnv func(string) (string, bool)) error {
	if c.Hook == nil {
		return nil
	}
	var errs []error
	expand := func(field string, s *string) {
		*s = envRef.ReplaceAllStringFunc(*s, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			if lookupEnv != nil {
				if v, ok := lookupEnv(name); ok {
					return v
				}
			}
			errs = append(errs, fmt.Errorf("hook.auth.%s: environment variable %s is not set", field, name))
			return ""
		})
	}
	expand("value", &c.Hook.Auth.Value)
	expand("clientSecret", &c.Hook.Auth.ClientSecret)
	return errors.Join(errs...)
}

// fillDefaults sets every zero field that has a default.
func (c *Config) fillDefaults() {
	if c.AuthorizationServerID == "" {
		c.AuthorizationServerID = "default"
	}
	if c.Audience == "" {
		c.Audience = "api://default"
	}
	if c.PolicyID == "" {
		c.PolicyID = stableID("00p", 20, "policy", c.AuthorizationServerID)
	}
	if c.RuleID == "" {
		c.RuleID = stableID("0pr", 20, "rule", c.AuthorizationServerID)
	}
	l := &c.Lifetimes
	l.IDToken = orDefault(l.IDToken, 3600)
	l.AccessToken = orDefault(l.AccessToken, 3600)
	l.RefreshToken = orDefault(l.RefreshToken, 90*24*3600)
	l.AuthorizationCode = orDefault(l.AuthorizationCode, 60)
	for i := range c.Users {
		u := &c.Users[i]
		if u.ID == "" && u.Login != "" {
			u.ID = stableID("00u", 20, "user", strings.ToLower(u.Login))
		}
		if u.Status == "" {
			u.Status = "ACTIVE"
		}
	}
	for i := range c.Clients {
		cl := &c.Clients[i]
		if cl.Type == "" {
			cl.Type = ClientWeb
			if cl.Secret == "" && !cl.hasKeys() {
				cl.Type = ClientSPA
			}
		}
		if cl.Name == "" {
			cl.Name = cl.ID
		}
		if cl.GrantTypes == nil {
			switch cl.Type {
			case ClientService:
				cl.GrantTypes = []string{GrantClientCredentials}
			case ClientSPA:
				cl.GrantTypes = []string{GrantAuthorizationCode}
			default:
				cl.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
			}
		}
		if cl.TokenEndpointAuthMethod == "" {
			switch {
			case cl.Secret != "":
				cl.TokenEndpointAuthMethod = AuthClientSecretBasic
			case cl.hasKeys():
				cl.TokenEndpointAuthMethod = AuthPrivateKeyJWT
			default:
				cl.TokenEndpointAuthMethod = AuthNone
			}
		}
	}
	for i := range c.Claims {
		if c.Claims[i].Token == "" {
			c.Claims[i].Token = TokenID
		}
	}
	if h := c.Hook; h != nil {
		if h.Name == "" {
			h.Name = "Token inline hook"
		}
		if h.ReservedClaims == "" {
			h.ReservedClaims = "latest"
		}
		if h.DeniedStatus == 0 {
			h.DeniedStatus = 400
		}
	}
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

var (
	serverIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	scopePattern    = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`) // RFC 6749 scope-token
	userStatuses    = []string{"ACTIVE", "STAGED", "PROVISIONED", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED"}
)

// Validate reports every problem of the configuration at once, joined, or
// nil. Call it on a filled configuration (LoadConfig does both).
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !serverIDPattern.MatchString(c.AuthorizationServerID) {
		add("authorizationServerId %q: want 1-64 letters, digits, - or _", c.AuthorizationServerID)
	}
	if c.Issuer != "" {
		if err := checkIssuer(c.Issuer, c.AuthorizationServerID); err != nil {
			add("issuer %q: %v", c.Issuer, err)
		}
	}
	if c.Audience == "" {
		add("audience: required")
	}
	l := c.Lifetimes
	for _, lt := range []struct {
		name     string
		v, lo, h int
	}{
		{"idToken", l.IDToken, inlinehook.MinLifetime, inlinehook.MaxLifetime},
		{"accessToken", l.AccessToken, inlinehook.MinLifetime, inlinehook.MaxLifetime},
		{"refreshToken", l.RefreshToken, 600, 5 * 365 * 24 * 3600},
		{"authorizationCode", l.AuthorizationCode, 1, 600},
	} {
		if lt.v < lt.lo || lt.v > lt.h {
			add("lifetimes.%s %d: want %d to %d seconds", lt.name, lt.v, lt.lo, lt.h)
		}
	}
	known := map[string]bool{}
	for _, s := range standardScopes {
		known[s] = true
	}
	for i, s := range c.Scopes {
		switch {
		case !scopePattern.MatchString(s):
			add("scopes[%d] %q: not a valid scope name", i, s)
		case known[s]:
			add("scopes[%d] %q: defined twice (the OpenID Connect scopes always exist)", i, s)
		}
		known[s] = true
	}

	logins, userIDs := map[string]int{}, map[string]int{}
	for i, u := range c.Users {
		p := fmt.Sprintf("users[%d]", i)
		if u.Login == "" {
			add("%s.login: required", p)
		} else if j, dup := logins[strings.ToLower(u.Login)]; dup {
			add("%s.login %q: already used by users[%d] (logins are case-insensitive)", p, u.Login, j)
		} else {
			logins[strings.ToLower(u.Login)] = i
		}
		if u.ID != "" {
			if j, dup := userIDs[u.ID]; dup {
				add("%s.id %q: already used by users[%d]", p, u.ID, j)
			}
			userIDs[u.ID] = i
		}
		switch {
		case u.Password == "" && u.PasswordHash == "":
			add("%s: password or passwordHash is required", p)
		case u.Password != "" && u.PasswordHash != "":
			add("%s: set password or passwordHash, not both", p)
		case u.PasswordHash != "":
			if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
				add("%s.passwordHash: not a bcrypt hash", p)
			}
		}
		if !slices.Contains(userStatuses, u.Status) {
			add("%s.status %q: want one of %s", p, u.Status, strings.Join(userStatuses, ", "))
		}
		for _, attr := range []string{"login", "firstName", "lastName", "email", "locale", "timeZone"} {
			if v, ok := u.Profile[attr]; ok {
				if _, isString := v.(string); !isString {
					add("%s.profile.%s: want a string", p, attr)
				}
			}
		}
	}

	clientIDs := map[string]int{}
	for i, cl := range c.Clients {
		p := fmt.Sprintf("clients[%d]", i)
		if cl.ID == "" {
			add("%s.id: required", p)
		} else if j, dup := clientIDs[cl.ID]; dup {
			add("%s.id %q: already used by clients[%d]", p, cl.ID, j)
		} else {
			clientIDs[cl.ID] = i
		}
		switch cl.Type {
		case ClientWeb, ClientService:
			if cl.Secret == "" && !cl.hasKeys() {
				add("%s: a %s client is confidential and needs a secret or a public key (jwks, publicKeyFile)", p, cl.Type)
			}
		case ClientSPA, ClientNative:
		default:
			add("%s.type %q: want web, spa, native or service", p, cl.Type)
		}
		switch cl.TokenEndpointAuthMethod {
		case AuthClientSecretBasic, AuthClientSecretPost:
			if cl.Secret == "" {
				add("%s.tokenEndpointAuthMethod %s: needs a secret", p, cl.TokenEndpointAuthMethod)
			}
			if cl.hasKeys() {
				add("%s: jwks and publicKeyFile are for tokenEndpointAuthMethod private_key_jwt, not %s", p, cl.TokenEndpointAuthMethod)
			}
		case AuthPrivateKeyJWT:
			if !cl.hasKeys() {
				add("%s.tokenEndpointAuthMethod private_key_jwt: needs jwks or publicKeyFile", p)
			}
			if cl.Secret != "" {
				add("%s.tokenEndpointAuthMethod private_key_jwt: a client that authenticates with a key takes no secret", p)
			}
		case AuthNone:
			if cl.Secret != "" || cl.hasKeys() {
				add("%s.tokenEndpointAuthMethod none: a client with a secret or a public key must authenticate", p)
			}
		default:
			add("%s.tokenEndpointAuthMethod %q: want client_secret_basic, client_secret_post, private_key_jwt or none", p, cl.TokenEndpointAuthMethod)
		}
		if cl.hasKeys() {
			errs = append(errs, cl.checkKeys(p)...)
		}
		redirects := false
		for _, g := range cl.GrantTypes {
			switch g {
			case GrantAuthorizationCode, GrantImplicit:
				redirects = true
				if cl.Type == ClientService {
					add("%s.grantTypes: a service client has no user, so no %s", p, g)
				}
			case GrantPassword:
				if cl.Type == ClientService {
					add("%s.grantTypes: a service client has no user, so no password grant", p)
				}
			case GrantRefreshToken:
				if !slices.Contains(cl.GrantTypes, GrantAuthorizationCode) && !slices.Contains(cl.GrantTypes, GrantPassword) {
					add("%s.grantTypes: refresh_token needs authorization_code or password", p)
				}
			case GrantClientCredentials:
				if cl.Secret == "" && !cl.hasKeys() {
					add("%s.grantTypes: client_credentials needs a confidential client (a secret or a public key)", p)
				}
			default:
				add("%s.grantTypes: %q: want %s", p, g, strings.Join(grantTypes, ", "))
			}
		}
		if redirects && len(cl.RedirectURIs) == 0 {
			add("%s.redirectUris: at least one is required for browser flows", p)
		}
		for j, u := range cl.RedirectURIs {
			if err := checkRedirectURI(u); err != nil {
				add("%s.redirectUris[%d] %q: %v", p, j, u, err)
			}
		}
		for j, u := range cl.PostLogoutRedirectURIs {
			if err := checkRedirectURI(u); err != nil {
				add("%s.postLogoutRedirectUris[%d] %q: %v", p, j, u, err)
			}
		}
		for j, s := range cl.Scopes {
			if !known[s] {
				add("%s.scopes[%d] %q: not a scope of the server", p, j, s)
			}
		}
	}

	claimNames := map[string]int{}
	for i, cl := range c.Claims {
		p := fmt.Sprintf("claims[%d]", i)
		var tokens []string
		switch cl.Token {
		case TokenID:
			tokens = []string{inlinehook.IdentityPatch}
		case TokenAccess:
			tokens = []string{inlinehook.AccessPatch}
		case TokenBoth:
			tokens = []string{inlinehook.IdentityPatch, inlinehook.AccessPatch}
		default:
			add("%s.token %q: want id, access or both", p, cl.Token)
		}
		if cl.Name == "" {
			add("%s.name: required", p)
		} else {
			for _, t := range tokens {
				if (inlinehook.Rules{}).IsReserved(t, cl.Name) || baseClaim(t, cl.Name) {
					add("%s.name %q: the server sets this claim itself", p, cl.Name)
					break
				}
			}
			for _, t := range tokens {
				key := t + "\x00" + cl.Name
				if j, dup := claimNames[key]; dup {
					add("%s.name %q: already defined by claims[%d] for the same token", p, cl.Name, j)
					break
				}
				claimNames[key] = i
			}
		}
		if cl.Value == nil {
			add("%s.value: required", p)
		} else if s, ok := cl.Value.(string); ok {
			if _, bad := parseExpression(s); bad != "" {
				add("%s.value %q: %s", p, s, bad)
			}
		}
		for j, s := range cl.Scopes {
			if !known[s] {
				add("%s.scopes[%d] %q: not a scope of the server", p, j, s)
			}
		}
	}

	kr := c.KeyRotation
	if kr.Every != 0 && kr.Every < time.Minute {
		add("keyRotation.every %v: want at least 1m (or 0: only on request)", kr.Every)
	}
	if kr.KeepPrevious < 0 {
		add("keyRotation.keepPrevious %v: must not be negative", kr.KeepPrevious)
	}

	if c.Hook.Enabled() {
		errs = append(errs, c.Hook.validate()...)
	}
	return errors.Join(errs...)
}

func (h *HookConfig) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, g := range h.GrantTypes {
		if !slices.Contains(grantTypes, g) {
			add("hook.grantTypes[%d] %q: want %s", i, g, strings.Join(grantTypes, ", "))
		}
	}
	switch h.ReservedClaims {
	case "latest", "union":
	default:
		add("hook.reservedClaims %q: want latest or union", h.ReservedClaims)
	}
	switch h.DeniedStatus {
	case 400, 500:
	default:
		add("hook.deniedStatus %d: want 400 or 500", h.DeniedStatus)
	}
	if a := h.Auth; a != (HookAuth{}) {
		switch a.Type {
		case HookAuthHeader:
			if a.AuthType != "" || a.TokenURL != "" || a.ClientID != "" || a.ClientSecret != "" || a.PrivateKeyFile != "" {
				add("hook.auth: the header type takes key and value only")
			}
		case HookAuthOAuth:
			if a.Key != "" || a.Value != "" {
				add("hook.auth: the oauth type takes no key or value")
			}
		default:
			add("hook.auth.type %q: want header or oauth", a.Type)
		}
	}
	hc, err := h.callerHook()
	if err != nil {
		return append(errs, err)
	}
	if err := hc.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("hook: %w", err))
	}
	return errs
}

// callerHook maps the configuration onto hookcall's Hook, loading the
// private key for private_key_jwt.
func (h *HookConfig) callerHook() (hookcall.Hook, error) {
	hc := hookcall.Hook{ID: stableID("cal", 20, "hook", h.Name), Name: h.Name, URL: h.URL, AllowHTTP: h.AllowHTTP, AllowHTTPAnyHost: h.AllowHTTPAnyHost, Timeout: h.Timeout}
	for _, hd := range h.Headers {
		hc.Headers = append(hc.Headers, hookcall.Header{Name: hd.Key, Value: hd.Value})
	}
	if h.ReservedClaims == "union" {
		hc.Rules.ReservedClaims = inlinehook.ReservedUnion
	}
	hc.Rules.DPoP = h.DPoP
	a := h.Auth
	switch a.Type {
	case HookAuthHeader:
		hc.Auth.Header = &hookcall.Header{Name: a.Key, Value: a.Value}
	case HookAuthOAuth:
		o := &hookcall.OAuth{
			AuthType: a.AuthType, TokenURL: a.TokenURL, ClientID: a.ClientID,
			ClientSecret: a.ClientSecret, KeyID: a.KeyID, Scope: a.Scope,
		}
		if a.PrivateKeyFile != "" {
			k, _, err := hookcall.ReadPrivateKeyFile(a.PrivateKeyFile)
			if err != nil {
				return hc, fmt.Errorf("hook.auth.privateKeyFile: %w", err)
			}
			o.Key = k
			if o.KeyID == "" {
				o.KeyID = keyID(k)
			}
		}
		hc.Auth.OAuth = o
	}
	return hc, nil
}

// checkIssuer checks an issuer URL: absolute http(s), no query or fragment,
// path /oauth2/<server id>.
func checkIssuer(issuer, serverID string) error {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an absolute http or https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("must not have user info, a query or a fragment")
	}
	if u.Path != "/oauth2/"+serverID {
		return fmt.Errorf("path must be /oauth2/%s", serverID)
	}
	return nil
}

// checkRedirectURI accepts absolute URLs without a fragment, as OAuth
// requires (custom schemes included, for native apps).
func checkRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
		return errors.New("want an absolute URL")
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return errors.New("must not have a fragment")
	}
	return nil
}

// IssuerFor returns the issuer for a server listening on addr (host:port),
// as the default issuer is computed: http://addr/oauth2/<server id>. An
// unspecified host (":8081", "0.0.0.0") becomes 127.0.0.1.
func (c *Config) IssuerFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	id := c.AuthorizationServerID
	if id == "" {
		id = "default"
	}
	return "http://" + host + "/oauth2/" + id
}

// SampleClient returns the demo web client (DemoClientID) with the
// redirect URIs of a sample app at appBase added to it:
// appBase/authorization-code/callback, and appBase after logout.
func (c *Config) SampleClient(appBase string) (*Client, error) {
	appBase = strings.TrimRight(appBase, "/")
	for i := range c.Clients {
		cl := &c.Clients[i]
		if cl.ID != DemoClientID {
			continue
		}
		if cb := appBase + "/authorization-code/callback"; !slices.Contains(cl.RedirectURIs, cb) {
			cl.RedirectURIs = append(cl.RedirectURIs, cb)
		}
		if !slices.Contains(cl.PostLogoutRedirectURIs, appBase) {
			cl.PostLogoutRedirectURIs = append(cl.PostLogoutRedirectURIs, appBase)
		}
		return cl, nil
	}
	return nil, fmt.Errorf("no client %s in the emulator configuration", DemoClientID)
}

// SystemLogURL returns the System Log page of an emulator with the
// configured issuer ("" without one).
func (c *Config) SystemLogURL() string {
	u, err := url.Parse(c.Issuer)
	if c.Issuer == "" || err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/system-log"
}
