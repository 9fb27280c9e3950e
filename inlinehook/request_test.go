package inlinehook_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// TestRequestFixturesRoundTrip: every fixture survives decode→encode as the
// same JSON, unknown members included (the types must never drop what Okta
// adds later).
func TestRequestFixturesRoundTrip(t *testing.T) {
	for _, name := range requestFixtures {
		t.Run(name, func(t *testing.T) {
			in := mustReadFile(t, "requests", name+".json")
			req, err := inlinehook.DecodeTokenRequest(in)
			if err != nil {
				t.Fatal(err)
			}
			out := mustJSON(t, req)
			if !jsonEqual(t, in, out) {
				t.Errorf("round trip changed the request:\n in: %s\nout: %s", in, out)
			}
			if strings.Contains(string(out), `"Unknown"`) {
				t.Errorf("an Unknown field was encoded as a member: %s", out)
			}
		})
	}
}

// TestUnknownMembersKept pins where unknown members land: in the Unknown
// field of the struct that holds them.
func TestUnknownMembersKept(t *testing.T) {
	req := mustRequest(t, "unknown_members")
	checks := []struct {
		name string
		raw  []byte
		want string
	}{
		{"top level", req.Unknown, `"requestType"`},
		{"data", req.Data.Unknown, `"hookVersion"`},
		{"context", req.Data.Context.Unknown, `"device"`},
		{"request", req.Data.Context.Request.Unknown, `"userAgent"`},
		{"url", req.Data.Context.Request.URL.Unknown, `"parsed"`},
		{"protocol request", req.Data.Context.Protocol.Request.Unknown, `"acr_values"`},
		{"profile", req.Data.Context.User.Profile.Unknown, `"patientPortalEnabled"`},
		{"lifetime", req.Data.Identity.Token.Lifetime.Unknown, `"notBefore"`},
		{"scope", req.Data.Access.Scopes["email"].Unknown, `"consent"`},
		{"refresh token", req.Data.RefreshToken.Unknown, `"rotated"`},
	}
	for _, c := range checks {
		if !strings.Contains(string(c.raw), c.want) {
			t.Errorf("%s: Unknown = %s, want it to hold %s", c.name, c.raw, c.want)
		}
	}
}

func TestRequestAccessors(t *testing.T) {
	tests := []struct {
		fixture, login, grant, client string
	}{
		{"authorization_code", "jessie.smith@example.com", "", "0oaM6R6xXt2VmqnkFFCp"},
		{"implicit", "jessie.smith@example.com", "", "0oaHhAxukbuQyr6ln5rA"},
		{"refresh_token", "jessie.smith@example.com", "refresh_token", "0oaM6R6xXt2VmqnkFFCp"},
		{"password", "jessie.smith@example.com", "password", "0oaM6R6xXt2VmqnkFFCp"},
		{"client_credentials", "", "client_credentials", "0oaY3ahE825uDNBoisiL"},
	}
	for _, tt := range tests {
		req := mustRequest(t, tt.fixture)
		if got := req.Login(); got != tt.login {
			t.Errorf("%s: Login() = %q, want %q", tt.fixture, got, tt.login)
		}
		if got := req.GrantType(); got != tt.grant {
			t.Errorf("%s: GrantType() = %q, want %q", tt.fixture, got, tt.grant)
		}
		if got := req.ClientID(); got != tt.client {
			t.Errorf("%s: ClientID() = %q, want %q", tt.fixture, got, tt.client)
		}
	}

	// Login falls back to the ID token's preferred_username without a user.
	req := mustRequest(t, "authorization_code")
	req.Data.Context.User = nil
	if got := req.Login(); got != "jessie.smith@example.com" {
		t.Errorf("Login() without user = %q", got)
	}
	// And the client id to the protocol request's.
	req.Data.Context.Protocol.Client = nil
	if got := req.ClientID(); got != "0oaM6R6xXt2VmqnkFFCp" {
		t.Errorf("ClientID() without client = %q", got)
	}
	var empty inlinehook.TokenRequest
	if empty.Login() != "" || empty.GrantType() != "" || empty.ClientID() != "" {
		t.Error("accessors of an empty request are not empty")
	}
}

func TestDecodeTokenRequestErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "unexpected EOF"},
		{"null", `null`, "not a JSON object"},
		{"array", `[]`, "unexpected JSON array, want an object"},
		{"syntax", `{"data":}`, "missing value after object name"},
		{"wrong type", `{"data":{"identity":{"claims":[]}}}`, "unexpected JSON array at /data/identity/claims, want an object (line 1, column 31)"},
		// A value of the wrong type is described, never quoted: it may be personal data.
		{"wrong type, value not quoted", `{"data":{"context":{"user":{"profile":{"login":1234567}}}}}`, "unexpected JSON number at /data/context/user/profile/login, want a string"},
		{"duplicate name", `{"eventId":"a","eventId":"b"}`, "duplicate object member name"},
		{"trailing data", `{} {}`, "after top-level value"},
		{"invalid UTF-8", "{\"eventId\":\"\xff\"}", "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inlinehook.DecodeTokenRequest([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "1234567") {
				t.Errorf("err = %v quotes a request value", err)
			}
			var de *inlinehook.DecodeError
			if !errors.As(err, &de) || de.Line < 1 || de.Column < 1 {
				t.Errorf("err = %#v, want a *DecodeError with a position", err)
			}
		})
	}
}
