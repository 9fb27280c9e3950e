package tokenhook_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/inlinehook"
	"github.com/tokenhook/tokenhook/internal/tokenhook"
	"github.com/tokenhook/tokenhook/internal/user"
)

// finder is a UserFinder over a map; err, when set, fails every lookup.
type finder struct {
	users map[string]map[string]any
	err   error
	keys  []string // keys looked up, in order
}

var _ tokenhook.UserFinder = (*finder)(nil)

func (f *finder) Get(_ context.Context, key string) (*user.User, error) {
	f.keys = append(f.keys, key)
	if f.err != nil {
		return nil, f.err
	}
	attrs, ok := f.users[key]
	if !ok {
		return nil, fmt.Errorf("finder: %w", user.ErrNotFound)
	}
	return &user.User{Key: key, Attributes: attrs}, nil
}

func mustKeys(t *testing.T, sources ...string) []tokenhook.LookupKey {
	t.Helper()
	var keys []tokenhook.LookupKey
	for _, s := range sources {
		k, err := tokenhook.ParseLookupKey(s)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

// request builds a token request for login with the tokens asked for.
func request(login, preferredUsername string, identity, access bool) *inlinehook.TokenRequest {
	r := &inlinehook.TokenRequest{EventID: "ev1"}
	if login != "" {
		r.Data.Context.User = &inlinehook.User{ID: "00u1", Profile: inlinehook.Profile{Login: login}}
	}
	if identity {
		r.Data.Identity = &inlinehook.Token{Claims: inlinehook.Claims{"sub": "00u1"}}
		if preferredUsername != "" {
			r.Data.Identity.Claims["preferred_username"] = preferredUsername
		}
	}
	if access {
		r.Data.Access = &inlinehook.Token{Claims: inlinehook.Claims{"sub": login}}
	}
	return r
}

func TestMapperTransform(t *testing.T) {
	users := map[string]map[string]any{
		"jessie.smith@example.com": {"patientId": "1235", "clinic": "North", "tags": []any{"a", "b"}},
		"kim.sato@example.com":     {"clinic": "South"}, // no patientId
		"00u-client":               {"patientId": "svc"},
	}
	defaultKeys := []string{"data.context.user.profile.login", "data.identity.claims.preferred_username"}
	patient := []tokenhook.Mapping{{Claim: "patientId", Attribute: "patientId", Tokens: tokenhook.IDToken}}
	tests := []struct {
		name     string
		keys     []string
		mappings []tokenhook.Mapping
		req      *inlinehook.TokenRequest
		want     *inlinehook.Response
	}{
		{
			name: "patient found: patientId in the ID token", keys: defaultKeys, mappings: patient,
			req:  request("jessie.smith@example.com", "", true, true),
			want: &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity(inlinehook.AddClaim("patientId", "1235"))}},
		},
		{
			name: "no user in context: falls back to preferred_username", keys: defaultKeys, mappings: patient,
			req:  request("", "jessie.smith@example.com", true, false),
			want: &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity(inlinehook.AddClaim("patientId", "1235"))}},
		},
		{name: "user not in the store", keys: defaultKeys, mappings: patient, req: request("nobody@example.com", "", true, true)},
		{name: "user without the attribute", keys: defaultKeys, mappings: patient, req: request("kim.sato@example.com", "", true, true)},
		// Client credentials: no user, no ID token, so there is no key.
		{name: "no user at all", keys: defaultKeys, mappings: patient, req: request("", "", false, true)},
		// The ID token is not minted: writing it would make Okta discard the answer.
		{name: "ID claim but no ID token", keys: defaultKeys, mappings: patient, req: request("jessie.smith@example.com", "", false, true)},
		{
			name: "both tokens, several claims, any JSON value", keys: defaultKeys,
			mappings: []tokenhook.Mapping{
				{Claim: "patientId", Attribute: "patientId", Tokens: tokenhook.IDToken},
				{Claim: "clinic", Attribute: "clinic", Tokens: tokenhook.BothTokens},
				{Claim: "https://example.com/tags", Attribute: "tags", Tokens: tokenhook.AccessToken},
			},
			req: request("jessie.smith@example.com", "", true, true),
			want: &inlinehook.Response{Commands: []inlinehook.Command{
				inlinehook.PatchIdentity(inlinehook.AddClaim("patientId", "1235"), inlinehook.AddClaim("clinic", "North")),
				inlinehook.PatchAccess(inlinehook.AddClaim("clinic", "North"),
					inlinehook.Operation{Op: "add", Path: "/claims/https:~1~1example.com~1tags", Value: []any{"a", "b"}}),
			}},
		},
		{
			name: "client id as the key", keys: []string{"data.context.protocol.client.id"},
			mappings: []tokenhook.Mapping{{Claim: "patientId", Attribute: "patientId", Tokens: tokenhook.AccessToken}},
			req: func() *inlinehook.TokenRequest {
				r := request("", "", false, true)
				r.Data.Context.Protocol = &inlinehook.Protocol{Client: &inlinehook.Client{ID: "00u-client"}}
				return r
			}(),
			want: &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchAccess(inlinehook.AddClaim("patientId", "svc"))}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tokenhook.NewMapper(&finder{users: users}, mustKeys(t, tt.keys...), tt.mappings)
			got, err := m.Transform(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if !got.IsEmpty() {
					t.Fatalf("Transform = %+v, want nothing to do", got)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if v := inlinehook.Validate(tt.req, got); len(v) > 0 {
				t.Errorf("Okta would reject the answer: %v", v)
			}
		})
	}
}

func TestMapperStoreFailure(t *testing.T) {
	boom := errors.New("database is locked")
	m := tokenhook.NewMapper(&finder{err: boom}, mustKeys(t, "data.context.user.profile.login"),
		[]tokenhook.Mapping{{Claim: "patientId", Attribute: "patientId", Tokens: tokenhook.IDToken}})
	_, err := m.Transform(context.Background(), request("jessie.smith@example.com", "", true, false))
	if !errors.Is(err, boom) {
		t.Fatalf("Transform error = %v, want the store's", err)
	}
}

func TestLookupKeyOrder(t *testing.T) {
	f := &finder{users: map[string]map[string]any{}}
	m := tokenhook.NewMapper(f, mustKeys(t, "data.context.user.profile.login", "data.identity.claims.preferred_username"), nil)
	_, _ = m.Transform(context.Background(), request("login@example.com", "preferred@example.com", true, false))
	if diff := cmp.Diff([]string{"login@example.com"}, f.keys); diff != "" {
		t.Errorf("keys looked up (-want +got):\n%s", diff)
	}
}

func TestParseLookupKey(t *testing.T) {
	r := request("jessie.smith@example.com", "pu@example.com", true, true)
	r.Data.Context.Session = &inlinehook.Session{Login: "session@example.com"}
	r.Data.Access.Claims["uid"] = "00u1"
	for source, want := range map[string]string{
		"data.context.user.profile.login":         "jessie.smith@example.com",
		"data.context.user.id":                    "00u1",
		"data.context.session.login":              "session@example.com",
		"data.context.protocol.client.id":         "",
		"data.identity.claims.preferred_username": "pu@example.com",
		"data.access.claims.uid":                  "00u1",
		"data.access.claims.missing":              "",
	} {
		k, err := tokenhook.ParseLookupKey(source)
		if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		if got := k.Value(r); got != want {
			t.Errorf("%s = %q, want %q", source, got, want)
		}
		if got := k.Value(&inlinehook.TokenRequest{}); got != "" {
			t.Errorf("%s on an empty request = %q", source, got)
		}
	}
	for _, bad := range []string{"", "data.user", "data.identity.claims.", "context.user.profile.login"} {
		if _, err := tokenhook.ParseLookupKey(bad); err == nil {
			t.Errorf("ParseLookupKey(%q) = nil error", bad)
		}
	}
}

func TestClaimNames(t *testing.T) {
	resp := &inlinehook.Response{Commands: []inlinehook.Command{
		inlinehook.PatchIdentity(inlinehook.AddClaim("patientId", "1235")),
		inlinehook.PatchAccess(inlinehook.RemoveClaim("x"), inlinehook.SetLifetime(600)),
	}}
	want := []string{"id:add:patientId", "access:remove:x", "access:replace:/token/lifetime/expiration"}
	if diff := cmp.Diff(want, tokenhook.ClaimNames(resp)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func BenchmarkMapperTransform(b *testing.B) {
	f := &finder{users: map[string]map[string]any{"jessie.smith@example.com": {"patientId": "1235"}}}
	keys, _ := tokenhook.ParseLookupKey("data.context.user.profile.login")
	m := tokenhook.NewMapper(f, []tokenhook.LookupKey{keys},
		[]tokenhook.Mapping{{Claim: "patientId", Attribute: "patientId", Tokens: tokenhook.IDToken}})
	req := request("jessie.smith@example.com", "", true, true)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f.keys = f.keys[:0]
		if _, err := m.Transform(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMapperPartialDecodeAgrees pins that the mapper answers a request it
// decoded in part exactly as it answers the fully decoded one, for every
// grant type and lookup source, so skipping parts never changes a token.
func TestMapperPartialDecodeAgrees(t *testing.T) {
	users := &finder{users: map[string]map[string]any{
		"jessie.smith@example.com": {"patientId": "1235"},
		"00utFG1RUHAOKErY3BVH":     {"patientId": "by-id"},
		"0oaY3ahE825uDNBoisiL":     {"patientId": "service"},
	}}
	mappings := []tokenhook.Mapping{
		{Claim: "patientId", Attribute: "patientId", Tokens: tokenhook.BothTokens},
	}
	sources := [][]string{
		{"data.context.user.profile.login", "data.identity.claims.preferred_username"},
		{"data.context.user.id"}, {"data.context.session.login"}, {"data.context.protocol.client.id"},
		{"data.access.claims.sub"}, {"data.access.claims.uid"},
	}
	dir := filepath.Join("..", "..", "inlinehook", "testdata", "requests")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	answered := 0
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		full, err := inlinehook.DecodeTokenRequest(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range sources {
			m := tokenhook.NewMapper(users, mustKeys(t, src...), mappings)
			part, err := m.DecodeRequest(body)
			if err != nil {
				t.Fatalf("%s %v: %v", file, src, err)
			}
			want, err1 := m.Transform(context.Background(), full)
			got, err2 := m.Transform(context.Background(), part)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %v: partial decode changes the answer (-full +partial):\n%s", filepath.Base(file), src, diff)
			}
			if !want.IsEmpty() {
				answered++
			}
			if want != nil {
				if a, b := inlinehook.Prune(full, cloneResponse(want)), inlinehook.Prune(part, cloneResponse(got)); len(a) != len(b) {
					t.Errorf("%s %v: the guard judges differently: %v vs %v", filepath.Base(file), src, a, b)
				}
			}
		}
	}
}

func cloneResponse(r *inlinehook.Response) *inlinehook.Response {
	c := *r
	c.Commands = append([]inlinehook.Command(nil), r.Commands...)
	return &c
}
