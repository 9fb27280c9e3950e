package oktaemu_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/inlinehook/inlinehooktest"
	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

func TestBuildPreviewRequest(t *testing.T) {
	cfg := oktaemu.DefaultConfig()
	web := inlinehooktest.WithClient(oktaemu.DemoClientID, "tokenhook sample app")
	for _, tc := range []struct {
		spec oktaemu.PreviewSpec
		want *inlinehooktestRequest
	}{
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "authorization_code"},
			req(inlinehooktest.AuthorizationCode, web)},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "implicit"},
			req(inlinehooktest.Implicit, web)},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "password"},
			req(inlinehooktest.Password, web)},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "refresh_token"},
			req(inlinehooktest.RefreshToken, web)},
		{oktaemu.PreviewSpec{Client: oktaemu.DemoServiceClientID, GrantType: "client_credentials"},
			req(inlinehooktest.ClientCredentials)},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "implicit", ResponseType: "token"},
			req(inlinehooktest.Implicit, web, inlinehooktest.WithoutIdentity())},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "authorization_code", Scopes: []string{"profile"}},
			req(inlinehooktest.AuthorizationCode, web, inlinehooktest.WithScopes("profile"), inlinehooktest.WithoutIdentity())},
	} {
		name := tc.spec.GrantType + " " + tc.spec.ResponseType + " " + strings.Join(tc.spec.Scopes, " ")
		t.Run(name, func(t *testing.T) {
			got, err := oktaemu.BuildPreviewRequest(cfg, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(shape(t, inlinehooktest.NewRequest(tc.want.grant, tc.want.opts...)), shape(t, got)); diff != "" {
				t.Errorf("shape (-inlinehooktest +preview):\n%s", diff)
			}
			if !strings.HasPrefix(got.Source, "http://127.0.0.1:8081/oauth2/default/v1/") || len(got.EventID) != 22 {
				t.Errorf("source %q eventId %q", got.Source, got.EventID)
			}
		})
	}
}

type inlinehooktestRequest struct {
	grant inlinehooktest.GrantType
	opts  []inlinehooktest.Option
}

func req(g inlinehooktest.GrantType, opts ...inlinehooktest.Option) *inlinehooktestRequest {
	return &inlinehooktestRequest{g, opts}
}

func TestBuildPreviewRequestErrors(t *testing.T) {
	cfg := oktaemu.DefaultConfig()
	for _, tc := range []struct {
		spec oktaemu.PreviewSpec
		want string
	}{
		{oktaemu.PreviewSpec{User: jessie, Client: "nope", GrantType: "password"}, "unknown client"},
		{oktaemu.PreviewSpec{User: "nobody", Client: oktaemu.DemoClientID, GrantType: "password"}, "unknown user"},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "device_code"}, "grant type"},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoServiceClientID, GrantType: "password"}, "may not use"},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "password", Scopes: []string{"admin"}}, "not configured"},
		{oktaemu.PreviewSpec{Client: oktaemu.DemoServiceClientID, GrantType: "client_credentials", Scopes: []string{"openid"}}, "OpenID"},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "authorization_code", ResponseType: "token"}, "does not fit"},
		{oktaemu.PreviewSpec{User: jessie, Client: oktaemu.DemoClientID, GrantType: "refresh_token", Scopes: []string{"openid"}}, "offline_access"},
	} {
		if _, err := oktaemu.BuildPreviewRequest(cfg, tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.want)
		}
	}
	// The builder fills defaults on its own copy.
	bare := &oktaemu.Config{
		Users:   []oktaemu.User{{Login: jessie, Password: "x"}},
		Clients: []oktaemu.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://localhost/cb"}}},
	}
	if _, err := oktaemu.BuildPreviewRequest(bare, oktaemu.PreviewSpec{User: jessie, Client: "c", GrantType: "authorization_code"}); err != nil {
		t.Fatal(err)
	}
	if bare.Users[0].ID != "" || bare.Clients[0].Type != "" {
		t.Error("BuildPreviewRequest changed the caller's configuration")
	}
}
