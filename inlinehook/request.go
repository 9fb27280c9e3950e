package inlinehook

import (
	"bytes"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"strconv"
)

// EventTypeTokenTransform is the eventType of every token inline hook call.
const EventTypeTokenTransform = "com.okta.oauth2.tokens.transform"

// TokenRequest is the body Okta POSTs to a token inline hook.
//
// Every struct keeps the members it does not know in an Unknown field, so a
// request Okta extends later still decodes, and encodes back without loss.
// Unknown is a json/v2 fallback field, tagged `json:",embed"` (Go 1.27's
// name for the option; a tag json/v2 does not know, such as ",unknown", is
// silently ignored and would encode a literal "Unknown" member instead).
type TokenRequest struct {
	Source            string         `json:"source,omitempty"`
	EventID           string         `json:"eventId,omitempty"`
	EventTime         string         `json:"eventTime,omitempty"` // ISO-8601 UTC with milliseconds, kept verbatim
	EventTypeVersion  string         `json:"eventTypeVersion,omitempty"`
	CloudEventVersion string         `json:"cloudEventVersion,omitempty"`
	ContentType       string         `json:"contentType,omitempty"`
	EventType         string         `json:"eventType,omitempty"`
	Data              TokenData      `json:"data"`
	Unknown           jsontext.Value `json:",embed"`
}

// TokenData is the request's data: the read-only context and the tokens
// being minted. Identity is nil when no ID token is minted, Access when no
// access token is, RefreshToken when no refresh token is issued.
type TokenData struct {
	Context      Context        `json:"context"`
	Identity     *Token         `json:"identity,omitzero"`
	Access       *Token         `json:"access,omitzero"`
	RefreshToken *RefreshToken  `json:"refresh_token,omitzero"`
	Unknown      jsontext.Value `json:",embed"`
}

// Context is data.context: what the hook may read but not change. Session and
// User are nil for grants without a user, such as client credentials.
type Context struct {
	Request  *Request       `json:"request,omitzero"`
	Protocol *Protocol      `json:"protocol,omitzero"`
	Session  *Session       `json:"session,omitzero"`
	User     *User          `json:"user,omitzero"`
	Policy   *Policy        `json:"policy,omitzero"`
	Unknown  jsontext.Value `json:",embed"`
}

// Request describes the HTTP request that made Okta mint the tokens
// (/authorize or /token), including its full URL with query parameters.
type Request struct {
	ID        string         `json:"id,omitempty"`
	Method    string         `json:"method,omitempty"`
	URL       *URL           `json:"url,omitzero"`
	IPAddress string         `json:"ipAddress,omitempty"`
	Unknown   jsontext.Value `json:",embed"`
}

// URL wraps a URL string as Okta sends it ({"value": "https://..."}).
type URL struct {
	Value   string         `json:"value,omitempty"`
	Unknown jsontext.Value `json:",embed"`
}

// Protocol is data.context.protocol: the OAuth 2.0 request being served.
type Protocol struct {
	Type    string           `json:"type,omitempty"` // "OAUTH2.0"
	Request *ProtocolRequest `json:"request,omitzero"`
	// OriginalGrant is sent on refresh_token grants only: the request that
	// first obtained the refresh token. Okta spells it with a capital O.
	OriginalGrant *OriginalGrant `json:"OriginalGrant,omitzero"`
	Issuer        *Issuer        `json:"issuer,omitzero"`
	Client        *Client        `json:"client,omitzero"`
	Unknown       jsontext.Value `json:",embed"`
}

// ProtocolRequest holds the OAuth 2.0 request parameters.
type ProtocolRequest struct {
	ClientID     string         `json:"client_id,omitempty"`
	GrantType    string         `json:"grant_type,omitempty"`
	RedirectURI  string         `json:"redirect_uri,omitempty"`
	ResponseMode string         `json:"response_mode,omitempty"`
	ResponseType string         `json:"response_type,omitempty"`
	Scope        string         `json:"scope,omitempty"` // space-separated
	State        string         `json:"state,omitempty"`
	Unknown      jsontext.Value `json:",embed"`
}

// OriginalGrant is the grant a refresh token was first issued by.
type OriginalGrant struct {
	Authorization *ProtocolRequest `json:"authorization,omitzero"`
	RefreshToken  *RefreshToken    `json:"refresh_token,omitzero"`
	Unknown       jsontext.Value   `json:",embed"`
}

// Issuer identifies the custom authorization server.
type Issuer struct {
	URI     string         `json:"uri,omitempty"`
	Unknown jsontext.Value `json:",embed"`
}

// Client is the OAuth client the tokens are minted for.
type Client struct {
	ID      string         `json:"id,omitempty"`
	Name    string         `json:"name,omitempty"`
	Type    string         `json:"type,omitempty"` // e.g. PUBLIC
	Unknown jsontext.Value `json:",embed"`
}

// Session is the user's Okta session.
type Session struct {
	ID                       string         `json:"id,omitempty"`
	UserID                   string         `json:"userId,omitempty"`
	Login                    string         `json:"login,omitempty"`
	CreatedAt                string         `json:"createdAt,omitempty"`
	ExpiresAt                string         `json:"expiresAt,omitempty"`
	Status                   string         `json:"status,omitempty"`
	LastPasswordVerification string         `json:"lastPasswordVerification,omitempty"`
	LastFactorVerification   string         `json:"lastFactorVerification,omitempty"`
	AMR                      []string       `json:"amr,omitzero"`
	IDP                      *IDP           `json:"idp,omitzero"`
	MFAActive                *bool          `json:"mfaActive,omitzero"` // nil when absent
	Unknown                  jsontext.Value `json:",embed"`
}

// IDP is the identity provider that authenticated the session.
type IDP struct {
	ID      string         `json:"id,omitempty"`
	Type    string         `json:"type,omitempty"` // OKTA, ACTIVE_DIRECTORY, LDAP, FEDERATION, SOCIAL
	Unknown jsontext.Value `json:",embed"`
}

// User is the Okta user the tokens are minted for.
type User struct {
	ID              string         `json:"id,omitempty"`
	PasswordChanged string         `json:"passwordChanged,omitempty"`
	Profile         Profile        `json:"profile"`
	Links           Links          `json:"_links,omitzero"`
	Unknown         jsontext.Value `json:",embed"`
}

// Links are a user's HAL links ({"groups": {"href": ...}, "factors": ...}).
// A named type, so that a [PartialDecoder] can skip them alone.
type Links map[string]any

// Profile is the user's profile. Attributes beyond the named ones are kept in
// Unknown.
type Profile struct {
	Login     string         `json:"login,omitempty"`
	FirstName string         `json:"firstName,omitempty"`
	LastName  string         `json:"lastName,omitempty"`
	Locale    string         `json:"locale,omitempty"`
	TimeZone  string         `json:"timeZone,omitempty"`
	Unknown   jsontext.Value `json:",embed"`
}

// Policy is the authorization server access policy, and the rule of it, that
// invoked the hook.
type Policy struct {
	ID      string         `json:"id,omitempty"`
	Rule    *PolicyRule    `json:"rule,omitzero"`
	Unknown jsontext.Value `json:",embed"`
}

// PolicyRule identifies the access policy rule.
type PolicyRule struct {
	ID      string         `json:"id,omitempty"`
	Unknown jsontext.Value `json:",embed"`
}

// Token is a token about to be minted: data.identity or data.access. Claims
// never include iat and exp: Okta sets those after the hook, from the
// lifetime. Scopes is only sent for the access token.
type Token struct {
	Claims  Claims           `json:"claims"`
	Token   TokenLifetime    `json:"token"`
	Scopes  map[string]Scope `json:"scopes,omitzero"`
	Unknown jsontext.Value   `json:",embed"`
}

// TokenLifetime is a token's {"lifetime": {"expiration": seconds}}.
type TokenLifetime struct {
	Lifetime Lifetime       `json:"lifetime"`
	Unknown  jsontext.Value `json:",embed"`
}

// Lifetime is a token's lifetime in seconds.
type Lifetime struct {
	Expiration int            `json:"expiration"`
	Unknown    jsontext.Value `json:",embed"`
}

// Scope is one granted scope of the access token.
type Scope struct {
	ID      string         `json:"id,omitempty"`
	Action  string         `json:"action,omitempty"` // GRANT
	Unknown jsontext.Value `json:",embed"`
}

// RefreshToken identifies a refresh token by its jti.
type RefreshToken struct {
	JTI     string         `json:"jti,omitempty"`
	Unknown jsontext.Value `json:",embed"`
}

// Claims maps claim names to JSON values (string, float64, bool, nil,
// []any, map[string]any).
type Claims map[string]any

// String returns the claim as a string, and whether it is one.
func (c Claims) String(name string) (string, bool) {
	s, ok := c[name].(string)
	return s, ok
}

// Login returns the user's Okta login: data.context.user.profile.login, or,
// when Okta sent no user, the ID token's preferred_username. It returns ""
// when neither is present, as for client credentials.
func (r *TokenRequest) Login() string {
	if u := r.Data.Context.User; u != nil && u.Profile.Login != "" {
		return u.Profile.Login
	}
	if id := r.Data.Identity; id != nil {
		if s, ok := id.Claims.String("preferred_username"); ok {
			return s
		}
	}
	return ""
}

// GrantType returns data.context.protocol.request.grant_type, which Okta
// leaves empty for requests that come through /authorize.
func (r *TokenRequest) GrantType() string {
	if p := r.Data.Context.Protocol; p != nil && p.Request != nil {
		return p.Request.GrantType
	}
	return ""
}

// ClientID returns the OAuth client id from data.context.protocol.
func (r *TokenRequest) ClientID() string {
	p := r.Data.Context.Protocol
	if p == nil {
		return ""
	}
	if p.Client != nil && p.Client.ID != "" {
		return p.Client.ID
	}
	if p.Request != nil {
		return p.Request.ClientID
	}
	return ""
}

// DecodeTokenRequest decodes a token inline hook request. Unknown members are
// tolerated and kept; malformed JSON, invalid UTF-8, duplicate member names
// and members of the wrong type are errors, of type [*DecodeError].
// A body that is not a JSON object, null included, is an error too.
func DecodeTokenRequest(data []byte) (*TokenRequest, error) {
	return decodeTokenRequest(data)
}

func decodeTokenRequest(data []byte, opts ...json.Options) (*TokenRequest, error) {
	var r TokenRequest
	if err := json.Unmarshal(data, &r, opts...); err != nil {
		return nil, newDecodeError(data, err)
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); !bytes.HasPrefix(t, []byte("{")) {
		// Only null gets here: json.Unmarshal takes it as "no change".
		return nil, newDecodeError(data, &jsontext.SyntacticError{
			ByteOffset: int64(len(data) - len(t)), Err: errNotObject,
		})
	}
	return &r, nil
}

// DecodeError is a request body that could not be decoded. Its message says
// what and where — JSON kinds, the expected type, the JSON pointer, line and
// column — but never quotes a value: request bodies carry personal data,
// and decode errors end up in logs and in responses.
type DecodeError struct {
	Offset       int64  // byte offset of the problem in the body
	Line, Column int    // the same, as an editor counts (from 1; columns in bytes)
	Pointer      string // JSON pointer of the member, when known
	Reason       string // value-free description
	Err          error  // the decoder's own error; its text may quote input
}

func (e *DecodeError) Error() string {
	return "invalid token inline hook request: " + e.Reason +
		" (line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ")"
}

func (e *DecodeError) Unwrap() error { return e.Err }

func newDecodeError(data []byte, err error) *DecodeError {
	d := &DecodeError{Reason: "invalid JSON", Err: err}
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		// Syntax errors describe structure ("missing value after object
		// name"); at most they quote one character or escape sequence.
		d.Offset, d.Pointer = syn.ByteOffset, string(syn.JSONPointer)
		if syn.Err != nil {
			d.Reason += ": " + syn.Err.Error()
		}
	case errors.As(err, &sem):
		// A semantic error's own text may quote the offending value
		// (sem.JSONValue), so the message is rebuilt from its kinds.
		d.Offset, d.Pointer = sem.ByteOffset, string(sem.JSONPointer)
		d.Reason = "unexpected JSON"
		if k := kindName(sem.JSONKind); k != "" {
			d.Reason += " " + k
		}
		if d.Pointer != "" {
			d.Reason += " at " + d.Pointer
		}
		if sem.GoType != nil {
			if want := jsonKindOf(sem.GoType); want != "" {
				d.Reason += ", want " + want
			}
		}
	}
	d.Line, d.Column = lineColumn(data, d.Offset)
	return d
}

var errNotObject = errors.New("not a JSON object")
