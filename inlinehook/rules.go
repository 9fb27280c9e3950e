package inlinehook

// Rules selects which of Okta's rules [Rules.Validate], [Rules.Prune] and
// [Rules.Apply] enforce. The zero value is Okta's current behaviour: the
// reserved-claim table Okta published last (2023-07), DPoP off. The package
// functions [Validate], [Prune] and [Apply] use the zero value.
type Rules struct {
	// ReservedClaims picks the table of claims a hook may not add, replace
	// or remove. Zero is [ReservedLatest].
	ReservedClaims ReservedSet
	// DPoP reports that the authorization server binds access tokens with
	// DPoP. Okta then also reserves cnf in access tokens (it is always
	// reserved in ID tokens).
	DPoP bool
}

// ReservedSet names a table of reserved claims.
type ReservedSet int

const (
	// ReservedLatest is the table Okta published last (2023-07, unchanged
	// until the reference page was retired in 2024-09).
	ReservedLatest ReservedSet = iota
	// ReservedUnion is the latest table together with every older one
	// (2020-01 to 2023-03), the strictest reading: it adds amr to the access
	// token's reserved claims, which the 2023-07 table made ID-token only. A
	// hook that passes it passes every Okta org, whatever table it follows.
	ReservedUnion
)

// String returns "latest" or "union".
func (s ReservedSet) String() string {
	switch s {
	case ReservedLatest:
		return "latest"
	case ReservedUnion:
		return "union"
	}
	return "ReservedSet(?)"
}

// Reserved claims of the 2023-07 table (contract §4.1). aud and sub are
// reserved in ID tokens only: Okta lets hooks change them in access tokens.
// cnf is reserved in access tokens only under DPoP, see Rules.DPoP.
var (
	reservedIdentity = set(
		"acr", "active", "aid", "amr", "app_id", "app_type", "at_hash", "aud",
		"auth_time", "c_hash", "cid", "client_id", "client_ip", "client_req_id",
		"client_type", "client_user_agent", "cnf", "device_compliance",
		"device_id", "device_known", "device_managed", "device_name",
		"device_trust", "did", "dst", "exp", "group", "groups", "hotk", "iat",
		"idp", "idp_iss", "iss", "jti", "mac_key", "may_act", "nonce", "oid",
		"okta_emailVerified", "okta_lastUpdated", "orig", "permissions",
		"purpose", "pwd_exp_days", "pwd_exp_time", "rid", "role", "scope",
		"scopes", "sid", "sub", "term", "token_type", "user_ip", "ver",
	)
	reservedAccess = set(
		"acr", "as_uri", "auth_time", "authorization_details", "cid", "exp",
		"groups", "iat", "iss", "jti", "rpt", "rsi", "scp", "sid", "token_type",
		"uid", "username", "ver",
	)
	// Claims older tables reserved that the latest one does not.
	legacyIdentity = set()
	legacyAccess   = set("amr")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// IsReserved reports whether a hook may not add, replace or remove the
// top-level claim in the token that commands of type cmdType patch
// ([IdentityPatch] or [AccessPatch]; it returns false for any other type).
// Reservation covers everything inside the claim too: if groups is reserved,
// so is /claims/groups/0.
func (r Rules) IsReserved(cmdType, claim string) bool {
	switch cmdType {
	case IdentityPatch:
		return reservedIdentity[claim] ||
			(r.ReservedClaims == ReservedUnion && legacyIdentity[claim])
	case AccessPatch:
		return reservedAccess[claim] ||
			(r.DPoP && claim == "cnf") ||
			(r.ReservedClaims == ReservedUnion && legacyAccess[claim])
	}
	return false
}
