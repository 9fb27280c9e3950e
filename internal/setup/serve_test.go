package setup_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/certs/certstest"
	"github.com/tokenhook/tokenhook/internal/config"
	"github.com/tokenhook/tokenhook/internal/setup"
)

// serveListener runs setup.ServeListener on a loopback port with cfg and h
// until the test ends, and returns the address.
func serveListener(t *testing.T, cfg config.Config, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- setup.ServeListener(ctx, ln, cfg, h, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return ln.Addr().String()
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello over %s", r.Proto)
})

func TestServeListenerTLS(t *testing.T) {
	pair := certstest.New(t, 7, "tokenhook test")
	cfg := config.Default()
	cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile = pair.Write(t, t.TempDir())
	addr := serveListener(t, cfg, hello)
	get := func(maxVersion uint16) (*http.Response, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certstest.Pool(pair), MinVersion: tls.VersionTLS10, MaxVersion: maxVersion}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	resp, err := get(0)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].SerialNumber.Int64() != 7 {
		t.Errorf("HTTPS: %v, TLS %+v", resp.Status, resp.TLS)
	}
	if _, err := get(tls.VersionTLS12); err != nil {
		t.Errorf("TLS 1.2: %v", err)
	}
	if _, err := get(tls.VersionTLS11); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	// HTTP/2 is offered, and served.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certstest.Pool(pair)}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err = (&http.Client{Transport: tr}).Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(b) != "hello over HTTP/2.0" {
		t.Errorf("HTTP/2: %s %q", resp.Proto, b)
	}
	// Plain HTTP on the TLS port gets nowhere.
	if resp, err := http.Get("http://" + addr + "/"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP served on the TLS port")
	}
}

func TestServeListenerTLS13(t *testing.T) {
	pair := certstest.New(t, 1, "tokenhook test")
	cfg := config.Default()
	cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile = pair.Write(t, t.TempDir())
	cfg.Server.TLS.MinVersion = "1.3"
	addr := serveListener(t, cfg, hello)
	for _, tt := range []struct {
		max uint16
		ok  bool
	}{{tls.VersionTLS12, false}, {tls.VersionTLS13, true}} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: certstest.Pool(pair), MaxVersion: tt.max})
		if err == nil {
			conn.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("max version %x: err %v, want ok %v", tt.max, err, tt.ok)
		}
	}
}

func TestServeListenerBadCertificate(t *testing.T) {
	dir := t.TempDir()
	one, two := certstest.New(t, 1, "one"), certstest.New(t, 2, "two")
	cfg := config.Default()
	cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile = one.Write(t, dir)
	certstest.WriteFile(t, cfg.Server.TLS.KeyFile, two.KeyPEM)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = setup.ServeListener(t.Context(), ln, cfg, hello, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "server.tls") || !strings.Contains(err.Error(), cfg.Server.TLS.KeyFile) {
		t.Errorf("err = %v, want one naming server.tls and the files", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("listener not closed: %v", err)
	}
}

func TestServeListenerMaxHeaderBytes(t *testing.T) {
	cfg := config.Default()
	cfg.Server.MaxHeaderBytes = 8 << 10
	addr := serveListener(t, cfg, hello)
	for _, tt := range []struct {
		size   int
		status int
	}{{4 << 10, 200}, {32 << 10, 431}} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("h", tt.size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%d bytes of header: %d, want %d", tt.size, resp.StatusCode, tt.status)
		}
	}
}

func TestServeListenerMaxConnections(t *testing.T) {
	cfg := config.Default()
	cfg.Server.MaxConnections = 1
	addr := serveListener(t, cfg, hello)
	request := func(conn net.Conn) (string, error) {
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return "", err
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if body, err := request(first); err != nil || body != "hello over HTTP/1.1" {
		t.Fatalf("first connection: %q %v", body, err)
	}
	// The first is kept alive: the second waits to be accepted.
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if body, err := request(second); err == nil {
		t.Fatalf("second connection served while the first is open: %q", body)
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(second), nil)
	if err != nil {
		t.Fatalf("second connection after the first closed: %v", err)
	}
	resp.Body.Close()
}

// TestHookLimits runs the hook's limits through NewHook: the decoder's
// (413, 400), the rate (429) and the replay guard (409).
func TestHookLimits(t *testing.T) {
	cfg := envConfig(t, "TOKENHOOK_AUTH_BASIC_USERNAME=admin", "TOKENHOOK_AUTH_BASIC_PASSWORD=supersecret",
		"TOKENHOOK_STORE=memory:", "TOKENHOOK_LIMITS_MAX_STRING_BYTES=2048", "TOKENHOOK_LIMITS_MAX_JSON_DEPTH=10",
		"TOKENHOOK_LIMITS_RATE_PER_SOURCE=0.01", "TOKENHOOK_LIMITS_RATE_BURST=5", "TOKENHOOK_LIMITS_REPLAY_WINDOW=10m")
	hook := startHook(t, cfg)
	body := fixture(t)
	post := func(body string) int {
		req := httptest.NewRequest("POST", cfg.Server.Path, strings.NewReader(body))
		req.Header.Set("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		hook.ServeHTTP(w, req)
		return w.Code
	}
	withID := func(id string) string {
		return strings.Replace(body, `"eventId": "`, `"eventId": "`+id, 1)
	}
	for _, tt := range []struct {
		name   string
		body   string
		status int
	}{
		{"ok", withID("a"), 204}, // the memory store is empty
		{"replay", withID("a"), 409},
		{"long string", strings.Replace(withID("b"), "jessie.smith@example.com", strings.Repeat("j", 3000), 1), 413},
		{"deep", strings.Replace(withID("c"), `"data": {`, `"data": {"x":[[[[[[[[[[]]]]]]]]]],`, 1), 400},
		{"within the limits", strings.Replace(withID("d"), `"data": {`, `"data": {"x":[[[[[[["`+strings.Repeat("j", 2000)+`"]]]]]]],`, 1), 204},
		{"over the burst", withID("e"), 429},
	} {
		if got := post(tt.body); got != tt.status {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.status)
		}
	}
}
