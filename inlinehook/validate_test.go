package inlinehook_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// richRequest is the authorization_code fixture with nested claims to patch:
// an object and an array in the ID token, a URI-named claim, and an array in
// the access token.
func richRequest(tb testing.TB) *inlinehook.TokenRequest {
	tb.Helper()
	req := mustRequest(tb, "authorization_code")
	id := req.Data.Identity.Claims
	id["employee_profile"] = map[string]any{"employee_id": "1234", "name": "Anna", "email": "anna.v@company.com"}
	id["preferred_airports"] = []any{"sjc", "sfo", "oak"}
	id["https://example.com/plan"] = "gold"
	id["a/b"] = "slash"
	id["m~n"] = "tilde"
	id["matrix"] = []any{[]any{1.0, 2.0}, map[string]any{"k": []any{}}}
	req.Data.Access.Claims["clinics"] = []any{"north"}
	return req
}

func withoutIdentity(r *inlinehook.TokenRequest) { r.Data.Identity = nil }
func withoutAccess(r *inlinehook.TokenRequest)   { r.Data.Access = nil }

// ops wraps operations (JSON) in one command of type typ.
func ops(typ string, operations ...string) string {
	return `{"commands":[{"type":"` + typ + `","value":[` + strings.Join(operations, ",") + `]}]}`
}

const (
	idp = inlinehook.IdentityPatch
	atp = inlinehook.AccessPatch
)

// validateCase is one case of TestValidate; the fuzz tests seed from them.
type validateCase struct {
	name  string
	rules inlinehook.Rules
	req   func(*inlinehook.TokenRequest) // changes the rich request
	resp  string
	want  []string
}

// validateCases pin every rule of contract §3–§4. Each case says which rule
// it pins; want lists the messages in order (nil: Okta accepts the response).
var validateCases = []validateCase{
	// §3.2 commands[].type: exactly two values.
	{name: "valid identity add", resp: ops(idp, `{"op":"add","path":"/claims/extPatientId","value":"1235"}`)},
	{name: "unknown command type", resp: `{"commands":[{"type":"com.okta.user.profile.update","value":[]}]}`,
		want: []string{"Invalid command type(type=com.okta.user.profile.update)"}},
	{name: "2019 early-access command name", resp: ops("com.okta.tokens.id_token.patch", `{"op":"add","path":"/claims/a","value":1}`),
		want: []string{"Invalid command type(type=com.okta.tokens.id_token.patch)"}},
	{name: "missing command type", resp: `{"commands":[{"value":[]}]}`, want: []string{"Invalid command type(type=)"}},
	{name: "empty command is fine", resp: `{"commands":[{"type":"com.okta.access.patch","value":[]}]}`},
	{name: "null value list is fine", resp: `{"commands":[{"type":"com.okta.access.patch","value":null}]}`},
	{name: "several commands for one token", resp: `{"commands":[
			{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/a","value":1}]},
			{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/b","value":2}]}]}`},

	// §3.2: commands only for tokens being minted.
	{name: "identity patch, no ID token", req: withoutIdentity,
		resp: ops(idp, `{"op":"add","path":"/claims/a","value":1}`), want: []string{"ID Token not present"}},
	{name: "access patch, no access token", req: withoutAccess,
		resp: ops(atp, `{"op":"add","path":"/claims/a","value":1}`), want: []string{"Access Token not present"}},
	{name: "empty command for a token not minted", req: withoutAccess,
		resp: ops(atp), want: []string{"Access Token not present"}},
	{name: "ops of a missing token are not judged", req: withoutIdentity,
		resp: ops(idp, `{"op":"move","path":"/x"}`), want: []string{"ID Token not present"}},

	// §3.2 op: add, replace, remove only.
	{name: "move", resp: ops(atp, `{"op":"move","from":"/claims/sub","path":"/claims/x"}`),
		want: []string{"Invalid operation(op=move, path=/claims/x)"}},
	{name: "copy", resp: ops(atp, `{"op":"copy","from":"/claims/sub","path":"/claims/x"}`),
		want: []string{"Invalid operation(op=copy, path=/claims/x)"}},
	{name: "test", resp: ops(atp, `{"op":"test","path":"/claims/sub","value":"x"}`),
		want: []string{"Invalid operation(op=test, path=/claims/sub)"}},
	{name: "op is case-sensitive", resp: ops(atp, `{"op":"Add","path":"/claims/x","value":1}`),
		want: []string{"Invalid operation(op=Add, path=/claims/x)"}},
	{name: "missing op", resp: ops(atp, `{"path":"/claims/x","value":1}`),
		want: []string{"Invalid operation(op=, path=/claims/x)"}},

	// §3.2 path: /claims/<name>[/...] or exactly /token/lifetime/expiration.
	{name: "path /claims", resp: ops(atp, `{"op":"add","path":"/claims","value":{}}`),
		want: []string{"Invalid path(op=add, path=/claims)"}},
	{name: "path without leading slash", resp: ops(atp, `{"op":"add","path":"claims/x","value":1}`),
		want: []string{"Invalid path(op=add, path=claims/x)"}},
	{name: "empty path", resp: ops(atp, `{"op":"add","path":"","value":1}`),
		want: []string{"Invalid path(op=add, path=)"}},
	{name: "path outside claims", resp: ops(atp, `{"op":"add","path":"/scopes/x","value":1}`),
		want: []string{"Invalid path(op=add, path=/scopes/x)"}},
	{name: "lifetime parent", resp: ops(atp, `{"op":"replace","path":"/token/lifetime","value":{"expiration":600}}`),
		want: []string{"Invalid path(op=replace, path=/token/lifetime)"}},
	{name: "below the lifetime", resp: ops(atp, `{"op":"replace","path":"/token/lifetime/expiration/x","value":600}`),
		want: []string{"Invalid path(op=replace, path=/token/lifetime/expiration/x)"}},
	{name: "empty claim name", resp: ops(atp, `{"op":"add","path":"/claims/","value":1}`),
		want: []string{"Claim name is empty(op=add, path=/claims/)"}},
	{name: "empty claim name, nested", resp: ops(atp, `{"op":"add","path":"/claims//x","value":1}`),
		want: []string{"Claim name is empty(op=add, path=/claims//x)"}},
	{name: "bad escape ~2", resp: ops(atp, `{"op":"add","path":"/claims/a~2b","value":1}`),
		want: []string{"Invalid escape in path(op=add, path=/claims/a~2b)"}},
	{name: "trailing ~", resp: ops(atp, `{"op":"add","path":"/claims/a~","value":1}`),
		want: []string{"Invalid escape in path(op=add, path=/claims/a~)"}},
	{name: "bad escape inside", resp: ops(idp, `{"op":"add","path":"/claims/employee_profile/~x","value":1}`),
		want: []string{"Invalid escape in path(op=add, path=/claims/employee_profile/~x)"}},
	// §3.2: URI claim names are escaped per RFC 6901 (OKTA-602794).
	{name: "URI claim, escaped", resp: ops(idp, `{"op":"replace","path":"/claims/https:~1~1example.com~1plan","value":"platinum"}`)},
	{name: "escaped slash and tilde", resp: ops(idp,
		`{"op":"remove","path":"/claims/a~1b"}`, `{"op":"remove","path":"/claims/m~0n"}`)},
	{name: "URI claim, unescaped, is a nested path", resp: ops(idp, `{"op":"replace","path":"/claims/https://example.com/plan","value":"x"}`),
		want: []string{"Path not found(op=replace, path=/claims/https://example.com/plan)"}},

	// §4.1 reserved claims, ID token.
	{name: "ID iss", resp: ops(idp, `{"op":"replace","path":"/claims/iss","value":"x"}`),
		want: []string{"Claim is reserved(op=replace, path=/claims/iss)"}},
	{name: "ID ver remove", resp: ops(idp, `{"op":"remove","path":"/claims/ver"}`),
		want: []string{"Claim is reserved(op=remove, path=/claims/ver)"}},
	{name: "ID sub is not writable", resp: ops(idp, `{"op":"replace","path":"/claims/sub","value":"x"}`),
		want: []string{"Claim is reserved(op=replace, path=/claims/sub)"}},
	{name: "ID aud is not writable", resp: ops(idp, `{"op":"replace","path":"/claims/aud","value":"x"}`),
		want: []string{"Claim is reserved(op=replace, path=/claims/aud)"}},
	{name: "ID cnf always", resp: ops(idp, `{"op":"add","path":"/claims/cnf","value":{"jkt":"x"}}`),
		want: []string{"Claim is reserved(op=add, path=/claims/cnf)"}},
	{name: "ID nonce", resp: ops(idp, `{"op":"replace","path":"/claims/nonce","value":"x"}`),
		want: []string{"Claim is reserved(op=replace, path=/claims/nonce)"}},
	{name: "ID groups add", resp: ops(idp, `{"op":"add","path":"/claims/groups","value":["admins"]}`),
		want: []string{"Claim is reserved(op=add, path=/claims/groups)"}},
	{name: "ID exp and iat", resp: ops(idp, `{"op":"add","path":"/claims/exp","value":1}`, `{"op":"add","path":"/claims/iat","value":1}`),
		want: []string{"Claim is reserved(op=add, path=/claims/exp)", "Claim is reserved(op=add, path=/claims/iat)"}},
	{name: "reserved at any depth", resp: ops(idp, `{"op":"remove","path":"/claims/amr/0"}`),
		want: []string{"Claim is reserved(op=remove, path=/claims/amr/0)"}},
	{name: "reserved name escaped", resp: ops(idp, `{"op":"replace","path":"/claims/i~1ss","value":"x"}`),
		want: []string{"Path not found(op=replace, path=/claims/i~1ss)"}}, // "i/ss" is not iss
	{name: "ID standard profile claims are writable", resp: ops(idp,
		`{"op":"replace","path":"/claims/name","value":"J"}`, `{"op":"remove","path":"/claims/email"}`,
		`{"op":"add","path":"/claims/locale","value":"en-US"}`, `{"op":"add","path":"/claims/birthdate","value":"1990-01-01"}`)},
	// §4.1 reserved claims, access token.
	{name: "AT scp", resp: ops(atp, `{"op":"add","path":"/claims/scp","value":["x"]}`),
		want: []string{"Claim is reserved(op=add, path=/claims/scp)"}},
	{name: "AT uid cid jti", resp: ops(atp,
		`{"op":"replace","path":"/claims/uid","value":"x"}`, `{"op":"replace","path":"/claims/cid","value":"x"}`, `{"op":"remove","path":"/claims/jti"}`),
		want: []string{"Claim is reserved(op=replace, path=/claims/uid)", "Claim is reserved(op=replace, path=/claims/cid)", "Claim is reserved(op=remove, path=/claims/jti)"}},
	{name: "AT auth_time (OKTA-503099)", resp: ops(atp, `{"op":"replace","path":"/claims/auth_time","value":1}`),
		want: []string{"Claim is reserved(op=replace, path=/claims/auth_time)"}},
	{name: "AT sub and aud are writable", resp: ops(atp,
		`{"op":"replace","path":"/claims/sub","value":"patient-1235"}`, `{"op":"replace","path":"/claims/aud","value":"https://api.example"}`)},
	{name: "AT cnf without DPoP", resp: ops(atp, `{"op":"add","path":"/claims/cnf","value":{"jkt":"x"}}`)},
	{name: "AT cnf under DPoP", rules: inlinehook.Rules{DPoP: true},
		resp: ops(atp, `{"op":"add","path":"/claims/cnf","value":{"jkt":"x"}}`),
		want: []string{"Claim is reserved(op=add, path=/claims/cnf)"}},
	{name: "AT amr, latest table", resp: ops(atp, `{"op":"add","path":"/claims/amr","value":["pwd"]}`)},
	{name: "AT amr, union table", rules: inlinehook.Rules{ReservedClaims: inlinehook.ReservedUnion},
		resp: ops(atp, `{"op":"add","path":"/claims/amr","value":["pwd"]}`),
		want: []string{"Claim is reserved(op=add, path=/claims/amr)"}},
	{name: "AT ID-only claims are writable", resp: ops(atp, `{"op":"add","path":"/claims/nonce","value":"x"}`, `{"op":"add","path":"/claims/idp","value":"x"}`)},
	{name: "ID AT-only claims are writable", resp: ops(idp, `{"op":"add","path":"/claims/scp","value":"x"}`, `{"op":"add","path":"/claims/uid","value":"x"}`)},

	// §3.2 value: required for add/replace; absent or null for remove.
	{name: "add without value (System Log sample)", resp: ops(idp, `{"op":"add","path":"/claims/com.company.locationId"}`),
		want: []string{"Value is required for add/replace operation(op=add, path=/claims/com.company.locationId)"}},
	{name: "replace with null", resp: ops(idp, `{"op":"replace","path":"/claims/name","value":null}`),
		want: []string{"Value is required for add/replace operation(op=replace, path=/claims/name)"}},
	{name: "falsy values are values", resp: ops(idp,
		`{"op":"add","path":"/claims/a","value":false}`, `{"op":"add","path":"/claims/b","value":0}`,
		`{"op":"add","path":"/claims/c","value":""}`, `{"op":"add","path":"/claims/d","value":[]}`, `{"op":"add","path":"/claims/e","value":{}}`)},
	{name: "remove with null", resp: ops(idp, `{"op":"remove","path":"/claims/name","value":null}`)},
	{name: "remove with a value", resp: ops(idp,
		`{"op":"remove","path":"/claims/name","value":"x"}`, `{"op":"remove","path":"/claims/email","value":false}`, `{"op":"remove","path":"/claims/locale","value":{}}`),
		want: []string{"Value must be null for remove operation(op=remove, path=/claims/name)",
			"Value must be null for remove operation(op=remove, path=/claims/email)",
			"Value must be null for remove operation(op=remove, path=/claims/locale)"}},
	{name: "every independent fault of one op", resp: ops(idp, `{"op":"replace","path":"/claims/iss"}`),
		want: []string{"Claim is reserved(op=replace, path=/claims/iss)", "Value is required for add/replace operation(op=replace, path=/claims/iss)"}},

	// §4.3 lifetime: replace only, integer, 300..86400.
	{name: "lifetime bounds", resp: ops(atp,
		`{"op":"replace","path":"/token/lifetime/expiration","value":300}`,
		`{"op":"replace","path":"/token/lifetime/expiration","value":86400}`,
		`{"op":"replace","path":"/token/lifetime/expiration","value":3.6e3}`)},
	{name: "lifetime add", resp: ops(atp, `{"op":"add","path":"/token/lifetime/expiration","value":600}`),
		want: []string{"Lifetime can only be replaced(op=add, path=/token/lifetime/expiration)"}},
	{name: "lifetime remove", resp: ops(atp, `{"op":"remove","path":"/token/lifetime/expiration"}`),
		want: []string{"Lifetime can only be replaced(op=remove, path=/token/lifetime/expiration)"}},
	{name: "lifetime too short", resp: ops(idp, `{"op":"replace","path":"/token/lifetime/expiration","value":299}`),
		want: []string{"Lifetime must be between 300 and 86400 seconds(op=replace, path=/token/lifetime/expiration)"}},
	{name: "lifetime too long", resp: ops(idp, `{"op":"replace","path":"/token/lifetime/expiration","value":86401}`),
		want: []string{"Lifetime must be between 300 and 86400 seconds(op=replace, path=/token/lifetime/expiration)"}},
	{name: "lifetime negative and huge", resp: ops(idp,
		`{"op":"replace","path":"/token/lifetime/expiration","value":-600}`,
		`{"op":"replace","path":"/token/lifetime/expiration","value":1e20}`),
		want: []string{"Lifetime must be between 300 and 86400 seconds(op=replace, path=/token/lifetime/expiration)",
			"Lifetime must be between 300 and 86400 seconds(op=replace, path=/token/lifetime/expiration)"}},
	{name: "lifetime as a string", resp: ops(idp, `{"op":"replace","path":"/token/lifetime/expiration","value":"3600"}`),
		want: []string{"Lifetime must be an integer(op=replace, path=/token/lifetime/expiration)"}},
	{name: "lifetime fractional", resp: ops(idp, `{"op":"replace","path":"/token/lifetime/expiration","value":3600.5}`),
		want: []string{"Lifetime must be an integer(op=replace, path=/token/lifetime/expiration)"}},
	{name: "lifetime without value", resp: ops(idp, `{"op":"replace","path":"/token/lifetime/expiration"}`),
		want: []string{"Value is required for add/replace operation(op=replace, path=/token/lifetime/expiration)"}},

	// §3.3 top-level claims: add creates or overwrites; replace/remove need the claim.
	{name: "add overwrites an existing claim", resp: ops(idp, `{"op":"add","path":"/claims/name","value":"x"}`)},
	{name: "replace a missing claim (System Log sample)", resp: ops(idp, `{"op":"replace","path":"/claims/ProfileTimeZone","value":"UTC"}`),
		want: []string{"Path not found(op=replace, path=/claims/ProfileTimeZone)"}},
	{name: "remove a missing claim", resp: ops(idp, `{"op":"remove","path":"/claims/birthdate"}`),
		want: []string{"Path not found(op=remove, path=/claims/birthdate)"}},
	{name: "claims of the other token do not count", resp: ops(atp, `{"op":"replace","path":"/claims/preferred_airports/0","value":"x"}`),
		want: []string{"Path not found(op=replace, path=/claims/preferred_airports/0)"}},

	// §3.3 objects: parent must exist; members must exist for replace/remove.
	{name: "object add member", resp: ops(idp, `{"op":"add","path":"/claims/employee_profile/department_id","value":"4947"}`)},
	{name: "object add overwrites member", resp: ops(idp, `{"op":"add","path":"/claims/employee_profile/name","value":"Anne"}`)},
	{name: "object replace and remove members", resp: ops(idp,
		`{"op":"replace","path":"/claims/employee_profile/email","value":"anna@company.com"}`,
		`{"op":"remove","path":"/claims/employee_profile/name"}`)},
	{name: "object missing", resp: ops(idp, `{"op":"add","path":"/claims/employee/department_id","value":"4947"}`),
		want: []string{"Path not found(op=add, path=/claims/employee/department_id)"}},
	{name: "object member missing", resp: ops(idp,
		`{"op":"replace","path":"/claims/employee_profile/phone","value":"x"}`, `{"op":"remove","path":"/claims/employee_profile/phone"}`),
		want: []string{"Path not found(op=replace, path=/claims/employee_profile/phone)", "Path not found(op=remove, path=/claims/employee_profile/phone)"}},
	{name: "intermediate member missing", resp: ops(idp, `{"op":"add","path":"/claims/employee_profile/address/city","value":"x"}`),
		want: []string{"Path not found(op=add, path=/claims/employee_profile/address/city)"}},
	{name: "inside a string", resp: ops(idp, `{"op":"add","path":"/claims/email/domain","value":"x"}`),
		want: []string{"Path not found(op=add, path=/claims/email/domain)"}},
	{name: "inside a number", resp: ops(idp, `{"op":"add","path":"/claims/matrix/0/0/x","value":"x"}`),
		want: []string{"Path not found(op=add, path=/claims/matrix/0/0/x)"}},
	{name: "empty member name", resp: ops(idp, `{"op":"add","path":"/claims/employee_profile/","value":"x"}`)},

	// §3.3 arrays: valid index; add may use len and "-"; replace/remove need an element.
	{name: "array insert", resp: ops(idp, `{"op":"add","path":"/claims/preferred_airports/1","value":"lax"}`)},
	{name: "array add at len appends (doc sample)", resp: ops(idp, `{"op":"add","path":"/claims/preferred_airports/3","value":"lax"}`)},
	{name: "array add -", resp: ops(idp, `{"op":"add","path":"/claims/preferred_airports/-","value":"lax"}`)},
	{name: "array add past len", resp: ops(idp, `{"op":"add","path":"/claims/preferred_airports/4","value":"lax"}`),
		want: []string{"Array index out of bounds(op=add, path=/claims/preferred_airports/4)"}},
	{name: "array replace and remove", resp: ops(idp,
		`{"op":"replace","path":"/claims/preferred_airports/2","value":"lax"}`, `{"op":"remove","path":"/claims/preferred_airports/0"}`)},
	{name: "array replace at len", resp: ops(idp, `{"op":"replace","path":"/claims/preferred_airports/3","value":"lax"}`),
		want: []string{"Array index out of bounds(op=replace, path=/claims/preferred_airports/3)"}},
	{name: "array remove at len", resp: ops(idp, `{"op":"remove","path":"/claims/preferred_airports/3"}`),
		want: []string{"Array index out of bounds(op=remove, path=/claims/preferred_airports/3)"}},
	{name: "array replace -", resp: ops(idp, `{"op":"replace","path":"/claims/preferred_airports/-","value":"lax"}`),
		want: []string{"Invalid array index(op=replace, path=/claims/preferred_airports/-)"}},
	{name: "array remove -", resp: ops(idp, `{"op":"remove","path":"/claims/preferred_airports/-"}`),
		want: []string{"Invalid array index(op=remove, path=/claims/preferred_airports/-)"}},
	{name: "array index leading zero", resp: ops(idp, `{"op":"add","path":"/claims/preferred_airports/01","value":"x"}`),
		want: []string{"Invalid array index(op=add, path=/claims/preferred_airports/01)"}},
	{name: "array index signed", resp: ops(idp, `{"op":"add","path":"/claims/preferred_airports/-1","value":"x"}`, `{"op":"add","path":"/claims/preferred_airports/+1","value":"x"}`),
		want: []string{"Invalid array index(op=add, path=/claims/preferred_airports/-1)", "Invalid array index(op=add, path=/claims/preferred_airports/+1)"}},
	{name: "array index not decimal", resp: ops(idp, `{"op":"add","path":"/claims/preferred_airports/1.0","value":"x"}`, `{"op":"add","path":"/claims/preferred_airports/x","value":"x"}`, `{"op":"add","path":"/claims/preferred_airports/","value":"x"}`),
		want: []string{"Invalid array index(op=add, path=/claims/preferred_airports/1.0)", "Invalid array index(op=add, path=/claims/preferred_airports/x)", "Invalid array index(op=add, path=/claims/preferred_airports/)"}},
	{name: "array index huge", resp: ops(idp, `{"op":"replace","path":"/claims/preferred_airports/99999999999999999999999","value":"x"}`),
		want: []string{"Array index out of bounds(op=replace, path=/claims/preferred_airports/99999999999999999999999)"}},
	{name: "array 0 is valid", resp: ops(idp, `{"op":"replace","path":"/claims/preferred_airports/0","value":"x"}`)},
	{name: "array in array and object in array", resp: ops(idp,
		`{"op":"replace","path":"/claims/matrix/0/1","value":3}`, `{"op":"add","path":"/claims/matrix/1/k/-","value":"v"}`)},
	{name: "array intermediate -", resp: ops(idp, `{"op":"add","path":"/claims/matrix/-/0","value":1}`),
		want: []string{"Invalid array index(op=add, path=/claims/matrix/-/0)"}},
	{name: "array intermediate out of bounds", resp: ops(idp, `{"op":"add","path":"/claims/matrix/2/0","value":1}`),
		want: []string{"Array index out of bounds(op=add, path=/claims/matrix/2/0)"}},
	{name: "array missing", resp: ops(idp, `{"op":"add","path":"/claims/airports/-","value":"x"}`),
		want: []string{"Path not found(op=add, path=/claims/airports/-)"}},

	// Operations are judged in order against the claims as earlier ones left them.
	{name: "add then patch inside it", resp: ops(idp,
		`{"op":"add","path":"/claims/patient","value":{"ids":[]}}`,
		`{"op":"add","path":"/claims/patient/ids/-","value":"1235"}`,
		`{"op":"replace","path":"/claims/patient/ids/0","value":"1236"}`)},
	{name: "remove then replace", resp: ops(idp,
		`{"op":"remove","path":"/claims/name"}`, `{"op":"replace","path":"/claims/name","value":"x"}`),
		want: []string{"Path not found(op=replace, path=/claims/name)"}},
	{name: "array shrinks", resp: ops(idp,
		`{"op":"remove","path":"/claims/preferred_airports/2"}`, `{"op":"replace","path":"/claims/preferred_airports/2","value":"x"}`),
		want: []string{"Array index out of bounds(op=replace, path=/claims/preferred_airports/2)"}},
	{name: "an invalid add creates nothing", resp: ops(idp,
		`{"op":"add","path":"/claims/groups","value":{"x":1}}`, `{"op":"replace","path":"/claims/groups/x","value":2}`),
		want: []string{"Claim is reserved(op=add, path=/claims/groups)", "Claim is reserved(op=replace, path=/claims/groups/x)"}},
	{name: "an invalid add creates nothing (custom claim)", resp: ops(idp,
		`{"op":"add","path":"/claims/p"}`, `{"op":"replace","path":"/claims/p","value":2}`),
		want: []string{"Value is required for add/replace operation(op=add, path=/claims/p)", "Path not found(op=replace, path=/claims/p)"}},
	{name: "order carries across commands", resp: `{"commands":[
			{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/p","value":{}}]},
			{"type":"com.okta.access.patch","value":[{"op":"add","path":"/claims/p/x","value":1}]},
			{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/p/x","value":1}]}]}`,
		want: []string{"Path not found(op=add, path=/claims/p/x)"}},
	{name: "a replaced value is patched, not the old one", resp: ops(idp,
		`{"op":"replace","path":"/claims/employee_profile","value":{"id":"9"}}`,
		`{"op":"replace","path":"/claims/employee_profile/name","value":"x"}`),
		want: []string{"Path not found(op=replace, path=/claims/employee_profile/name)"}},

	// §3.4: an error object denies the token; the commands never run.
	{name: "error wins over bad commands", resp: `{"error":{"errorSummary":"no"},"commands":[{"type":"x","value":[]}]}`},
	{name: "nothing to do", resp: `{}`},
}

func TestValidate(t *testing.T) {
	for _, tt := range validateCases {
		t.Run(tt.name, func(t *testing.T) {
			req := richRequest(t)
			if tt.req != nil {
				tt.req(req)
			}
			before := mustJSON(t, req)
			resp := mustResponse(t, tt.resp)
			var got []string
			for _, v := range tt.rules.Validate(req, resp) {
				got = append(got, v.Message)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("violations:\n got %q\nwant %q", got, tt.want)
			}
			if after := mustJSON(t, req); string(after) != string(before) {
				t.Errorf("Validate changed the request")
			}
		})
	}
}

// TestViolationFields pins the indexes and echoed fields of violations.
func TestViolationFields(t *testing.T) {
	req := richRequest(t)
	withoutAccess(req)
	resp := mustResponse(t, `{"commands":[
		{"type":"com.okta.identity.patch","value":[
			{"op":"add","path":"/claims/ok","value":1},
			{"op":"replace","path":"/claims/missing","value":1}]},
		{"type":"bogus","value":[]},
		{"type":"com.okta.access.patch","value":[{"op":"add","path":"/claims/a","value":1}]}]}`)
	got := inlinehook.Validate(req, resp)
	want := []inlinehook.Violation{
		{Command: 0, Op: 1, Type: idp, OpName: "replace", Path: "/claims/missing",
			Reason: inlinehook.ReasonPathNotFound, Message: "Path not found(op=replace, path=/claims/missing)"},
		{Command: 1, Op: -1, Type: "bogus", Reason: inlinehook.ReasonInvalidCommandType, Message: "Invalid command type(type=bogus)"},
		{Command: 2, Op: -1, Type: atp, Reason: inlinehook.ReasonAccessTokenNotPresent, Message: "Access Token not present"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	var err error = got[0]
	if err.Error() != got[0].Message {
		t.Errorf("Error() = %q", err.Error())
	}
}

// TestValidateGoValues: responses built in Go are judged as the JSON they
// encode to.
func TestValidateGoValues(t *testing.T) {
	req := richRequest(t)
	type patient struct {
		ID   string   `json:"id"`
		Tags []string `json:"tags"`
	}
	var nilPtr *patient
	tests := []struct {
		name string
		op   inlinehook.Operation
		want string
	}{
		{"int lifetime", inlinehook.SetLifetime(900), ""},
		{"int64 lifetime", inlinehook.Replace(inlinehook.LifetimePath, int64(900)), ""},
		{"uint16 lifetime", inlinehook.Replace(inlinehook.LifetimePath, uint16(900)), ""},
		{"float32 fractional lifetime", inlinehook.Replace(inlinehook.LifetimePath, float32(900.5)), inlinehook.ReasonLifetimeNotInteger},
		{"struct value", inlinehook.AddClaim("patient", patient{ID: "1", Tags: []string{"a"}}), ""},
		{"nil pointer is null", inlinehook.AddClaim("patient", nilPtr), inlinehook.ReasonValueRequired},
		{"nil pointer is null for remove", inlinehook.Operation{Op: "remove", Path: "/claims/name", Value: nilPtr}, ""},
		{"NaN", inlinehook.AddClaim("x", mathNaN()), inlinehook.ReasonInvalidValue},
		{"channel", inlinehook.AddClaim("x", make(chan int)), inlinehook.ReasonInvalidValue},
		{"channel in remove", inlinehook.Operation{Op: "remove", Path: "/claims/name", Value: make(chan int)}, inlinehook.ReasonInvalidValue},
		{"[]string in the request", inlinehook.Add(inlinehook.ClaimPath("strs", "-"), "c"), ""},
		{"map[string]string in the request", inlinehook.Replace(inlinehook.ClaimPath("strmap", "k"), "w"), ""},
		{"struct in the request, missing member", inlinehook.Replace(inlinehook.ClaimPath("st", "nope"), "w"), inlinehook.ReasonPathNotFound},
		{"struct in the request", inlinehook.Replace(inlinehook.ClaimPath("st", "id"), "w"), ""},
		{"raw JSON value", inlinehook.Replace(inlinehook.LifetimePath, rawJSON("900")), ""},
	}
	req.Data.Identity.Claims["strs"] = []string{"a", "b"}
	req.Data.Identity.Claims["strmap"] = map[string]string{"k": "v"}
	req.Data.Identity.Claims["st"] = patient{ID: "7"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity(tt.op)}}
			vs := inlinehook.Validate(req, resp)
			var got string
			if len(vs) > 0 {
				got = vs[0].Reason
			}
			if got != tt.want || len(vs) > 1 {
				t.Errorf("Validate = %v, want reason %q", vs, tt.want)
			}
			if tt.want == "" {
				if _, err := inlinehook.Apply(req, resp); err != nil {
					t.Errorf("Apply: %v", err)
				}
			}
		})
	}
}

func TestIsReserved(t *testing.T) {
	tests := []struct {
		rules      inlinehook.Rules
		typ, claim string
		want       bool
	}{
		{inlinehook.Rules{}, idp, "sub", true},
		{inlinehook.Rules{}, atp, "sub", false},
		{inlinehook.Rules{}, idp, "aud", true},
		{inlinehook.Rules{}, atp, "aud", false},
		{inlinehook.Rules{}, idp, "cnf", true},
		{inlinehook.Rules{}, atp, "cnf", false},
		{inlinehook.Rules{DPoP: true}, atp, "cnf", true},
		{inlinehook.Rules{}, atp, "amr", false},
		{inlinehook.Rules{ReservedClaims: inlinehook.ReservedUnion}, atp, "amr", true},
		{inlinehook.Rules{}, idp, "amr", true},
		{inlinehook.Rules{}, atp, "username", true},
		{inlinehook.Rules{}, idp, "username", false},
		{inlinehook.Rules{}, idp, "extPatientId", false},
		{inlinehook.Rules{}, "com.okta.refresh.patch", "iss", false},
	}
	for _, tt := range tests {
		if got := tt.rules.IsReserved(tt.typ, tt.claim); got != tt.want {
			t.Errorf("%+v.IsReserved(%s, %s) = %v, want %v", tt.rules, tt.typ, tt.claim, got, tt.want)
		}
	}
	if s := fmt.Sprint(inlinehook.ReservedLatest, inlinehook.ReservedUnion, inlinehook.ReservedSet(7)); s != "latest union ReservedSet(?)" {
		t.Errorf("String: %s", s)
	}
}

// TestValidationErrorUnwrap: errors.As finds the violations in Apply's error.
func TestValidationErrorUnwrap(t *testing.T) {
	req := richRequest(t)
	_, err := inlinehook.Apply(req, mustResponse(t, ops(idp, `{"op":"replace","path":"/claims/iss","value":"x"}`, `{"op":"remove","path":"/claims/zz"}`)))
	var ve *inlinehook.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 2 {
		t.Fatalf("err = %v", err)
	}
	var v inlinehook.Violation
	if !errors.As(err, &v) || v.Reason != inlinehook.ReasonReservedClaim {
		t.Errorf("errors.As Violation = %+v", v)
	}
	if want := "inlinehook: invalid response: Claim is reserved(op=replace, path=/claims/iss) (and 1 more)"; err.Error() != want {
		t.Errorf("Error() = %q\nwant %q", err.Error(), want)
	}
}
