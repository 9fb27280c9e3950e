package setup_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/setup"
	"github.com/tokenhook/tokenhook/internal/user"
)

func TestOpenStore(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"memory:", "sqlite::memory:", "sqlite:" + filepath.Join(t.TempDir(), "t.db")} {
		s, err := setup.OpenStore(ctx, dsn)
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if err := s.Put(ctx, &user.User{Key: "a@example.com"}); err != nil {
			t.Errorf("%s: put: %v", dsn, err)
		}
		s.Close()
	}
	for _, dsn := range []string{"", "sqlite:", "postgres://localhost/x", "tokenhook.db", "mysql:x"} {
		if _, err := setup.OpenStore(ctx, dsn); err == nil {
			t.Errorf("OpenStore(%q) = nil error", dsn)
		}
	}
}

func TestReserved(t *testing.T) {
	for _, tc := range []struct {
		token, claim string
		want         bool
	}{
		{"id", "iss", true}, {"access", "iss", true},
		{"id", "sub", true}, {"access", "sub", false}, // sub and aud are writable in access tokens only
		{"id", "aud", true}, {"access", "aud", false},
		{"id", "patientId", false}, {"access", "groups", true},
	} {
		if got := setup.Reserved(tc.token, tc.claim); got != tc.want {
			t.Errorf("Reserved(%s, %s) = %v, want %v", tc.token, tc.claim, got, tc.want)
		}
	}
}

func TestAuthenticator(t *testing.T) {
	auth, generated, err := setup.Authenticator(config.Auth{})
	if err != nil || len(generated) < 40 {
		t.Fatalf("no secret configured: generated %q, %v", generated, err)
	}
	_, again, _ := setup.Authenticator(config.Auth{})
	if again == generated {
		t.Fatal("generated secrets repeat")
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set(setup.GeneratedSecretHeader, generated)
	if err := auth.Authenticate(r); err != nil {
		t.Errorf("generated secret refused: %v", err)
	}
	if _, _, err := setup.Authenticator(config.Auth{Require: true}); err == nil {
		t.Error("require without a secret: want an error")
	}
	auth, generated, err = setup.Authenticator(config.Auth{
		Header: config.HeaderAuth{Name: "X-Secret", Values: []string{"header-secret-0123456789"}},
		Basic:  config.BasicAuth{Username: "admin", Password: "supersecret"},
	})
	if err != nil || generated != "" {
		t.Fatal(generated, err)
	}
	for _, h := range [][2]string{{"X-Secret", "header-secret-0123456789"}, {"Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ="}} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set(h[0], h[1])
		if err := auth.Authenticate(r); err != nil {
			t.Errorf("%s refused: %v", h[0], err)
		}
	}
}

// newHandler wires the real handler over a SQLite file holding n users, the
// guide's three patients among them.
func newHandler(tb testing.TB, n int) http.Handler {
	tb.Helper()
	ctx := context.Background()
	store, err := setup.OpenStore(ctx, "sqlite:"+filepath.Join(tb.TempDir(), "tokenhook.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	users := []user.User{{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235"}}}
	for i := range n - 1 {
		users = append(users, user.User{Key: fmt.Sprintf("user%07d@example.com", i), Attributes: map[string]any{"patientId": fmt.Sprint(i)}})
	}
	if err := store.Import(ctx, users, user.ImportOptions{}); err != nil {
		tb.Fatal(err)
	}
	cfg, err := setup.LoadConfig("", []string{"TOKENHOOK_AUTH_BASIC_USERNAME=admin", "TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	auth, _, err := setup.Authenticator(cfg.Auth)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := setup.Transformer(cfg.Claims, store)
	if err != nil {
		tb.Fatal(err)
	}
	return setup.Handler(cfg, auth, tr, setup.NewLogger(discard{}, cfg.Log))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func fixture(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("../../inlinehook/testdata/requests/authorization_code.json")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestHandlerWiring(t *testing.T) {
	h := newHandler(t, 10)
	req := httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(fixture(t)))
	req.Header.Set("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"value":"1235"`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// BenchmarkHandler measures the whole hook path in-process — auth, decode,
// SQLite lookup, mapping, guard, encode — without sockets.
func BenchmarkHandler(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("sqlite_%d_users", n), func(b *testing.B) {
			h := newHandler(b, n)
			body := fixture(b)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req := httptest.NewRequest("POST", "/hooks/okta/token", strings.NewReader(body))
				req.Header.Set("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
