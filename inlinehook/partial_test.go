package inlinehook_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// TestPartialDecoderAllParts pins that selecting everything decodes exactly
// what DecodeTokenRequest does.
func TestPartialDecoderAllParts(t *testing.T) {
	all := inlinehook.NewPartialDecoder(inlinehook.Parts{
		Request: true, Protocol: true, Session: true, User: true, UserLinks: true, Policy: true,
		RefreshToken: true, Scopes: true, Claims: inlinehook.AllClaims,
	})
	for _, name := range requestFixtures {
		body := mustReadFile(t, "requests", name+".json")
		got, err := all.Decode(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := mustRequest(t, name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: partial decode of all parts differs from the full decode", name)
		}
	}
}

func TestPartialDecoderSkips(t *testing.T) {
	d := inlinehook.NewPartialDecoder(inlinehook.Parts{User: true, Claims: []string{"preferred_username", "uid"}})
	for _, name := range requestFixtures {
		full := mustRequest(t, name)
		got, err := d.Decode(mustReadFile(t, "requests", name+".json"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.EventID != full.EventID || got.EventID == "" {
			t.Errorf("%s: eventId %q, want %q", name, got.EventID, full.EventID)
		}
		// The user, but its links: Parts.UserLinks asks for them.
		wantUser := full.Data.Context.User
		if wantUser != nil {
			u := *wantUser
			u.Links = nil
			wantUser = &u
		}
		if !reflect.DeepEqual(got.Data.Context.User, wantUser) {
			t.Errorf("%s: user differs", name)
		}
		ctx := got.Data.Context
		if ctx.Request != nil || ctx.Protocol != nil || ctx.Session != nil || ctx.Policy != nil || got.Data.RefreshToken != nil {
			t.Errorf("%s: skipped parts decoded: %+v", name, ctx)
		}
		for _, tok := range []struct {
			name      string
			got, full *inlinehook.Token
		}{{"identity", got.Data.Identity, full.Data.Identity}, {"access", got.Data.Access, full.Data.Access}} {
			if (tok.got == nil) != (tok.full == nil) {
				t.Fatalf("%s: %s presence differs", name, tok.name)
			}
			if tok.got == nil {
				continue
			}
			if tok.got.Claims == nil || tok.got.Scopes != nil || !reflect.DeepEqual(tok.got.Token, tok.full.Token) {
				t.Errorf("%s: %s: claims %v, scopes %v, lifetime %v", name, tok.name, tok.got.Claims, tok.got.Scopes, tok.got.Token.Lifetime)
			}
			for claim, v := range tok.got.Claims {
				if claim != "preferred_username" && claim != "uid" {
					t.Errorf("%s: %s: claim %q decoded", name, tok.name, claim)
				}
				if !reflect.DeepEqual(v, tok.full.Claims[claim]) {
					t.Errorf("%s: %s: claim %q = %v, want %v", name, tok.name, claim, v, tok.full.Claims[claim])
				}
			}
			for _, claim := range []string{"preferred_username", "uid"} {
				if _, ok := tok.full.Claims[claim]; ok {
					if _, ok := tok.got.Claims[claim]; !ok {
						t.Errorf("%s: %s: claim %q missing", name, tok.name, claim)
					}
				}
			}
		}
	}
}

// TestPartialDecoderErrors pins that skipped parts are still checked to be
// well-formed JSON: skipping never lets a broken body through.
func TestPartialDecoderErrors(t *testing.T) {
	d := inlinehook.NewPartialDecoder(inlinehook.Parts{Claims: []string{"preferred_username"}})
	for _, tc := range []struct{ name, body, want string }{
		{"truncated in a skipped part", `{"data":{"context":{"session":{"id":"x"`, "unexpected EOF"},
		{"syntax in a skipped claim", `{"data":{"identity":{"claims":{"name":tru}}}}`, "invalid JSON"},
		{"invalid UTF-8 in a skipped claim", "{\"data\":{\"identity\":{\"claims\":{\"name\":\"\xff\"}}}}", "UTF-8"},
		{"claims not an object", `{"data":{"identity":{"claims":[1]}}}`, "unexpected JSON array at /data/identity/claims"},
		{"null body", `null`, "not a JSON object"},
	} {
		_, err := d.Decode([]byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	// A wrong type inside a skipped part is not this hook's concern.
	if _, err := d.Decode([]byte(`{"data":{"context":{"session":{"mfaActive":"yes"}}}}`)); err != nil {
		t.Errorf("wrong type in a skipped part: %v", err)
	}
}

func BenchmarkPartialDecoder(b *testing.B) {
	d := inlinehook.NewPartialDecoder(inlinehook.Parts{User: true, Claims: []string{"preferred_username"}})
	body := mustReadFile(b, "requests", "authorization_code.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := d.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
