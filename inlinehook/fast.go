package inlinehook

import "math"

// The fast path of PartialDecoder.Decode: the TokenRequest model decoded by
// hand over a scanner, member by member, as json/v2 decodes it — names
// matched exactly, members the struct does not know kept verbatim in its
// Unknown, null leaving a field zero, a part the decoder skips validated
// and left zero whatever its kind. Anything else json/v2 would reject or
// treat otherwise (a wrong kind, a fraction for an int, a number out of
// range) fails the scanner, and Decode falls back to json/v2.

// decodeFast decodes data, or returns nil if the fast path does not vouch
// for it.
func (d *PartialDecoder) decodeFast(data []byte) *TokenRequest {
	if len(data) > math.MaxInt32 {
		return nil // nameRef offsets are int32
	}
	var s scanner
	s.data = data
	s.stringLimit = len(data) // no string is longer than the input
	if l := d.limits.MaxDepth; l > 0 && l < maxDepth {
		s.depth = maxDepth - l // see scanner.stringLimit
	}
	if l := d.limits.MaxStringBytes; l > 0 && l < len(data) {
		if l < 16 {
			return nil // member does not check the names it reads in one go, up to 15 bytes
		}
		s.stringLimit = l
	}
	s.ws()
	if s.pos >= len(data) || data[s.pos] != '{' {
		return nil // not an object, null included: json/v2 reports it
	}
	r := new(TokenRequest)
	d.request(&s, r)
	s.ws()
	if s.bad || s.pos != len(data) {
		return nil
	}
	return r
}

func (d *PartialDecoder) request(s *scanner, r *TokenRequest) {
	var o object
	if !s.open(&o) {
		return
	}
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "source":
			s.strField(&f, &r.Source)
		case "eventId":
			s.strField(&f, &r.EventID)
		case "eventTime":
			s.strField(&f, &r.EventTime)
		case "eventTypeVersion":
			s.strField(&f, &r.EventTypeVersion)
		case "cloudEventVersion":
			s.strField(&f, &r.CloudEventVersion)
		case "contentType":
			s.strField(&f, &r.ContentType)
		case "eventType":
			s.strField(&f, &r.EventType)
		case "data":
			d.data(s, &r.Data)
		default:
			r.Unknown = s.unknown(r.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
}

func (d *PartialDecoder) data(s *scanner, v *TokenData) {
	var o object
	if !s.open(&o) {
		return
	}
	for s.more(&o) {
		switch string(s.name()) {
		case "context":
			d.context(s, &v.Context)
		case "identity":
			v.Identity = d.token(s)
		case "access":
			v.Access = d.token(s)
		case "refresh_token":
			v.RefreshToken = d.refreshToken(s)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
}

func (d *PartialDecoder) context(s *scanner, v *Context) {
	var o object
	if !s.open(&o) {
		return
	}
	for s.more(&o) {
		switch string(s.name()) {
		case "request":
			if d.parts.Request {
				v.Request = s.request()
			} else {
				s.skipValue()
			}
		case "protocol":
			if d.parts.Protocol {
				v.Protocol = d.protocol(s)
			} else {
				s.skipValue()
			}
		case "session":
			if d.parts.Session {
				v.Session = s.session()
			} else {
				s.skipValue()
			}
		case "user":
			if d.parts.User {
				v.User = s.user(d.parts.UserLinks)
			} else {
				s.skipValue()
			}
		case "policy":
			if d.parts.Policy {
				v.Policy = s.policy()
			} else {
				s.skipValue()
			}
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
}

func (d *PartialDecoder) token(s *scanner) *Token {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(Token)
	for s.more(&o) {
		switch string(s.name()) {
		case "claims":
			v.Claims = d.claimsObject(s)
		case "token":
			s.tokenLifetime(&v.Token)
		case "scopes":
			if d.parts.Scopes {
				v.Scopes = s.scopes()
			} else {
				s.skipValue()
			}
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	return v
}

// claimsObject decodes the claims the decoder wants and skips the others.
func (d *PartialDecoder) claimsObject(s *scanner) Claims {
	var o object
	if !s.open(&o) {
		return nil
	}
	c := Claims{}
	for s.more(&o) {
		if d.allClaims {
			name := s.key(s.name())
			c[name] = s.anyValue()
		} else if name, ok := d.wantedClaim(s.name()); ok {
			c[name] = s.anyValue()
		} else {
			s.skipValue()
		}
	}
	return c
}

func (s *scanner) tokenLifetime(v *TokenLifetime) {
	var o object
	if !s.open(&o) {
		return
	}
	for s.more(&o) {
		switch string(s.name()) {
		case "lifetime":
			s.lifetime(&v.Lifetime)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
}

func (s *scanner) lifetime(v *Lifetime) {
	var o object
	if !s.open(&o) {
		return
	}
	for s.more(&o) {
		switch string(s.name()) {
		case "expiration":
			v.Expiration = s.integer()
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
}

func (s *scanner) scopes() map[string]Scope {
	var o object
	if !s.open(&o) {
		return nil
	}
	m := map[string]Scope{}
	for s.more(&o) {
		name := s.key(s.name())
		m[name] = s.scope()
	}
	return m
}

// scope decodes a scope, a value in a map: its strings are made one by
// one (and "GRANT" once), not collected in fields, which would move it to
// the heap.
func (s *scanner) scope() Scope {
	var v Scope
	var o object
	if !s.open(&o) {
		return v
	}
	for s.more(&o) {
		switch string(s.name()) {
		case "id":
			v.ID = s.str()
		case "action":
			v.Action = s.str()
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	return v
}

// refreshToken decodes a refresh token, data's or an original grant's:
// json/v2 skips both when the decoder skips the type.
func (d *PartialDecoder) refreshToken(s *scanner) *RefreshToken {
	if !d.parts.RefreshToken {
		s.skipValue()
		return nil
	}
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(RefreshToken)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "jti":
			s.strField(&f, &v.JTI)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (s *scanner) user(links bool) *User {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(User)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "id":
			s.strField(&f, &v.ID)
		case "passwordChanged":
			s.strField(&f, &v.PasswordChanged)
		case "profile":
			s.profile(&v.Profile, &f) // the user's strings, with one allocation
		case "_links":
			if links {
				v.Links = s.anyObject()
			} else {
				s.skipValue()
			}
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

// profile decodes a user's profile, its strings collected in f.
func (s *scanner) profile(v *Profile, f *fields) {
	var o object
	if !s.open(&o) {
		return
	}
	for s.more(&o) {
		switch string(s.name()) {
		case "login":
			s.strField(f, &v.Login)
		case "firstName":
			s.strField(f, &v.FirstName)
		case "lastName":
			s.strField(f, &v.LastName)
		case "locale":
			s.strField(f, &v.Locale)
		case "timeZone":
			s.strField(f, &v.TimeZone)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
}

func (s *scanner) request() *Request {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(Request)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "id":
			s.strField(&f, &v.ID)
		case "method":
			s.strField(&f, &v.Method)
		case "url":
			v.URL = s.url()
		case "ipAddress":
			s.strField(&f, &v.IPAddress)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (s *scanner) url() *URL {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(URL)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "value":
			s.strField(&f, &v.Value)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (d *PartialDecoder) protocol(s *scanner) *Protocol {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(Protocol)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "type":
			s.strField(&f, &v.Type)
		case "request":
			v.Request = s.protocolRequest()
		case "OriginalGrant":
			v.OriginalGrant = d.originalGrant(s)
		case "issuer":
			v.Issuer = s.issuer()
		case "client":
			v.Client = s.client()
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (s *scanner) protocolRequest() *ProtocolRequest {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(ProtocolRequest)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "client_id":
			s.strField(&f, &v.ClientID)
		case "grant_type":
			s.strField(&f, &v.GrantType)
		case "redirect_uri":
			s.strField(&f, &v.RedirectURI)
		case "response_mode":
			s.strField(&f, &v.ResponseMode)
		case "response_type":
			s.strField(&f, &v.ResponseType)
		case "scope":
			s.strField(&f, &v.Scope)
		case "state":
			s.strField(&f, &v.State)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (d *PartialDecoder) originalGrant(s *scanner) *OriginalGrant {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(OriginalGrant)
	for s.more(&o) {
		switch string(s.name()) {
		case "authorization":
			v.Authorization = s.protocolRequest()
		case "refresh_token":
			v.RefreshToken = d.refreshToken(s)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	return v
}

func (s *scanner) issuer() *Issuer {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(Issuer)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "uri":
			s.strField(&f, &v.URI)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (s *scanner) client() *Client {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(Client)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "id":
			s.strField(&f, &v.ID)
		case "name":
			s.strField(&f, &v.Name)
		case "type":
			s.strField(&f, &v.Type)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (s *scanner) session() *Session {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(Session)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "id":
			s.strField(&f, &v.ID)
		case "userId":
			s.strField(&f, &v.UserID)
		case "login":
			s.strField(&f, &v.Login)
		case "createdAt":
			s.strField(&f, &v.CreatedAt)
		case "expiresAt":
			s.strField(&f, &v.ExpiresAt)
		case "status":
			s.strField(&f, &v.Status)
		case "lastPasswordVerification":
			s.strField(&f, &v.LastPasswordVerification)
		case "lastFactorVerification":
			s.strField(&f, &v.LastFactorVerification)
		case "amr":
			v.AMR = s.stringSlice()
		case "idp":
			v.IDP = s.idp()
		case "mfaActive":
			v.MFAActive = s.boolPtr()
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (s *scanner) idp() *IDP {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(IDP)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "id":
			s.strField(&f, &v.ID)
		case "type":
			s.strField(&f, &v.Type)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (s *scanner) policy() *Policy {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(Policy)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "id":
			s.strField(&f, &v.ID)
		case "rule":
			v.Rule = s.policyRule()
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}

func (s *scanner) policyRule() *PolicyRule {
	var o object
	if !s.open(&o) {
		return nil
	}
	v := new(PolicyRule)
	var f fields
	for s.more(&o) {
		switch string(s.name()) {
		case "id":
			s.strField(&f, &v.ID)
		default:
			v.Unknown = s.unknown(v.Unknown)
		}
	}
	if !s.bad {
		f.set(s.data)
	}
	return v
}
