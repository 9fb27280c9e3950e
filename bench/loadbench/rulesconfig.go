package main

import (
	"fmt"
	"strings"
)

// patientRule is the rule that answers the benchmark request: the user's
// patientId into the ID token, as in examples/patient.
const patientRule = `  - name: patient id
    claim: patientId
    value: user.?patientId
`

// quietRules are realistic claim rules that do not fire for the benchmark
// request (jessie.smith@example.com, authorization code, client
// 0oa8x2kq1mZbT4Yd95d7, scopes openid profile email, password + OTP, no
// extra query parameters, a record holding only patientId): each is
// decided by a when on the grant, the client, the scopes, the session, the
// query or a store attribute the patient lacks, or writes an attribute
// the patient lacks. Together they make the server evaluate, and decode
// what they read, without changing its reply.
var quietRules = []string{
	`  - name: suspended
    deny: Your account is suspended. Please contact the clinic.
    when: 'user.?status.orValue("") == "suspended"'
`,
	`  - name: expired
    deny: Your access has expired. Please contact the clinic.
    when: 'has(user.expires) && timestamp(string(user.expires)) < now'
`,
	`  - name: no password grant
    deny: The password grant is not allowed for patient data.
    when: grant_type == "password"
`,
	`  - name: kiosk access token
    token: access
    lifetime: "900"
    when: client_id == "0oaKIOSK8x2kq1mZbT4Y"
    precedence: 2
`,
	`  - name: kiosk id token
    lifetime: "300"
    when: client_id == "0oaKIOSK8x2kq1mZbT4Y"
    precedence: 2
`,
	`  - name: refreshed access token
    token: access
    lifetime: "1800"
    when: grant_type == "refresh_token"
    precedence: 1
`,
	`  - name: no mfa id token
    lifetime: "600"
    when: '!request.data.context.session.mfaActive'
    precedence: 1
`,
	`  - name: partner id
    token: access
    claim: partnerId
    value: '"partner-" + client_id'
    when: grant_type == "client_credentials"
`,
	`  - name: tenant
    token: both
    claim: tenant
    value: query.tenant
    when: 'has(query.tenant) && query.tenant.matches("^[a-z0-9-]{1,32}$")'
`,
	`  - name: region
    token: access
    claim: region
    value: 'query[?"region"]'
`,
	`  - name: app groups
    token: access
    claim: memberOf
    op: append
    value: 'user.groups.filter(g, g.startsWith("app-"))'
    when: has(user.groups)
`,
	`  - name: medical record number
    claim: mrn
    value: user.?mrn
`,
	`  - name: clinic
    token: both
    claim: clinic
    value: user.?clinic
`,
	`  - name: care team
    token: access
    claim: careTeam
    value: user.?careTeam
`,
	`  - name: admin role
    token: access
    claim: role
    value: '"admin"'
    when: '"patients.admin" in scopes'
`,
	`  - name: write access
    token: access
    claim: canWrite
    value: "true"
    when: '"patients.write" in scopes'
`,
	`  - name: hardware key assurance
    claim: assurance
    value: '"high"'
    when: '"HWK" in request.data.context.session.amr'
`,
	`  - name: preferred name
    token: access
    claim: firstName
    op: replace
    value: user.?preferredName
`,
	`  - name: strict privacy
    claim: nickname
    op: remove
    when: 'user.?privacy.orValue("") == "strict"'
`,
}

// manyRulesConfig is the configuration of the tokenhook-20rules target:
// the user lookup, the patient rule first, then quietRules. Its reply to
// the benchmark request is the one patch of the default configuration.
func manyRulesConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by bench/loadbench for the tokenhook-20rules target: the patient\n")
	fmt.Fprintf(&b, "# rule and %d realistic rules that do not fire for the benchmark request.\n", len(quietRules))
	b.WriteString("lookups:\n  - name: user\n    key: login\nrules:\n")
	b.WriteString(patientRule)
	for _, r := range quietRules {
		b.WriteString(r)
	}
	return b.String()
}
