// Package sampleapp is the sample web app of Okta's token inline hook guide,
// in Go: an OpenID Connect client (authorization code flow with PKCE, through
// github.com/coreos/go-oidc and golang.org/x/oauth2) whose profile page lists
// every claim of the ID token it received, so a claim the hook added is
// visible at once. It talks to its provider over HTTP only, so it works the
// same against a real Okta org and against tokenhook's emulator; it never
// imports the emulator.
//
// # Routes
//
//	GET  /                             home: "Log in", or a greeting and links
//	GET  /login                        starts the code flow (PKCE S256, state, nonce)
//	GET  /authorization-code/callback  the redirect URI (the guide's path)
//	GET  /profile                      the claim tables; logged out → /login?return=/profile
//	POST /logout                       same-origin only (403 otherwise); ends the local
//	                                   session, then the provider's (end_session_endpoint)
//	GET  /static/app.css               the style sheet
//
// State, nonce and PKCE verifier travel in a short-lived cookie sealed with
// AES-GCM under a key drawn at start-up, so the app keeps no login state on
// the server and a restart simply invalidates logins in progress. Sessions
// live in a bounded in-memory map keyed by a random cookie.
//
// # Page elements tests rely on (kept stable)
//
// Every page is titled "tokenhook sample app". On the profile page:
//
//	table#id-token-claims            every ID token claim, sorted by name
//	table#access-token-claims        the access token's claims, when it is a JWT
//	                                 (decoded, not verified: the resource server verifies it)
//	table#userinfo-claims            the userinfo endpoint's claims, when it answered
//	tr[data-claim="NAME"]            one row per claim in each table
//	tr[data-claim="NAME"] td.claim-value
//	                                 the value: strings as they are, anything else as JSON
//	                                 (objects and arrays indented)
//
// In the navigation of every page: a#login (logged out), a#profile-link and
// form#logout-form button#logout (logged in). On error pages
// #error-status, #error-message, and, when the provider reported an OAuth
// error (for instance a hook's denial, which Okta turns into server_error),
// #error-code and #error-description.
//
// # Status codes
//
// 400 for a callback that does not belong to a login started here (missing,
// expired or tampered state cookie, state mismatch, no code) and for an
// OAuth error the provider reported (at the redirect or at the token
// endpoint); 502 when the provider cannot be reached or its answer cannot be
// trusted (discovery failure, token endpoint failure, an ID token that fails
// verification or carries the wrong nonce); 403 for a cross-origin logout.
//
// Logs never carry tokens, codes or claim values.
package sampleapp
