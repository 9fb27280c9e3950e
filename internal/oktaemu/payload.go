package oktaemu

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// eventTimeLayout is Okta's timestamp format in hook payloads: UTC, ms.
const eventTimeLayout = "2006-01-02T15:04:05.000Z"

// sessionLifetime is how long a sign-in lasts: Okta's default session
// lifetime (2 hours).
const sessionLifetime = 2 * time.Hour

// authServer is a configuration compiled for lookups, with its issuer fixed.
// It builds hook payloads and token claims; it holds no mutable state.
type authServer struct {
	cfg       *Config
	issuer    string
	org       string // scheme://host of the issuer, Okta's org URL
	orgID     string
	users     map[string]*User // by lower-case login
	usersByID map[string]*User
	clients   map[string]*Client
	scopes    []string // every scope: the OpenID Connect ones, then custom
	scopeIDs  map[string]string
	// passwordChanged is context.user.passwordChanged: when the server
	// started, for lack of a password history.
	passwordChanged string
}

func newAuthServer(cfg *Config, issuer string, started time.Time) *authServer {
	a := &authServer{
		cfg:             cfg,
		issuer:          strings.TrimRight(issuer, "/"),
		users:           map[string]*User{},
		usersByID:       map[string]*User{},
		clients:         map[string]*Client{},
		scopeIDs:        map[string]string{},
		passwordChanged: started.UTC().Format(eventTimeLayout),
	}
	a.org = a.issuer
	if u, err := url.Parse(a.issuer); err == nil && u.Host != "" {
		a.org = u.Scheme + "://" + u.Host
	}
	a.orgID = stableID("00o", 20, "org", a.org)
	for i := range cfg.Users {
		u := &cfg.Users[i]
		a.users[strings.ToLower(u.Login)] = u
		a.usersByID[u.ID] = u
	}
	for i := range cfg.Clients {
		a.clients[cfg.Clients[i].ID] = &cfg.Clients[i]
	}
	a.scopes = append(slices.Clone(standardScopes), cfg.Scopes...)
	for _, s := range a.scopes {
		a.scopeIDs[s] = stableID("scp", 20, "scope", cfg.AuthorizationServerID, s)
	}
	return a
}

// user finds a user by login (case-insensitive) or id.
func (a *authServer) user(loginOrID string) *User {
	if u := a.users[strings.ToLower(loginOrID)]; u != nil {
		return u
	}
	return a.usersByID[loginOrID]
}

// session is a sign-in on the hosted login page: Okta's SSO session.
type session struct {
	id       string // Okta-style 102… id, sent to the hook; not the cookie
	userID   string
	login    string
	created  time.Time
	expires  time.Time
	freshFor string // the authorize request this sign-in was made for (prompt=login)
}

// trigger is the HTTP request that made the server mint: its endpoint
// ("authorize" or "token"), method, query string and client address.
type trigger struct {
	endpoint string
	method   string
	rawQuery string
	ip       string
}

// mintRequest is everything one token mint depends on. The flows build one,
// the payload builder turns it into the hook request, and the minter signs
// the result.
type mintRequest struct {
	grantType   string // the grant, for the hook's grant type condition
	client      *Client
	user        *User    // nil for client credentials
	session     *session // authorize flows only
	scopes      []string // granted
	idToken     bool
	accessToken bool
	refreshJTI  string // "" when no refresh token is issued
	nonce       string
	authTime    time.Time
	trigger     trigger
	protocol    inlinehook.ProtocolRequest
	original    *inlinehook.OriginalGrant // refresh_token grant only
}

func (m *mintRequest) has(scope string) bool { return slices.Contains(m.scopes, scope) }

// clientType is context.protocol.client.type: PUBLIC for a client that
// does not authenticate, CONFIDENTIAL for one with a secret or a key
// (Okta's one sample shows PUBLIC; CONFIDENTIAL is our inference, the same
// as inlinehooktest's).
func clientType(c *Client) string {
	if c.TokenEndpointAuthMethod == AuthNone {
		return "PUBLIC"
	}
	return "CONFIDENTIAL"
}

// payload builds the token inline hook request for m, as Okta sends it
// (contract §2). It is also what BuildPreviewRequest returns.
func (a *authServer) payload(m *mintRequest, now time.Time) *inlinehook.TokenRequest {
	source := a.issuer + "/v1/" + m.trigger.endpoint
	full := source
	if m.trigger.rawQuery != "" {
		full += "?" + m.trigger.rawQuery
	}
	req := &inlinehook.TokenRequest{
		Source:            source,
		EventID:           randomToken(16),
		EventTime:         now.UTC().Format(eventTimeLayout),
		EventTypeVersion:  "1.0",
		CloudEventVersion: "0.1",
		ContentType:       "application/json",
		EventType:         inlinehook.EventTypeTokenTransform,
	}
	ctx := &req.Data.Context
	ctx.Request = &inlinehook.Request{
		ID:        randomToken(20),
		Method:    m.trigger.method,
		URL:       &inlinehook.URL{Value: full},
		IPAddress: m.trigger.ip,
	}
	protocol := m.protocol
	ctx.Protocol = &inlinehook.Protocol{
		Type:          "OAUTH2.0",
		Request:       &protocol,
		OriginalGrant: m.original,
		Issuer:        &inlinehook.Issuer{URI: a.issuer},
		Client:        &inlinehook.Client{ID: m.client.ID, Name: m.client.Name, Type: clientType(m.client)},
	}
	if s := m.session; s != nil {
		mfa := false
		ctx.Session = &inlinehook.Session{
			ID:                       s.id,
			UserID:                   s.userID,
			Login:                    s.login,
			CreatedAt:                s.created.UTC().Format(eventTimeLayout),
			ExpiresAt:                s.expires.UTC().Format(eventTimeLayout),
			Status:                   "ACTIVE",
			LastPasswordVerification: s.created.UTC().Format(eventTimeLayout),
			AMR:                      []string{"PASSWORD"},
			IDP:                      &inlinehook.IDP{ID: a.orgID, Type: "OKTA"},
			MFAActive:                &mfa,
		}
	}
	if u := m.user; u != nil {
		ctx.User = &inlinehook.User{
			ID:              u.ID,
			PasswordChanged: a.passwordChanged,
			Profile: inlinehook.Profile{
				Login:     u.Login,
				FirstName: profileString(u, "firstName"),
				LastName:  profileString(u, "lastName"),
				Locale:    profileString(u, "locale"),
				TimeZone:  profileString(u, "timeZone"),
			},
			Links: map[string]any{
				"groups":  map[string]any{"href": a.org + "/api/v1/users/" + u.ID + "/groups"},
				"factors": map[string]any{"href": a.org + "/api/v1/users/" + u.ID + "/factors"},
			},
		}
	}
	ctx.Policy = &inlinehook.Policy{ID: a.cfg.PolicyID, Rule: &inlinehook.PolicyRule{ID: a.cfg.RuleID}}

	if m.idToken {
		req.Data.Identity = &inlinehook.Token{Claims: a.idClaims(m)}
		req.Data.Identity.Token.Lifetime.Expiration = a.cfg.Lifetimes.IDToken
	}
	if m.accessToken {
		scopes := make(map[string]inlinehook.Scope, len(m.scopes))
		for _, s := range m.scopes {
			scopes[s] = inlinehook.Scope{ID: a.scopeIDs[s], Action: "GRANT"}
		}
		req.Data.Access = &inlinehook.Token{Claims: a.accessClaims(m), Scopes: scopes}
		req.Data.Access.Token.Lifetime.Expiration = a.cfg.Lifetimes.AccessToken
	}
	if m.refreshJTI != "" {
		req.Data.RefreshToken = &inlinehook.RefreshToken{JTI: m.refreshJTI}
	}
	return req
}

// idClaims are the ID token's claims before the hook, without iat, exp and
// at_hash (Okta sets those after it). With an access token Okta issues a
// "thin" ID token (name, preferred_username, email by scope, as in its
// sample); alone it carries the scopes' full profile claims.
func (a *authServer) idClaims(m *mintRequest) inlinehook.Claims {
	u := m.user
	c := inlinehook.Claims{
		"sub":       u.ID,
		"ver":       float64(1),
		"iss":       a.issuer,
		"aud":       m.client.ID,
		"jti":       "ID." + randomToken(32),
		"amr":       []any{"pwd"},
		"idp":       a.orgID,
		"auth_time": float64(m.authTime.Unix()),
	}
	if m.nonce != "" {
		c["nonce"] = m.nonce
	}
	for k, v := range userClaims(u, m.scopes, !m.accessToken) {
		c[k] = v
	}
	for k, v := range a.customClaims(TokenID, m) {
		c[k] = v
	}
	return c
}

// userClaims are the OpenID Connect profile claims the scopes grant: the
// thin set (name, preferred_username, email), or all of them when full.
func userClaims(u *User, scopes []string, full bool) map[string]any {
	c := map[string]any{}
	set := func(claim, attr string) {
		if v := profileString(u, attr); v != "" {
			c[claim] = v
		}
	}
	if slices.Contains(scopes, "profile") {
		if name := strings.TrimSpace(profileString(u, "firstName") + " " + profileString(u, "lastName")); name != "" {
			c["name"] = name
		}
		c["preferred_username"] = u.Login
		if full {
			set("given_name", "firstName")
			set("family_name", "lastName")
			set("middle_name", "middleName")
			set("nickname", "nickName")
			set("locale", "locale")
			set("zoneinfo", "timeZone")
			set("profile", "profileUrl")
		}
	}
	if slices.Contains(scopes, "email") {
		set("email", "email")
		if full && c["email"] != nil {
			c["email_verified"] = true
		}
	}
	if full && slices.Contains(scopes, "address") {
		addr := map[string]any{}
		for claim, attr := range map[string]string{
			"street_address": "streetAddress", "locality": "city", "region": "state",
			"postal_code": "zipCode", "country": "countryCode",
		} {
			if v := profileString(u, attr); v != "" {
				addr[claim] = v
			}
		}
		if len(addr) > 0 {
			c["address"] = addr
		}
	}
	if full && slices.Contains(scopes, "phone") {
		set("phone_number", "mobilePhone")
	}
	return c
}

// accessClaims are the access token's claims before the hook, without scp,
// iat and exp.
func (a *authServer) accessClaims(m *mintRequest) inlinehook.Claims {
	c := inlinehook.Claims{
		"ver": float64(1),
		"jti": "AT." + randomToken(32),
		"iss": a.issuer,
		"aud": a.cfg.Audience,
		"cid": m.client.ID,
	}
	if u := m.user; u != nil {
		c["uid"] = u.ID
		c["sub"] = u.Login
		c["auth_time"] = float64(m.authTime.Unix())
	} else {
		c["sub"] = m.client.ID
	}
	for k, v := range a.customClaims(TokenAccess, m) {
		c[k] = v
	}
	return c
}

// customClaims evaluates the server's custom claims for one token ("id" or
// "access").
func (a *authServer) customClaims(token string, m *mintRequest) map[string]any {
	out := map[string]any{}
	for _, cl := range a.cfg.Claims {
		if cl.Token != token && cl.Token != TokenBoth {
			continue
		}
		if len(cl.Scopes) > 0 && !slices.ContainsFunc(cl.Scopes, m.has) {
			continue
		}
		if v, ok := evalClaim(cl.Value, m.user); ok {
			out[cl.Name] = v
		}
	}
	return out
}

// expression is a custom claim value read from the user.
type expression struct {
	kind string // login, id, groups, profile
	attr string // the profile attribute
}

// parseExpression reads a claim value string. It returns nil for a literal
// (any string not starting with "user."), and a problem for a malformed
// expression.
func parseExpression(s string) (*expression, string) {
	rest, ok := strings.CutPrefix(s, "user.")
	if !ok {
		return nil, ""
	}
	switch rest {
	case "login", "id", "groups":
		return &expression{kind: rest}, ""
	}
	if attr, ok := strings.CutPrefix(rest, "profile."); ok && attr != "" {
		return &expression{kind: "profile", attr: attr}, ""
	}
	return nil, "want user.login, user.id, user.groups or user.profile.<attribute>"
}

// evalClaim returns a custom claim's value for u, and whether the claim is
// present: an expression that finds nothing (or needs a user when there is
// none) leaves it out, as Okta leaves out a claim that evaluates to null.
func evalClaim(value any, u *User) (any, bool) {
	s, isString := value.(string)
	if !isString {
		return jsonValue(value), value != nil
	}
	expr, _ := parseExpression(s)
	if expr == nil {
		return s, true
	}
	if u == nil {
		return nil, false
	}
	switch expr.kind {
	case "login":
		return u.Login, true
	case "id":
		return u.ID, true
	case "groups":
		g := make([]any, len(u.Groups))
		for i, name := range u.Groups {
			g[i] = name
		}
		return g, true
	default:
		v, ok := u.Profile[expr.attr]
		if !ok || v == nil {
			return nil, false
		}
		return jsonValue(v), true
	}
}

// jsonValue converts a YAML-decoded value into the types JSON decoding
// produces (float64, []any, map[string]any), which inlinehook works with.
func jsonValue(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonValue(e)
		}
		return out
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return v
}

func profileString(u *User, attr string) string {
	s, _ := u.Profile[attr].(string)
	return s
}

// before is the Result the request describes: the tokens unmodified, with
// claims copied so that signing never touches the request.
func before(req *inlinehook.TokenRequest) *inlinehook.Result {
	r := &inlinehook.Result{}
	if t := req.Data.Identity; t != nil {
		r.Identity = &inlinehook.Minted{Claims: copyClaims(t.Claims), Lifetime: t.Token.Lifetime.Expiration}
	}
	if t := req.Data.Access; t != nil {
		r.Access = &inlinehook.Minted{Claims: copyClaims(t.Claims), Lifetime: t.Token.Lifetime.Expiration}
	}
	return r
}

func copyClaims(c inlinehook.Claims) inlinehook.Claims {
	out := make(inlinehook.Claims, len(c)+4)
	for k, v := range c {
		out[k] = v
	}
	return out
}

// baseClaim reports whether the server sets the claim itself in the token
// that commands of cmdType patch (beyond Okta's reserved claims), so a
// custom claim of that name would clash.
func baseClaim(cmdType, name string) bool {
	switch name {
	case "sub", "aud":
		return true
	}
	if cmdType != inlinehook.IdentityPatch {
		return false
	}
	switch name {
	case "name", "preferred_username", "email", "email_verified", "given_name", "family_name",
		"middle_name", "nickname", "locale", "zoneinfo", "profile", "address", "phone_number":
		return true
	}
	return false
}
