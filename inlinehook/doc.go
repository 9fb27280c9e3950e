// Package inlinehook is Okta's token inline hook wire format, typed, together
// with Okta's own rules for what it accepts.
//
// When an Okta custom authorization server mints tokens it can pause, POST the
// tokens-to-be to an external service as a [TokenRequest], and apply the
// [Response] the service returns: commands that add, replace or remove claims
// or change a token's lifetime, or an error that denies the token.
//
// The package has three parts:
//
//   - the request and response types, tolerant of fields Okta adds later
//     (unknown members are kept, so a request survives decode→encode);
//   - builders that read well at the call site ([PatchIdentity], [AddClaim],
//     [ClaimPath], [Deny], ...);
//   - Okta's rules: [Validate] lists every violation Okta would reject a
//     response for, [Prune] drops the offending operations, and [Apply] applies
//     a valid response to the claims with Okta's all-or-nothing semantics.
//
// It depends on the standard library only, so any Go hook can import it.
package inlinehook
