package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/certs"
	"github.com/tokenhook/tokenhook/internal/certs/certstest"
	"github.com/tokenhook/tokenhook/internal/logtest"
)

// clock is a clock the test moves.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// serve writes p to dir and returns a Reloader of its files.
func serve(t *testing.T, p certstest.Pair, dir string) (*certs.Reloader, *clock, *logtest.Buffer) {
	t.Helper()
	certFile, keyFile := p.Write(t, dir)
	return newReloader(t, certFile, keyFile)
}

func newReloader(t *testing.T, certFile, keyFile string) (*certs.Reloader, *clock, *logtest.Buffer) {
	t.Helper()
	var c clock
	c.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	var logs logtest.Buffer
	r, err := certs.New(certs.Config{CertFile: certFile, KeyFile: keyFile, CheckInterval: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return r, &c, &logs
}

// handshake runs a TLS handshake between a server with cfg and a client
// trusting pool, limited to maxVersion (0: Go's default), and returns the
// certificate the server presented.
func handshake(t *testing.T, cfg *tls.Config, pool *x509.CertPool, maxVersion uint16) (*x509.Certificate, error) {
	t.Helper()
	// Over loopback TCP, not net.Pipe: in TLS 1.3 both ends write at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		sc, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer sc.Close()
		errc <- tls.Server(sc, cfg).Handshake()
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := tls.Client(cc, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: maxVersion})
	err = client.Handshake()
	cc.Close()
	<-errc
	if err != nil {
		return nil, err
	}
	return client.ConnectionState().PeerCertificates[0], nil
}

func TestHandshake(t *testing.T) {
	p := certstest.New(t, 1, "one")
	r, _, _ := serve(t, p, t.TempDir())
	pool := certstest.Pool(p)
	got, err := handshake(t, r.TLSConfig(tls.VersionTLS12), pool, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.SerialNumber.Int64() != 1 {
		t.Errorf("served serial %v, want 1", got.SerialNumber)
	}
	if _, err := handshake(t, r.TLSConfig(tls.VersionTLS12), pool, tls.VersionTLS12); err != nil {
		t.Errorf("TLS 1.2 with min_version 1.2: %v", err)
	}
	// Go's default cipher suites: none configured.
	if cfg := r.TLSConfig(tls.VersionTLS12); cfg.CipherSuites != nil || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLS config = %+v", cfg)
	}
}

func TestOldVersionsRefused(t *testing.T) {
	p := certstest.New(t, 1, "one")
	r, _, _ := serve(t, p, t.TempDir())
	pool := certstest.Pool(p)
	if _, err := handshake(t, r.TLSConfig(tls.VersionTLS12), pool, tls.VersionTLS11); err == nil {
		t.Error("TLS 1.1 accepted")
	}
	if _, err := handshake(t, r.TLSConfig(tls.VersionTLS13), pool, tls.VersionTLS12); err == nil {
		t.Error("TLS 1.2 accepted with min_version 1.3")
	}
	if _, err := handshake(t, r.TLSConfig(tls.VersionTLS13), pool, 0); err != nil {
		t.Errorf("TLS 1.3: %v", err)
	}
}

func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	one, two, three := certstest.New(t, 1, "one"), certstest.New(t, 2, "two"), certstest.New(t, 3, "three")
	r, clk, logs := serve(t, one, dir)
	cfg, pool := r.TLSConfig(tls.VersionTLS12), certstest.Pool(one, two, three)
	serial := func() int64 {
		t.Helper()
		c, err := handshake(t, cfg, pool, 0)
		if err != nil {
			t.Fatal(err)
		}
		return c.SerialNumber.Int64()
	}
	two.Write(t, dir)
	if got := serial(); got != 1 {
		t.Errorf("before the check interval: serial %d, want the old 1", got)
	}
	clk.advance(2 * time.Second)
	if got := serial(); got != 2 {
		t.Errorf("after the interval: serial %d, want the new 2", got)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") || !strings.Contains(logs.String(), "CN=two") {
		t.Errorf("log:\n%s", logs)
	}
	// Unchanged files are not loaded again.
	before := logs.String()
	clk.advance(10 * time.Second)
	if got := serial(); got != 2 || logs.String() != before {
		t.Errorf("unchanged files: serial %d, log grew:\n%s", got, logs)
	}
	// A file rewritten in place (same inode) with another time is seen too.
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		name string
		data []byte
	}{{certFile, three.CertPEM}, {keyFile, three.KeyPEM}} {
		if err := os.WriteFile(f.name, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(f.name, later, later); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(2 * time.Second)
	if got := serial(); got != 3 {
		t.Errorf("rewritten in place: serial %d, want 3", got)
	}
}

func TestBadReplacementKeepsOld(t *testing.T) {
	dir := t.TempDir()
	one, two := certstest.New(t, 1, "one"), certstest.New(t, 2, "two")
	certFile, keyFile := one.Write(t, dir)
	r, clk, logs := newReloader(t, certFile, keyFile)
	served := func() int64 {
		t.Helper()
		c, err := r.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil || c == nil {
			t.Fatalf("GetCertificate: %v, %v", c, err)
		}
		return c.Leaf.SerialNumber.Int64()
	}
	for _, bad := range []struct {
		name   string
		write  func()
		reason string
	}{
		{"key of another pair", func() { certstest.WriteFile(t, certFile, two.CertPEM) }, "private key does not match"},
		{"garbage", func() { certstest.WriteFile(t, keyFile, []byte("not PEM")) }, "key"},
		{"missing", func() {
			if err := os.Remove(certFile); err != nil {
				t.Fatal(err)
			}
		}, "no such file"},
	} {
		before := len(logs.String())
		bad.write()
		clk.advance(2 * time.Second)
		if got := served(); got != 1 {
			t.Fatalf("%s: serial %d, want the old 1", bad.name, got)
		}
		logged := logs.String()[before:]
		if !strings.Contains(logged, "level=WARN") || !strings.Contains(logged, "cert_file="+certFile) ||
			!strings.Contains(logged, "key_file="+keyFile) || !strings.Contains(logged, bad.reason) {
			t.Errorf("%s: log %q, want a warning naming the files and %q", bad.name, logged, bad.reason)
		}
		// Logged once, not at every check.
		clk.advance(2 * time.Second)
		served()
		if again := logs.String()[before:]; again != logged {
			t.Errorf("%s: logged again: %q", bad.name, again)
		}
		if strings.Contains(logs.String(), string(one.KeyPEM[30:60])) {
			t.Fatal("the log quotes the key")
		}
	}
	// Fixed: the new pair is served.
	two.Write(t, dir)
	clk.advance(2 * time.Second)
	if got := served(); got != 2 {
		t.Errorf("fixed: serial %d, want 2", got)
	}
}

func TestNewRefusesBadPair(t *testing.T) {
	dir := t.TempDir()
	one, two := certstest.New(t, 1, "one"), certstest.New(t, 2, "two")
	certFile, keyFile := one.Write(t, dir)
	certstest.WriteFile(t, keyFile, two.KeyPEM)
	_, err := certs.New(certs.Config{CertFile: certFile, KeyFile: keyFile})
	if err == nil || !strings.Contains(err.Error(), certFile) || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("mismatched pair: err = %v, want one naming both files", err)
	}
	if _, err := certs.New(certs.Config{CertFile: filepath.Join(dir, "nope.pem"), KeyFile: keyFile}); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := certs.New(certs.Config{CertFile: certFile}); err == nil {
		t.Error("no key file accepted")
	}
}

// TestConcurrentHandshakes runs handshakes while the files change, for the
// race detector: every handshake gets one of the pairs, whole.
func TestConcurrentHandshakes(t *testing.T) {
	dir := t.TempDir()
	pairs := []certstest.Pair{certstest.New(t, 1, "one"), certstest.New(t, 2, "two")}
	r, clk, _ := serve(t, pairs[0], dir)
	cfg, pool := r.TLSConfig(tls.VersionTLS12), certstest.Pool(pairs...)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				clk.advance(time.Second)
				if _, err := handshake(t, cfg, pool, 0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 10 {
		pairs[i%2].Write(t, dir)
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
}
