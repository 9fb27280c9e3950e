package tokenhook

import (
	"slices"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/rules"
)

// partsRead returns the parts of Okta's request the program reads: what
// its expressions select, the requests parts behind the inputs they use,
// and the claims its replace, remove and append rules need to see. The
// server decodes only those (decision 0003).
func partsRead(p *rules.Program) inlinehook.Parts {
	var s partSet
	reads := p.Reads()
	for _, name := range reads.Inputs {
		switch name {
		case InputLogin:
			s.parts.User = true
			s.claim("preferred_username")
		case InputClientID, InputGrantType:
			s.parts.Protocol = true
		case InputScopes:
			s.parts.Scopes, s.parts.Protocol = true, true
		case InputQuery:
			s.parts.Request = true
		}
	}
	for _, path := range reads.Request {
		s.path(path)
	}
	for _, w := range p.Writes() {
		if w.Op == rules.OpReplace || w.Op == rules.OpRemove || w.Op == rules.OpAppend {
			s.claim(w.Claim)
		}
	}
	return s.result()
}

type partSet struct {
	parts     inlinehook.Parts
	allClaims bool
}

func (s *partSet) claim(name string) {
	if !s.allClaims {
		s.parts.Claims = append(s.parts.Claims, name)
	}
}

func (s *partSet) everything() {
	s.parts = inlinehook.Parts{Request: true, Protocol: true, Session: true, User: true, UserLinks: true, Policy: true, RefreshToken: true, Scopes: true}
	s.allClaims = true
}

func (s *partSet) context() {
	p := &s.parts
	p.Request, p.Protocol, p.Session, p.User, p.UserLinks, p.Policy = true, true, true, true, true, true
}

// path adds a field path below the request, by json names.
func (s *partSet) path(path []string) {
	if len(path) == 0 {
		s.everything() // the whole request, handed to a function
		return
	}
	if path[0] != "data" {
		return // the envelope is always decoded
	}
	if len(path) == 1 {
		s.everything()
		return
	}
	switch path[1] {
	case "context":
		if len(path) == 2 {
			s.context()
			return
		}
		switch path[2] {
		case "request":
			s.parts.Request = true
		case "protocol":
			s.parts.Protocol = true
		case "session":
			s.parts.Session = true
		case "user":
			// The user's links are maps of maps: decoded only when read.
			s.parts.User = true
			s.parts.UserLinks = s.parts.UserLinks || len(path) == 3 || path[3] == "_links"
		case "policy":
			s.parts.Policy = true
		default:
			s.context()
		}
	case "identity", "access":
		switch {
		case len(path) == 2:
			s.allClaims, s.parts.Scopes = true, true
		case path[2] == "token":
			// Lifetimes are always decoded.
		case path[2] == "scopes":
			s.parts.Scopes = true
		case path[2] == "claims" && len(path) > 3:
			s.claim(path[3])
		default:
			s.allClaims = true
		}
	case "refresh_token":
		s.parts.RefreshToken = true
	default:
		s.everything()
	}
}

func (s *partSet) result() inlinehook.Parts {
	if s.allClaims {
		s.parts.Claims = inlinehook.AllClaims
	}
	return s.parts
}

// mergeParts returns the parts a or b selects.
func mergeParts(a, b inlinehook.Parts) inlinehook.Parts {
	a.Request = a.Request || b.Request
	a.Protocol = a.Protocol || b.Protocol
	a.Session = a.Session || b.Session
	a.User = a.User || b.User
	a.UserLinks = a.UserLinks || b.UserLinks
	a.Policy = a.Policy || b.Policy
	a.RefreshToken = a.RefreshToken || b.RefreshToken
	a.Scopes = a.Scopes || b.Scopes
	switch {
	case slices.Equal(a.Claims, inlinehook.AllClaims), slices.Equal(b.Claims, inlinehook.AllClaims):
		a.Claims = inlinehook.AllClaims
	default:
		for _, c := range b.Claims {
			if !slices.Contains(a.Claims, c) {
				a.Claims = append(a.Claims, c)
			}
		}
	}
	return a
}
