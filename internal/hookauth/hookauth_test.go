package hookauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/internal/hookauth"
)

// guideBasic is the header value of Okta's token hook guide: admin:supersecret.
const guideBasic = "Basic YWRtaW46c3VwZXJzZWNyZXQ="

func request(headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/okta/token", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func TestAuthenticators(t *testing.T) {
	header := hookauth.NewHeaderSecret("x-okta-secret", "current-secret-0123456789", "previous-secret-0123456789")
	basic := hookauth.NewBasic("admin", "supersecret")
	tests := []struct {
		name   string
		auth   hookauth.Authenticator
		req    *http.Request
		ok     bool
		reason string // part of the logged reason
	}{
		{"header current secret", header, request("X-Okta-Secret", "current-secret-0123456789"), true, ""},
		// Rotation: the old secret keeps working until it is removed.
		{"header previous secret", header, request("X-Okta-Secret", "previous-secret-0123456789"), true, ""},
		{"header name is case-insensitive", header, request("x-OKTA-secret", "current-secret-0123456789"), true, ""},
		{"header missing", header, request(), false, "missing"},
		{"header empty", header, request("X-Okta-Secret", ""), false, "empty"},
		{"header wrong", header, request("X-Okta-Secret", "current-secret-012345678"), false, "wrong"},
		// Secrets are case-sensitive even though header names are not.
		{"header wrong case", header, request("X-Okta-Secret", "CURRENT-SECRET-0123456789"), false, "wrong"},
		{"header prefix of secret", header, request("X-Okta-Secret", "current"), false, "wrong"},
		{"header repeated", header, request("X-Okta-Secret", "current-secret-0123456789", "X-Okta-Secret", "x"), false, "repeated"},
		{"basic guide credentials", basic, request("Authorization", guideBasic), true, ""},
		{"basic scheme case-insensitive", basic, request("Authorization", "basic YWRtaW46c3VwZXJzZWNyZXQ="), true, ""},
		{"basic missing", basic, request(), false, "missing"},
		{"basic bearer instead", basic, request("Authorization", "Bearer abc"), false, "not Basic"},
		{"basic bad base64", basic, request("Authorization", "Basic !!!notbase64"), false, "bad base64"},
		{"basic no colon", basic, request("Authorization", "Basic YWRtaW4="), false, "no colon"},
		{"basic wrong password", basic, request("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXU="), false, "wrong"},
		{"basic wrong user", basic, request("Authorization", "Basic cm9vdDpzdXBlcnNlY3JldA=="), false, "wrong"},
		{"basic empty", basic, request("Authorization", ""), false, "not Basic"},
		{"any of: second accepts", hookauth.AnyOf{header, basic}, request("Authorization", guideBasic), true, ""},
		{"any of: none accepts, first reason", hookauth.AnyOf{header, basic}, request(), false, "X-Okta-Secret"},
		{"any of: empty accepts nothing", hookauth.AnyOf{}, request("Authorization", guideBasic), false, "no authentication"},
		// The reason is the one of the scheme the request uses, not a
		// "missing header" from the first authenticator.
		{"any of: the used scheme's reason", hookauth.AnyOf{header, basic}, request("Authorization", "Basic YWRtaW46eA=="), false, "wrong Basic credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.auth.Authenticate(tt.req)
			if tt.ok {
				if err != nil {
					t.Fatalf("Authenticate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, hookauth.ErrUnauthorized) {
				t.Fatalf("Authenticate = %v, want ErrUnauthorized", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("reason %q does not mention %q", err, tt.reason)
			}
			for _, secret := range []string{"current-secret", "previous-secret", "supersecret", "YWRtaW46"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("reason %q leaks a secret", err)
				}
			}
		})
	}
}

func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{guideBasic, "Basic", "Basic ", "basic YWRtaW4=", "Bearer x", "Basic ====", "Basic YTpiOmM="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		user, password, err := hookauth.ParseBasic(header)
		if err != nil {
			if !errors.Is(err, hookauth.ErrUnauthorized) {
				t.Fatalf("error %v does not wrap ErrUnauthorized", err)
			}
			return
		}
		if strings.Contains(user, ":") {
			t.Fatalf("user %q contains a colon", user)
		}
		_ = password
	})
}

func BenchmarkBasic(b *testing.B) {
	auth := hookauth.NewBasic("admin", "supersecret")
	r := request("Authorization", guideBasic)
	b.ReportAllocs()
	for b.Loop() {
		if err := auth.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
