package hookcall_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

func TestHookValidate(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "Basic c2VjcmV0LXZhbHVl"
	tests := []struct {
		name string
		hook hookcall.Hook
		want []string // the error's lines, in order; nil: valid
	}{
		{name: "https", hook: hookcall.Hook{URL: "https://hooks.example.com/tokenHook"}},
		{name: "http to loopback with AllowHTTP", hook: hookcall.Hook{URL: "http://127.0.0.1:8082/tokenHook", AllowHTTP: true}},
		{name: "http to localhost with AllowHTTP", hook: hookcall.Hook{URL: "http://localhost:8082/", AllowHTTP: true}},
		{name: "http to ::1 with AllowHTTP", hook: hookcall.Hook{URL: "http://[::1]:8082/", AllowHTTP: true}},
		{name: "http anywhere with AllowHTTPAnyHost", hook: hookcall.Hook{URL: "http://hook:8082/", AllowHTTP: true, AllowHTTPAnyHost: true}},
		{
			name: "header auth and custom headers",
			hook: hookcall.Hook{
				URL:     "https://hooks.example.com/tokenHook",
				Headers: []hookcall.Header{{Name: "X-Tenant", Value: "acme"}},
				Auth:    hookcall.Auth{Header: &hookcall.Header{Name: "Authorization", Value: secret}},
				Timeout: time.Second,
			},
		},
		{
			name: "oauth client_secret_post",
			hook: hookcall.Hook{URL: "https://h.example.com/", Auth: hookcall.Auth{OAuth: &hookcall.OAuth{
				AuthType: hookcall.ClientSecretPost, TokenURL: "https://org.okta.com/oauth2/default/v1/token",
				ClientID: "0oa1", ClientSecret: "s",
			}}},
		},
		{
			name: "oauth private_key_jwt",
			hook: hookcall.Hook{URL: "https://h.example.com/", Auth: hookcall.Auth{OAuth: &hookcall.OAuth{
				AuthType: hookcall.PrivateKeyJWT, TokenURL: "https://org.okta.com/oauth2/default/v1/token",
				ClientID: "0oa1", Key: rsaKey, KeyID: "k1",
			}}},
		},
		{name: "no URL", hook: hookcall.Hook{}, want: []string{"URL is required"}},
		{name: "relative URL", hook: hookcall.Hook{URL: "/tokenHook"}, want: []string{"URL must be absolute (https://host/path)"}},
		{name: "http without AllowHTTP", hook: hookcall.Hook{URL: "http://127.0.0.1/"}, want: []string{"URL must use https, as Okta requires"}},
		{
			name: "http to a remote host with AllowHTTP",
			hook: hookcall.Hook{URL: "http://hooks.example.com/", AllowHTTP: true},
			want: []string{"URL: http:// is allowed to a loopback host only (localhost, 127.0.0.1, ::1); use https"},
		},
		{name: "ftp", hook: hookcall.Hook{URL: "ftp://hooks.example.com/"}, want: []string{"URL must use https, not ftp"}},
		{
			name: "too long and whitespace",
			hook: hookcall.Hook{URL: "https://hooks.example.com/" + strings.Repeat("a", 1000) + " b"},
			want: []string{"URL is 1028 characters long, more than 1024", "URL contains whitespace"},
		},
		{
			name: "credentials in the URL",
			hook: hookcall.Hook{URL: "https://admin:pw@hooks.example.com/"},
			want: []string{"URL must not carry credentials (user:password@); use the authentication scheme"},
		},
		{
			name: "bad and reserved headers",
			hook: hookcall.Hook{URL: "https://h.example.com/", Headers: []hookcall.Header{
				{Name: "Accept", Value: "text/plain"},
				{Name: "content-type", Value: "text/plain"},
				{Name: "Bad Name", Value: "x"},
				{Name: "", Value: "x"},
				{Name: "Host", Value: "x"},
				{Name: "X-Ok", Value: "line\nbreak"},
				{Name: "Authorization", Value: "x"},
			}, Auth: hookcall.Auth{Header: &hookcall.Header{Name: "authorization", Value: secret}}},
			want: []string{
				"Headers[0]: Accept is reserved by Okta",
				"Headers[1]: Content-Type is reserved by Okta",
				`Headers[2]: header name "Bad Name" is not a valid HTTP token`,
				"Headers[3]: header name is required",
				"Headers[4]: Host is set by HTTP",
				"Headers[5] (X-Ok): the value contains a control character",
				"Headers[6]: Authorization is set by the authentication scheme",
			},
		},
		{
			name: "two auth schemes, negative timeout",
			hook: hookcall.Hook{URL: "https://h.example.com/", Timeout: -time.Second, Auth: hookcall.Auth{
				Header: &hookcall.Header{Name: "Authorization", Value: secret},
				OAuth:  &hookcall.OAuth{},
			}},
			want: []string{"Auth: set one scheme, Header or OAuth, not both", "Timeout: must not be negative (zero means 3s)"},
		},
		{
			name: "header scheme without value, reserved name",
			hook: hookcall.Hook{URL: "https://h.example.com/", Auth: hookcall.Auth{Header: &hookcall.Header{Name: "Content-Type"}}},
			want: []string{"Auth.Header: Content-Type is reserved by Okta", "Auth.Header: the value (the secret) is required"},
		},
		{
			name: "oauth with nothing",
			hook: hookcall.Hook{URL: "https://h.example.com/", Auth: hookcall.Auth{OAuth: &hookcall.OAuth{}}},
			want: []string{
				"Auth.OAuth.TokenURL is required",
				"Auth.OAuth: ClientID is required",
				"Auth.OAuth: AuthType is required: client_secret_post or private_key_jwt",
			},
		},
		{
			name: "oauth missing secret, relative token URL",
			hook: hookcall.Hook{URL: "https://h.example.com/", Auth: hookcall.Auth{OAuth: &hookcall.OAuth{
				AuthType: hookcall.ClientSecretPost, TokenURL: "/v1/token", ClientID: "0oa1",
			}}},
			want: []string{
				"Auth.OAuth.TokenURL must be absolute (https://host/path)",
				"Auth.OAuth: ClientSecret is required for client_secret_post",
			},
		},
		{
			name: "oauth private_key_jwt without key; http token URL",
			hook: hookcall.Hook{URL: "https://h.example.com/", Auth: hookcall.Auth{OAuth: &hookcall.OAuth{
				AuthType: hookcall.PrivateKeyJWT, TokenURL: "http://org.okta.com/v1/token", ClientID: "0oa1",
			}}},
			want: []string{
				"Auth.OAuth.TokenURL must use https, as Okta requires",
				"Auth.OAuth: Key is required for private_key_jwt",
			},
		},
		{
			name: "oauth private_key_jwt with an EC key",
			hook: hookcall.Hook{URL: "https://h.example.com/", Auth: hookcall.Auth{OAuth: &hookcall.OAuth{
				AuthType: hookcall.PrivateKeyJWT, TokenURL: "https://org.okta.com/v1/token", ClientID: "0oa1", Key: ecKey,
			}}},
			want: []string{"Auth.OAuth: Key must be an RSA key: the client assertion is signed RS256"},
		},
		{
			name: "oauth unknown authType",
			hook: hookcall.Hook{URL: "https://h.example.com/", Auth: hookcall.Auth{OAuth: &hookcall.OAuth{
				AuthType: "client_secret_basic", TokenURL: "https://org.okta.com/v1/token", ClientID: "0oa1",
			}}},
			want: []string{`Auth.OAuth: AuthType "client_secret_basic" is not client_secret_post or private_key_jwt`},
		},
		{
			name: "unknown reserved table",
			hook: hookcall.Hook{URL: "https://h.example.com/", Rules: inlinehook.Rules{ReservedClaims: 7}},
			want: []string{"Rules.ReservedClaims: unknown table 7"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.hook.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
				if strings.Contains(err.Error(), "c2VjcmV0LXZhbHVl") {
					t.Errorf("error quotes the secret: %v", err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "app.localhost": true, "127.0.0.1": true,
		"127.1.2.3": true, "::1": true, "localhost.": true,
		"example.com": false, "10.0.0.1": false, "localhost.example.com": false, "": false, "0.0.0.0": false,
	} {
		if got := hookcall.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
