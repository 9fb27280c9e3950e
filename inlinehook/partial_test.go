package inlinehook_test

import (
	"errors"
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

// TestPartialDecoderLimits pins the errors of a decoder with limits: which
// limit, where, and never a value; and that input within them decodes as
// without them.
func TestPartialDecoderLimits(t *testing.T) {
	plain := inlinehook.NewPartialDecoder(inlinehook.Parts{User: true, Claims: []string{"preferred_username"}})
	d := plain.WithLimits(inlinehook.Limits{MaxDepth: 8, MaxStringBytes: 1024})
	for _, name := range requestFixtures {
		body := mustReadFile(t, "requests", name+".json")
		got, err := d.Decode(body)
		want, _ := plain.Decode(body)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: with limits %v, %v", name, got, err)
		}
	}
	secret := strings.Repeat("s3cr3t", 200) // 1200 bytes
	tests := []struct {
		name    string
		in      string
		limit   inlinehook.Limit
		pointer string
		offset  int64
		isName  bool
		message string
	}{
		{name: "string", in: `{"data":{"context":{"user":{"profile":{"login":"` + secret + `"}}}}}`,
			limit: inlinehook.LimitStringBytes, pointer: "/data/context/user/profile/login", offset: 47,
			message: "a string longer than 1024 bytes at /data/context/user/profile/login (line 1, column 48)"},
		{name: "skipped string", in: `{"data":{"context":{"request":{"ipAddress":"` + secret + `"}}}}`,
			limit: inlinehook.LimitStringBytes, pointer: "/data/context/request/ipAddress", offset: 43},
		{name: "in an array", in: `{"x":[1,"` + secret + `"]}`, limit: inlinehook.LimitStringBytes, pointer: "/x/1", offset: 8},
		{name: "name", in: `{"data":{"` + secret + `":1}}`, limit: inlinehook.LimitStringBytes, pointer: "/data", offset: 9, isName: true,
			message: "a member name longer than 1024 bytes in /data (line 1, column 10)"},
		{name: "escapes count unescaped", in: `{"x":"` + strings.Repeat(`\u00e9`, 513) + `"}`, limit: inlinehook.LimitStringBytes, pointer: "/x", offset: 5},
		{name: "top level", in: `"` + secret + `"`, limit: inlinehook.LimitStringBytes, pointer: "", offset: 0, message: "at the top level"},
		{name: "depth", in: `{"data":{"context":{"user":{"_links":{"a":[[[[1]]]]}}}}}`,
			limit: inlinehook.LimitDepth, pointer: "/data/context/user/_links/a/0/0/0", offset: 45,
			message: "nested deeper than 8 levels at /data/context/user/_links/a/0/0/0 (line 1, column 46)"},
		{name: "over a limit before a wrong type", in: `{"eventId":5,"x":"` + secret + `"}`, limit: inlinehook.LimitStringBytes, pointer: "/x", offset: 17},
		{name: "over a limit before malformed JSON", in: `{"x":"` + secret + `",,}`, limit: inlinehook.LimitStringBytes, pointer: "/x", offset: 5},
		{name: "on a new line", in: "{\n  \"x\": [[[[[[[[]]]]]]]]\n}", limit: inlinehook.LimitDepth, pointer: "/x/0/0/0/0/0/0/0", offset: 16,
			message: "(line 2, column 15)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Decode([]byte(tt.in))
			var le *inlinehook.LimitError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LimitError", err)
			}
			if le.Limit != tt.limit || le.Pointer != tt.pointer || le.Offset != tt.offset || le.Name != tt.isName {
				t.Errorf("err = %+v, want limit %v at %q (offset %d, name %v)", le, tt.limit, tt.pointer, tt.offset, tt.isName)
			}
			if tt.message != "" && !strings.Contains(err.Error(), tt.message) {
				t.Errorf("message %q, want it to contain %q", err, tt.message)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "é") {
				t.Errorf("message quotes the input: %q", err)
			}
			// Without limits, the input decodes or is the usual error.
			if _, err := plain.Decode([]byte(tt.in)); errors.As(err, new(*inlinehook.LimitError)) {
				t.Errorf("without limits: %v", err)
			}
		})
	}
	// Malformed JSON before the limit is the usual decode error.
	_, err := d.Decode([]byte(`{"x":,"` + secret + `"}`))
	var de *inlinehook.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("malformed then over a limit: err = %v, want a *DecodeError", err)
	}
	// Exactly at the limits is within them.
	at := `{"x":"` + strings.Repeat("a", 1024) + `","` + strings.Repeat("n", 1024) + `":[[[[[[1]]]]]]}`
	if _, err := d.Decode([]byte(at)); err != nil {
		t.Errorf("at the limits: %v", err)
	}
	// A long pointer is cut short: names are bounded by MaxStringBytes only.
	long := strings.Repeat("n", 1000)
	var le *inlinehook.LimitError
	_, err = d.Decode([]byte(`{"` + long + `":{"` + long + `":"` + secret + `"}}`))
	if !errors.As(err, &le) || len(le.Pointer) > 300 || !strings.HasSuffix(le.Pointer, "…") {
		t.Errorf("long pointer: %v", err)
	}
	// WithLimits leaves the decoder it is called on as it was.
	if _, err := plain.Decode([]byte(`{"x":"` + secret + `"}`)); err != nil {
		t.Errorf("the plain decoder: %v", err)
	}
}
