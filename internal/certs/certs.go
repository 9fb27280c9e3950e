// Package certs serves a TLS certificate and its key from two PEM files, and
// serves a renewed pair without a restart.
//
// A [Reloader] is a tls.Config's GetCertificate: on a handshake, at most
// once every CheckInterval, it looks at the two files (identity,
// modification time and size) and loads them again if either changed. A
// new pair that does not load — a key that does not match, a file half
// written, a file missing — is logged as a warning naming the files, and the
// pair loaded before is served until the files are fixed. No goroutine
// watches the files; a server with no handshakes does no work.
//
// Replace the files by renaming new ones over them (as certbot's symlinks
// and Kubernetes secret volumes do), or write the certificate and then the
// key: a pair caught half way fails to load, and the next check sees the
// rest.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckInterval is how often, at most, a Reloader looks at its files.
const DefaultCheckInterval = 5 * time.Second

// Config configures a [Reloader]. CertFile and KeyFile are required.
type Config struct {
	// CertFile holds the certificate chain, leaf first; KeyFile its
	// private key. Both PEM, as tls.LoadX509KeyPair reads them.
	CertFile, KeyFile string
	// CheckInterval is the least time between two looks at the files
	// (DefaultCheckInterval).
	CheckInterval time.Duration
	// Logger hears of reloads (info) and of pairs that fail to load
	// (warn); nil discards.
	Logger *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Reloader serves the certificate of Config's files, reloading them when
// they change. It is safe for concurrent use.
type Reloader struct {
	cfg   Config
	start time.Time // of the clock that next counts from

	cert atomic.Pointer[tls.Certificate]
	next atomic.Int64 // time of the next check, since start

	mu                sync.Mutex  // held by the one check at a time
	certStat, keyStat os.FileInfo // the files as last loaded or tried; nil: missing
}

// New loads the pair and returns a Reloader serving it. It fails if the
// pair does not load: a server must not start without its certificate.
func New(cfg Config) (*Reloader, error) {
	if cfg.CertFile == "" || cfg.KeyFile == "" {
		return nil, errors.New("certs: a certificate file and a key file are required")
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = DefaultCheckInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Reloader{cfg: cfg, start: cfg.Now()}
	r.certStat, r.keyStat = stat(cfg.CertFile), stat(cfg.KeyFile)
	pair, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cert.Store(pair)
	r.next.Store(int64(cfg.CheckInterval))
	return r, nil
}

// TLSConfig returns a server configuration that serves r's certificate,
// with minVersion (tls.VersionTLS12 or tls.VersionTLS13) and Go's default
// cipher suites, offering HTTP/2 and HTTP/1.1.
func (r *Reloader) TLSConfig(minVersion uint16) *tls.Config {
	return &tls.Config{
		MinVersion:     minVersion,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}

// GetCertificate returns the certificate to serve, first reloading the
// files if they changed and the last check is CheckInterval old. A
// handshake that comes while another checks serves the current one rather
// than wait.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if now := int64(r.cfg.Now().Sub(r.start)); now >= r.next.Load() && r.mu.TryLock() {
		if now >= r.next.Load() {
			r.next.Store(now + int64(r.cfg.CheckInterval))
			r.check()
		}
		r.mu.Unlock()
	}
	return r.cert.Load(), nil
}

// check reloads the pair if either file changed since the last check. r.mu
// is held.
func (r *Reloader) check() {
	cs, ks := stat(r.cfg.CertFile), stat(r.cfg.KeyFile)
	if same(cs, r.certStat) && same(ks, r.keyStat) {
		return
	}
	r.certStat, r.keyStat = cs, ks // tried once per change: a broken pair is logged once
	pair, err := r.load()
	if err != nil {
		r.cfg.Logger.Warn("TLS certificate not reloaded; serving the one loaded before",
			"cert_file", r.cfg.CertFile, "key_file", r.cfg.KeyFile, "error", err.Error())
		return
	}
	r.cert.Store(pair)
	r.cfg.Logger.Info("TLS certificate reloaded", "cert_file", r.cfg.CertFile, "key_file", r.cfg.KeyFile,
		"subject", pair.Leaf.Subject.String(), "not_after", pair.Leaf.NotAfter)
}

// load reads and checks the pair.
func (r *Reloader) load() (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(r.cfg.CertFile, r.cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("certs: load %s and %s: %w", r.cfg.CertFile, r.cfg.KeyFile, err)
	}
	if pair.Leaf == nil { // LoadX509KeyPair parses it unless GODEBUG x509keypairleaf=0
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certs: parse %s: %w", r.cfg.CertFile, err)
		}
	}
	return &pair, nil
}

// stat returns the file's information, nil if it cannot be read.
func stat(name string) os.FileInfo {
	fi, err := os.Stat(name)
	if err != nil {
		return nil
	}
	return fi
}

// same reports whether a and b describe the same file unchanged: the same
// file (device and inode, so a file renamed over it is a change), with the
// same modification time and size.
func same(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}
