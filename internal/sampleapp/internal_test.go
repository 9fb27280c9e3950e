package sampleapp

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestClaimRows(t *testing.T) {
	claims, err := decodeClaims([]byte(`{"sub":"00u1","patientId":"1235","exp":1700000000,"big":9007199254740993,
		"ok":true,"nothing":null,"groups":["a","<b>"],"addr":{"z":1,"a":"x"},"ratio":0.5,"updated_at":"not a number"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []claimRow{
		{Name: "addr", Value: "{\n  \"a\": \"x\",\n  \"z\": 1\n}", Structured: true},
		{Name: "big", Value: "9007199254740993"},
		{Name: "exp", Value: "1700000000", Note: "2023-11-14T22:13:20Z"},
		{Name: "groups", Value: "[\n  \"a\",\n  \"<b>\"\n]", Structured: true},
		{Name: "nothing", Value: "null"},
		{Name: "ok", Value: "true"},
		{Name: "patientId", Value: "1235"},
		{Name: "ratio", Value: "0.5"},
		{Name: "sub", Value: "00u1"},
		{Name: "updated_at", Value: "not a number"},
	}
	if diff := cmp.Diff(want, claimRows(claims)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`[]`, `"x"`, `null`, `{"a":1} {}`, `{`} {
		if _, err := decodeClaims([]byte(bad)); err == nil {
			t.Errorf("decodeClaims(%s) succeeded", bad)
		}
	}
}

func TestJWTClaims(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		token string
		ok    bool
	}{
		{enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"scp":["openid"]}`)) + ".sig", true},
		{enc([]byte(`{"alg":"RS256"}`)) + "." + base64.URLEncoding.EncodeToString([]byte(`{"a":"bc"}`)) + ".sig", true}, // padded
		{"opaque-token-value", false},
		{"a.b", false},
		{"a.!!!.c", false},
		{"a." + enc([]byte(`[1]`)) + ".c", false},
		{"a.b.c.d.e", false}, // JWE: not decoded
	}
	for _, tt := range tests {
		if _, ok := jwtClaims(tt.token); ok != tt.ok {
			t.Errorf("jwtClaims(%q) ok = %v, want %v", tt.token, ok, tt.ok)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/profile":             "/profile",
		"/profile?x=1":         "/profile?x=1",
		"":                     "/",
		"profile":              "/",
		"//evil.example/x":     "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"/a\r\nSet-Cookie: x":  "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAuthStyle(t *testing.T) {
	tests := []struct {
		methods []string
		want    oauth2.AuthStyle
	}{
		{nil, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_post", "client_secret_basic"}, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_post", "private_key_jwt"}, oauth2.AuthStyleInParams},
		{[]string{"private_key_jwt"}, oauth2.AuthStyleInHeader},
	}
	for _, tt := range tests {
		if got := authStyle(tt.methods); got != tt.want {
			t.Errorf("authStyle(%v) = %v, want %v", tt.methods, got, tt.want)
		}
	}
}

func TestEndSessionURL(t *testing.T) {
	got := endSessionURL("https://dev-1.okta.com/oauth2/default/v1/logout?x=1", "eyJ.a.b", "http://localhost:8080")
	want := "https://dev-1.okta.com/oauth2/default/v1/logout?id_token_hint=eyJ.a.b&post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A8080&x=1"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestSessionStore(t *testing.T) {
	now := time.Unix(1700000000, 0)
	st := newSessionStore(3, func() time.Time { return now })
	var ids []string
	for i := range 5 {
		ids = append(ids, st.add(&session{Name: fmt.Sprint(i)}, now.Add(time.Hour)))
	}
	if st.len() != 3 {
		t.Fatalf("len %d, want the bound 3", st.len())
	}
	for i, id := range ids {
		if got := st.get(id) != nil; got != (i >= 2) {
			t.Errorf("session %d present = %v: the oldest go first", i, got)
		}
	}
	st.delete(ids[4])
	if st.get(ids[4]) != nil {
		t.Error("deleted session still there")
	}
	// Expiry: a session past its time is gone, and expired ones make room
	// before live ones are evicted.
	short := st.add(&session{}, now.Add(time.Minute))
	now = now.Add(2 * time.Minute)
	if st.get(short) != nil {
		t.Error("expired session returned")
	}
	a := st.add(&session{}, now.Add(time.Hour))
	b := st.add(&session{}, now.Add(time.Hour))
	if st.get(ids[2]) != nil || st.get(ids[3]) == nil || st.get(a) == nil || st.get(b) == nil {
		t.Errorf("eviction order wrong: %d sessions", st.len())
	}
}

func TestSealing(t *testing.T) {
	now := time.Unix(1700000000, 0)
	a, err := New(t.Context(), Config{Issuer: "http://127.0.0.1:1", ClientID: "c", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	st := loginState{State: "s", Nonce: "n", Verifier: "v", Return: "/", Expires: now.Add(time.Minute)}
	sealed := a.seal(st)
	got, err := a.unseal(sealed)
	if err != nil || !got.Expires.Equal(st.Expires) || got.State != "s" || got.Verifier != "v" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	other, err := New(t.Context(), Config{Issuer: "http://127.0.0.1:1", ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.unseal(sealed); err == nil {
		t.Error("another process's key opened the cookie")
	}
	for _, bad := range []string{"", "!!", "AAAA", sealed[:len(sealed)-2]} {
		if _, err := a.unseal(bad); err == nil {
			t.Errorf("unseal(%q) succeeded", bad)
		}
	}
	now = now.Add(time.Minute)
	if _, err := a.unseal(sealed); err == nil || err.Error() != "expired" {
		t.Errorf("expired state: %v", err)
	}
}
