// Package inlinehook is Okta's token inline hook wire format, typed, together
// with Okta's own rules for what it accepts.
//
// When an Okta custom authorization server mints tokens it can pause, POST the
// tokens-to-be to an external service as a [TokenRequest], and apply the
// [Response] the service returns: commands that add, replace or remove claims
// or change a token's lifetime, or an error that denies the token.
//
// The package has four parts:
//
//   - the request and response types, tolerant of fields Okta adds later
//     (unknown members are kept in each struct's Unknown field, a
//     json/v2 "embed" fallback, so a request survives decode→encode);
//   - builders that read well at the call site ([PatchIdentity], [AddClaim],
//     [ClaimPath], [Deny], ...);
//   - Okta's rules, implemented once: [Validate] lists every violation Okta
//     would reject a response for, [Prune] drops the offending operations,
//     [Apply] computes the tokens Okta mints, with its all-or-nothing
//     semantics, and [ParseResponse] reads a body as Okta does. [Rules]
//     selects the reserved-claim table and DPoP;
//   - [HandlerFunc], a small HTTP adapter for a hook.
//
// It depends on the standard library only, so any Go hook can import it.
// Package inlinehooktest builds realistic requests for tests.
//
// # How Okta judges a response
//
// Okta applies a response all or nothing: one invalid command or operation
// and it discards the whole response and mints the tokens unmodified. The
// rules (contract §3–§4): the command type is com.okta.identity.patch or
// com.okta.access.patch, and names a token being minted; the op is add,
// replace or remove; the path is "/claims/<name>[/...]" (RFC 6901 escaped)
// or exactly [LifetimePath]; reserved claims are never touched (per token
// type: aud and sub are writable in access tokens only, cnf is reserved in
// access tokens under DPoP); add and replace carry a value, remove carries
// none or null; the lifetime is only replaced, with an integer from
// [MinLifetime] to [MaxLifetime]; replace and remove need what they name,
// and a nested path needs its parent; array indexes are valid.
//
// Operations are judged in order against a simulated copy of the tokens, as
// Okta applies them, across commands: an earlier add makes a later replace
// inside the new claim valid, an earlier remove makes a later replace fail.
//
// # Decisions where Okta documents nothing
//
// The contract marks these UNDOCUMENTED; this is what the package does, and
// why. Change them here, in one place, if Okta is observed to differ.
//
//   - error and commands together: the error wins. Validate reports nothing,
//     Apply returns a [DeniedError], Prune leaves the response alone. (Okta
//     documents this for registration hooks; the token hook docs say an
//     error object means no token.)
//   - "The entire PATCH fails" means the whole response, every command: Apply
//     applies nothing when anything is invalid (the troubleshooting text says
//     the token is minted "without any modification").
//   - A lifetime outside 300–86400 s is rejected like any invalid operation,
//     not clamped. It must be a JSON number without a fraction (3.6e3 is
//     fine, 3600.5 and "3600" are not).
//   - A value of null is the same as no value: add or replace with null
//     fails "Value is required…"; remove with null is fine.
//   - A body of 256 KB or more is refused ([ValidateSize]); so is an empty
//     body, a top-level null or non-object, and anything after the object.
//     Unknown members are ignored at every level and repeated member names
//     are accepted, as Okta's Java parser does by default; invalid UTF-8 is
//     refused.
//   - Only three System Log messages are known ("ID Token not present",
//     "Path not found(op=…, path=…)", "Value is required for add/replace
//     operation(op=…, path=…)"). The other [Violation] messages are ours, in
//     the same "Reason(op=…, path=…)" shape; the Reason constants list them.
//     [DeserializeError] counts columns in bytes, from 1.
//   - Op names and command types are case-sensitive; RFC 6902's move, copy
//     and test are invalid.
//   - Several commands for the same token are allowed and run in order; a
//     command with no operations is valid (but still needs its token).
//   - [ReservedLatest] is the 2023-07 table. [ReservedUnion] adds what older
//     tables reserved (amr in access tokens). Reservation covers a claim at
//     any depth (/claims/groups/0). The knowledge base's "scope-dependent
//     ID-token claims" are not enforced: the list is not public.
//   - Claim names may be any non-empty string after unescaping; no length or
//     character limits are enforced. An empty member name inside a claim
//     ("/claims/obj/") is a valid RFC 6901 reference.
//   - Array indexes follow RFC 6901: decimal, no sign, no leading zero. add
//     may use the length or "-" to append; "-" anywhere else is invalid.
//   - Values are judged as the JSON they encode to: a Go int is a number, a
//     nil pointer is null, a struct is an object, and a value that cannot be
//     encoded (NaN, a channel) is "Value is not valid JSON".
//   - Prune differs from Okta on purpose: it is the hook's response guard. It
//     removes what Okta would reject so the rest lands, where Okta would
//     discard everything. Invalid operations are skipped by the simulation,
//     so dropping them never changes how the others are judged; Prune still
//     re-validates until the response is clean.
//   - [HandlerFunc] answers 204 when there is nothing to send (Okta's "no
//     changes", as the guide's sample service does) and 500, never a 4xx,
//     when the hook function fails: Okta mints the tokens unmodified either
//     way, and it does not retry token hooks.
package inlinehook
