// Package oktaemu is a local stand-in for an Okta custom authorization
// server: OpenID Connect discovery, JWKS, /authorize with a hosted login
// page, /token, userinfo, introspection, revocation and logout, under
// /oauth2/{authorizationServerId} like Okta's paths. While it mints tokens it
// calls the configured token inline hook exactly as Okta does (package
// hookcall), applies Okta's verdict, then signs the tokens (RS256).
//
// Like Okta it knows the hook only over HTTP: it never imports the hook
// server's packages.
//
// Where the hook runs follows the contract (§1.1): for the authorization
// code and implicit flows while /v1/authorize completes (the tokens minted
// then are stored with the code), for the password, client credentials and
// refresh token grants at /v1/token. A denying hook (an error object) ends the
// request with the OAuth error server_error: on the redirect URI from
// /authorize, as JSON from /token.
//
// Clients authenticate with a secret (client_secret_basic,
// client_secret_post), with a client assertion signed by a configured
// public key (private_key_jwt), or not at all (public clients). The
// signing key rotates on request ([Emulator.RotateKey]) or on a schedule
// (Config.KeyRotation); rotated-out keys stay in /v1/keys while tokens
// they signed are valid.
//
// [New] takes a [Config] (YAML, see [LoadConfig]; [DefaultConfig] is a demo
// server) and [Options], whose fields are the test knobs: the clock, the
// hook's extra latency, a fixed signing key and the keys rotations install,
// the HTTP client. Every hook
// call's System Log events are written as JSON lines and kept for the
// /system-log page. docs/emulator.md describes what is emulated, what is
// not, and every choice made where Okta documents nothing.
package oktaemu
