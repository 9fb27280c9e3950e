package inlinehooktest_test

import (
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/inlinehook/inlinehooktest"
)

var update = flag.Bool("update", false, "rewrite ../testdata/requests/<grant>.json from NewRequest")

func fixturePath(g inlinehooktest.GrantType) string {
	return filepath.Join("..", "testdata", "requests", string(g)+".json")
}

// TestNewRequestMatchesFixtures pins the builder to the request fixtures the
// inlinehook package tests: with no options, NewRequest(grant) is the
// fixture, value for value.
func TestNewRequestMatchesFixtures(t *testing.T) {
	for _, g := range inlinehooktest.Grants() {
		t.Run(string(g), func(t *testing.T) {
			req := inlinehooktest.NewRequest(g)
			if *update {
				b, err := json.Marshal(req, json.Deterministic(true), jsontext.WithIndent("  "))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(fixturePath(g), append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(fixturePath(g))
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, inlinehooktest.MustJSON(t, req), want)
		})
	}
}

func assertJSONEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs:\n got: %s\nwant: %s", got, want)
	}
}

// TestShapes pins what each grant carries, per the contract's §2.7.
func TestShapes(t *testing.T) {
	tests := []struct {
		grant                           inlinehooktest.GrantType
		opts                            []inlinehooktest.Option
		identity, access, refresh       bool
		user, session, originalGrant    bool
		method, grantType, responseType string
	}{
		{grant: inlinehooktest.AuthorizationCode, identity: true, access: true, user: true, session: true, method: "GET", responseType: "code"},
		{grant: inlinehooktest.Implicit, identity: true, access: true, user: true, session: true, method: "GET", responseType: "token id_token"},
		{grant: inlinehooktest.Implicit, opts: []inlinehooktest.Option{inlinehooktest.WithoutIdentity()}, access: true, user: true, session: true, method: "GET", responseType: "token"},
		{grant: inlinehooktest.Implicit, opts: []inlinehooktest.Option{inlinehooktest.WithoutAccess()}, identity: true, user: true, session: true, method: "GET", responseType: "id_token"},
		{grant: inlinehooktest.AuthorizationCode, opts: []inlinehooktest.Option{inlinehooktest.WithScopes("email", "patients.read")}, access: true, user: true, session: true, method: "GET", responseType: "code"},
		{grant: inlinehooktest.AuthorizationCode, opts: []inlinehooktest.Option{inlinehooktest.WithScopes("openid", "offline_access")}, identity: true, access: true, refresh: true, user: true, session: true, method: "GET", responseType: "code"},
		{grant: inlinehooktest.RefreshToken, identity: true, access: true, refresh: true, user: true, originalGrant: true, method: "POST", grantType: "refresh_token"},
		{grant: inlinehooktest.ClientCredentials, access: true, method: "POST", grantType: "client_credentials"},
		{grant: inlinehooktest.Password, identity: true, access: true, refresh: true, user: true, method: "POST", grantType: "password"},
		{grant: inlinehooktest.Password, opts: []inlinehooktest.Option{inlinehooktest.WithScopes("openid")}, identity: true, access: true, user: true, method: "POST", grantType: "password"},
	}
	for _, tt := range tests {
		req := inlinehooktest.NewRequest(tt.grant, tt.opts...)
		d := req.Data
		name := string(tt.grant)
		check := func(what string, got, want bool) {
			t.Helper()
			if got != want {
				t.Errorf("%s %v: %s present = %v, want %v", name, tt.opts != nil, what, got, want)
			}
		}
		check("identity", d.Identity != nil, tt.identity)
		check("access", d.Access != nil, tt.access)
		check("refresh_token", d.RefreshToken != nil, tt.refresh)
		check("user", d.Context.User != nil, tt.user)
		check("session", d.Context.Session != nil, tt.session)
		check("OriginalGrant", d.Context.Protocol.OriginalGrant != nil, tt.originalGrant)
		if got := d.Context.Request.Method; got != tt.method {
			t.Errorf("%s: method %q, want %q", name, got, tt.method)
		}
		if got := req.GrantType(); got != tt.grantType {
			t.Errorf("%s: grant_type %q, want %q", name, got, tt.grantType)
		}
		if got := d.Context.Protocol.Request.ResponseType; got != tt.responseType {
			t.Errorf("%s: response_type %q, want %q", name, got, tt.responseType)
		}
		if tt.grant == inlinehooktest.ClientCredentials {
			if _, ok := d.Access.Claims["uid"]; ok {
				t.Errorf("client_credentials: access token has uid")
			}
			if d.Access.Claims["sub"] != req.ClientID() {
				t.Errorf("client_credentials: sub = %v, want the client id %q", d.Access.Claims["sub"], req.ClientID())
			}
			if req.Login() != "" {
				t.Errorf("client_credentials: Login() = %q, want none", req.Login())
			}
		} else if req.Login() != inlinehooktest.DefaultLogin {
			t.Errorf("%s: Login() = %q", name, req.Login())
		}
		if tt.grant == inlinehooktest.RefreshToken {
			og := d.Context.Protocol.OriginalGrant
			if og.RefreshToken == nil || og.RefreshToken.JTI != d.RefreshToken.JTI {
				t.Errorf("refresh_token: OriginalGrant.refresh_token.jti does not match data.refresh_token.jti")
			}
		}
	}
}

func TestOptions(t *testing.T) {
	req := inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode,
		inlinehooktest.WithLogin("kim.sato@example.com"),
		inlinehooktest.WithClaims(inlinehook.Claims{"locale": "en-US"}, inlinehook.Claims{"patient": map[string]any{"id": "6789"}}),
		inlinehooktest.WithClient("0oaKimClient", "Kim's app"),
		inlinehooktest.WithIssuer("https://acme.okta.com/oauth2/aus1"),
		inlinehooktest.WithLifetimes(600, 900),
		inlinehooktest.WithRefreshToken("oarFixedJti"),
	)
	if got := req.Login(); got != "kim.sato@example.com" {
		t.Errorf("Login() = %q", got)
	}
	if got := req.Data.Context.User.Profile.FirstName + " " + req.Data.Context.User.Profile.LastName; got != "Kim Sato" {
		t.Errorf("names = %q", got)
	}
	if req.Data.Identity.Claims["locale"] != "en-US" || req.Data.Identity.Claims["name"] != "Kim Sato" {
		t.Errorf("identity claims = %v", req.Data.Identity.Claims)
	}
	if req.ClientID() != "0oaKimClient" || req.Data.Identity.Claims["aud"] != "0oaKimClient" {
		t.Errorf("client id not applied")
	}
	if req.Source != "https://acme.okta.com/oauth2/aus1/v1/authorize" || req.Data.Access.Claims["iss"] != "https://acme.okta.com/oauth2/aus1" {
		t.Errorf("issuer not applied: %q", req.Source)
	}
	if req.Data.Identity.Token.Lifetime.Expiration != 600 || req.Data.Access.Token.Lifetime.Expiration != 900 {
		t.Errorf("lifetimes not applied")
	}
	if req.Data.RefreshToken == nil || req.Data.RefreshToken.JTI != "oarFixedJti" {
		t.Errorf("refresh token not applied")
	}
	// Deterministic: the same options build the same request.
	a := inlinehooktest.MustJSON(t, inlinehooktest.NewRequest(inlinehooktest.Password))
	b := inlinehooktest.MustJSON(t, inlinehooktest.NewRequest(inlinehooktest.Password))
	if string(a) != string(b) {
		t.Errorf("NewRequest is not deterministic")
	}
}

// TestRequestsWithRealisticResponses runs every built request through the
// package's rules with the responses a hook would typically send.
func TestRequestsWithRealisticResponses(t *testing.T) {
	for _, g := range inlinehooktest.Grants() {
		t.Run(string(g), func(t *testing.T) {
			req := inlinehooktest.NewRequest(g, inlinehooktest.WithClaims(
				inlinehook.Claims{"preferred_airports": []any{"sjc", "sfo"}},
				inlinehook.Claims{"employee_profile": map[string]any{"employee_id": "1234"}}))

			// Its JSON decodes back to the same request.
			b := inlinehooktest.MustJSON(t, req)
			back, err := inlinehook.DecodeTokenRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, inlinehooktest.MustJSON(t, back), b)

			var resp inlinehook.Response
			if req.Data.Identity != nil {
				resp.Commands = append(resp.Commands, inlinehook.PatchIdentity(
					inlinehook.AddClaim("extPatientId", "1235"),
					inlinehook.Add(inlinehook.ClaimPath("preferred_airports", "-"), "oak"),
					inlinehook.SetLifetime(900),
				))
			}
			if req.Data.Access != nil {
				resp.Commands = append(resp.Commands, inlinehook.PatchAccess(
					inlinehook.AddClaim("https://example.com/patient", map[string]any{"id": "1235"}),
					inlinehook.Add(inlinehook.ClaimPath("employee_profile", "department_id"), "4947"),
					inlinehook.ReplaceClaim("sub", "patient-1235"),
				))
			}
			if vs := inlinehook.Validate(req, &resp); vs != nil {
				t.Fatalf("Validate: %v", vs)
			}
			res, err := inlinehook.Apply(req, &resp)
			if err != nil {
				t.Fatal(err)
			}
			if req.Data.Identity != nil && res.Identity.Lifetime != 900 {
				t.Errorf("identity lifetime = %d", res.Identity.Lifetime)
			}
			if req.Data.Access != nil && res.Access.Claims["sub"] != "patient-1235" {
				t.Errorf("access sub = %v", res.Access.Claims["sub"])
			}

			// A reserved claim is refused in every grant's tokens.
			bad := &inlinehook.Response{Commands: []inlinehook.Command{
				inlinehook.PatchAccess(inlinehook.ReplaceClaim("iss", "https://evil.example")),
			}}
			if vs := inlinehook.Validate(req, bad); len(vs) != 1 || vs[0].Reason != inlinehook.ReasonReservedClaim {
				t.Errorf("reserved iss: %v", vs)
			}
		})
	}
}

func TestNewHTTPRequest(t *testing.T) {
	var got *inlinehook.TokenRequest
	h := inlinehook.HandlerFunc(func(_ context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		got = req
		return nil, nil
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, inlinehooktest.NewHTTPRequest(t, "/tokenHook", inlinehooktest.NewRequest(inlinehooktest.Implicit)))
	if w.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got == nil || got.Login() != inlinehooktest.DefaultLogin {
		t.Fatalf("handler got %+v", got)
	}
}

func TestNewRequestPanicsOnUnknownGrant(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	inlinehooktest.NewRequest("urn:ietf:params:oauth:grant-type:device_code")
}
