package oktaemu

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// refreshGrant is what a refresh token stands for: the user, client and
// scopes of the grant that first issued it.
type refreshGrant struct {
	jti      string
	clientID string
	userID   string
	scopes   []string
	authTime time.Time
	issued   time.Time
	expires  time.Time
	// original is the protocol request of the grant that issued the token,
	// sent to the hook as OriginalGrant.authorization on every refresh.
	original inlinehook.ProtocolRequest
}

func newRefreshJTI() string { return randomID("oar", 20) }

// issuesRefresh reports whether a grant issues a refresh token: the
// client asked for offline_access and may use the refresh_token grant.
func issuesRefresh(c *Client, scopes []string) bool {
	return slices.Contains(scopes, "offline_access") && allows(c, GrantRefreshToken)
}

// authorizeMint is the mint of an authorize request that completes: the
// hook runs here for both the code and the implicit flow (contract §1.1).
func (a *authServer) authorizeMint(ar *authorizeRequest, u *User, s *session, method, ip string) *mintRequest {
	m := &mintRequest{
		grantType: ar.grant(),
		client:    ar.client,
		user:      u,
		session:   s,
		scopes:    ar.scopes,
		nonce:     ar.nonce,
		authTime:  s.created,
		trigger:   trigger{endpoint: "authorize", method: method, rawQuery: ar.rawQuery, ip: ip},
		protocol:  ar.protocolRequest(),
	}
	if ar.implicit() {
		m.idToken, m.accessToken = ar.types["id_token"], ar.types["token"]
		return m
	}
	m.idToken = slices.Contains(ar.scopes, "openid")
	m.accessToken = true
	if issuesRefresh(ar.client, ar.scopes) {
		m.refreshJTI = newRefreshJTI()
	}
	return m
}

// tokenMint is the common part of a mint triggered by POST /v1/token.
func tokenMint(grant string, c *Client, u *User, scopes []string, rawQuery, ip string) *mintRequest {
	return &mintRequest{
		grantType:   grant,
		client:      c,
		user:        u,
		scopes:      scopes,
		idToken:     u != nil && slices.Contains(scopes, "openid"),
		accessToken: true,
		trigger:     trigger{endpoint: "token", method: http.MethodPost, rawQuery: rawQuery, ip: ip},
		protocol:    inlinehook.ProtocolRequest{ClientID: c.ID, GrantType: grant, Scope: joinScopes(scopes)},
	}
}

// passwordMint is the resource owner password grant: a user, no session.
func passwordMint(c *Client, u *User, scopes []string, now time.Time, rawQuery, ip string) *mintRequest {
	m := tokenMint(GrantPassword, c, u, scopes, rawQuery, ip)
	m.authTime = now
	if issuesRefresh(c, scopes) {
		m.refreshJTI = newRefreshJTI()
	}
	return m
}

// clientCredentialsMint is the client credentials grant: no user, no
// session, no ID token; the access token's sub is the client id.
func clientCredentialsMint(c *Client, scopes []string, rawQuery, ip string) *mintRequest {
	return tokenMint(GrantClientCredentials, c, nil, scopes, rawQuery, ip)
}

// refreshMint is the refresh_token grant: the refresh token's user, no
// session, OriginalGrant and the same refresh token id.
func refreshMint(g *refreshGrant, c *Client, u *User, scopes []string, rawQuery, ip string) *mintRequest {
	m := tokenMint(GrantRefreshToken, c, u, scopes, rawQuery, ip)
	m.authTime = g.authTime
	m.refreshJTI = g.jti
	original := g.original
	m.original = &inlinehook.OriginalGrant{
		Authorization: &original,
		RefreshToken:  &inlinehook.RefreshToken{JTI: g.jti},
	}
	return m
}

func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }
