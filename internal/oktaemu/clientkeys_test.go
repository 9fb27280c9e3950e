package oktaemu_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json/v2"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokenhook/tokenhook/internal/oktaemu"
)

// jwkJSON is a JWK as JSON (which is YAML too).
func jwkJSON(t *testing.T, k jose.JSONWebKey) string {
	t.Helper()
	data, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPrivateKeyJWTKeyFiles: every publicKeyFile format authenticates a
// client whose assertion is signed by the matching private key.
func TestPrivateKeyJWTKeyFiles(t *testing.T) {
	dir := t.TempDir()
	rk, ek := clientRSAKey(), clientECKey()
	spki, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	ecDER, _ := x509.MarshalECPrivateKey(ek)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ek.PublicKey, ek)
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name, path string
		key        crypto.Signer
	}{
		{"PEM PUBLIC KEY", writePEM(t, dir, "a.pem", "PUBLIC KEY", spki), rk},
		{"PEM RSA PUBLIC KEY", writePEM(t, dir, "b.pem", "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rk.PublicKey)), rk},
		{"PEM PRIVATE KEY", writePEM(t, dir, "c.pem", "PRIVATE KEY", pkcs8), rk},
		{"PEM EC PRIVATE KEY", writePEM(t, dir, "d.pem", "EC PRIVATE KEY", ecDER), ek},
		{"PEM CERTIFICATE", writePEM(t, dir, "e.pem", "CERTIFICATE", cert), ek},
		{"JWK public", writeFile(t, dir, "f.json", jwkJSON(t, jose.JSONWebKey{Key: &ek.PublicKey})), ek},
		{"JWK private", writeFile(t, dir, "g.json", jwkJSON(t, jose.JSONWebKey{Key: rk})), rk},
		{"JWKS", writeFile(t, dir, "h.json", `{"keys": [`+jwkJSON(t, jose.JSONWebKey{Key: &rk.PublicKey, Use: "sig"})+`]}`), rk},
	}
	cfg := testConfig(t)
	for i, f := range files {
		cfg.Clients = append(cfg.Clients, oktaemu.Client{ID: "file-" + string(rune('a'+i)), Type: oktaemu.ClientService, PublicKeyFile: f.path})
	}
	emu := newTestEmu(t, cfg, oktaemu.Options{})
	for i, f := range files {
		t.Run(f.name, func(t *testing.T) {
			id := "file-" + string(rune('a'+i))
			alg := jose.RS256
			if _, ok := f.key.(*ecdsa.PrivateKey); ok {
				alg = jose.ES256
			}
			a := signJWT(t, f.key, alg, "", assertionClaims(id, emu.Issuer+"/v1/token", time.Now()))
			if status, tok, _ := tokenRequest(t, emu, assertionForm(a), "", ""); status != http.StatusOK {
				t.Errorf("%d %+v", status, tok)
			}
		})
	}
}

// TestPrivateKeyJWTConfig: an inline jwks in YAML, the defaults a client
// with keys gets, and every problem of keys and key rotation at once.
func TestPrivateKeyJWTConfig(t *testing.T) {
	ek := clientECKey()
	ecPub := jwkJSON(t, jose.JSONWebKey{Key: &ek.PublicKey, KeyID: "ec1"})
	cfg, err := oktaemu.ParseConfig([]byte(`
scopes: [patients.read]
keyRotation: {every: 24h, keepPrevious: 2h}
clients:
  - id: jwt-yaml
    type: service
    scopes: [patients.read]
    jwks: {keys: [`+ecPub+`]}
  - id: jwt-web
    redirectUris: [http://app.test/cb]
    jwks:
      keys:
        - `+ecPub+`
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Clients[0]; c.TokenEndpointAuthMethod != oktaemu.AuthPrivateKeyJWT {
		t.Errorf("default method %q, want private_key_jwt", c.TokenEndpointAuthMethod)
	}
	if c := cfg.Clients[1]; c.Type != oktaemu.ClientWeb || c.TokenEndpointAuthMethod != oktaemu.AuthPrivateKeyJWT {
		t.Errorf("a client with a key and no secret: type %q, method %q; want web, private_key_jwt", c.Type, c.TokenEndpointAuthMethod)
	}
	if cfg.KeyRotation.Every != 24*time.Hour || cfg.KeyRotation.KeepPrevious != 2*time.Hour {
		t.Errorf("keyRotation %+v", cfg.KeyRotation)
	}
	emu := newTestEmu(t, cfg, oktaemu.Options{})
	a := signJWT(t, ek, jose.ES256, "ec1", assertionClaims("jwt-yaml", emu.Issuer+"/v1/token", time.Now()))
	if status, tok, _ := tokenRequest(t, emu, assertionForm(a), "", ""); status != http.StatusOK {
		t.Errorf("ES256 assertion with a YAML jwks: %d %+v", status, tok)
	}

	dir := t.TempDir()
	pubPEM := publicPEM(t, dir, clientRSAKey())
	garbage := writeFile(t, dir, "garbage.pem", "hello")
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ecWith := func(kid, use, alg string) string {
		return jwkJSON(t, jose.JSONWebKey{Key: &ek.PublicKey, KeyID: kid, Use: use, Algorithm: alg})
	}
	_, err = oktaemu.ParseConfig([]byte(`
keyRotation: {every: 10s, keepPrevious: -1s}
clients:
  - {id: a, type: service, jwks: {keys: [`+jwkJSON(t, jose.JSONWebKey{Key: ek, KeyID: "p"})+`]}}
  - {id: b, type: service, jwks: {keys: [`+jwkJSON(t, jose.JSONWebKey{Key: &small.PublicKey})+`]}}
  - {id: c, type: service, jwks: {keys: [`+jwkJSON(t, jose.JSONWebKey{Key: &p384.PublicKey})+`]}}
  - {id: d, type: service, jwks: {keys: [{kty: oct, k: c2VjcmV0c2VjcmV0}]}}
  - {id: e, type: service, jwks: {keys: [`+ecWith("e", "enc", "")+`]}}
  - {id: f, type: service, jwks: {keys: [`+ecWith("f", "", "RS256")+`]}}
  - {id: g, type: service, jwks: {keys: []}}
  - {id: h, type: service, jwks: {keys: [`+ecWith("x", "", "")+`, `+ecWith("x", "sig", "ES256")+`]}}
  - {id: i, type: service, jwks: {keys: [`+ecPub+`]}, publicKeyFile: `+pubPEM+`}
  - {id: j, type: service, tokenEndpointAuthMethod: private_key_jwt}
  - {id: k, type: service, secret: s, tokenEndpointAuthMethod: private_key_jwt, publicKeyFile: `+pubPEM+`}
  - {id: l, type: service, secret: s, publicKeyFile: `+pubPEM+`}
  - {id: m, type: service, publicKeyFile: `+filepath.Join(dir, "missing.pem")+`}
  - {id: n, type: service, publicKeyFile: `+garbage+`}
  - {id: o, type: spa, jwks: {keys: [`+ecPub+`]}, tokenEndpointAuthMethod: none}
  - {id: p, type: service, jwks: {keys: [{kty: RSA, n: AQAB}]}}
`), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"clients[0].jwks.keys[0]: a private key",
		"clients[1].jwks.keys[0]: an RSA key of 1024 bits",
		"clients[2].jwks.keys[0]: an EC key on P-384",
		"clients[3].jwks.keys[0]: a symmetric",
		`clients[4].jwks.keys[0]: use "enc"`,
		`clients[5].jwks.keys[0]: alg "RS256"`,
		"clients[6].jwks: no keys",
		`clients[7].jwks: kid "x" is used by two keys`,
		"clients[8]: set jwks or publicKeyFile, not both",
		"clients[9].tokenEndpointAuthMethod private_key_jwt: needs jwks or publicKeyFile",
		"clients[9]: a service client is confidential and needs a secret or a public key",
		"clients[10].tokenEndpointAuthMethod private_key_jwt: a client that authenticates with a key takes no secret",
		"clients[11]: jwks and publicKeyFile are for tokenEndpointAuthMethod private_key_jwt, not client_secret_basic",
		`clients[12].publicKeyFile "` + filepath.Join(dir, "missing.pem") + `": no such file`,
		`clients[13].publicKeyFile "` + garbage + `": neither a PEM file nor a JWK`,
		"clients[14].tokenEndpointAuthMethod none: a client with a secret or a public key must authenticate",
		"clients[15].jwks.keys[0]: not a valid JWK",
		"keyRotation.every 10s", "keyRotation.keepPrevious -1s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q", want)
		}
	}
	raw, bErr := ek.Bytes()
	if bErr != nil {
		t.Fatal(bErr)
	}
	if d := base64.RawURLEncoding.EncodeToString(raw); strings.Contains(err.Error(), d) {
		t.Error("an error quotes key material")
	}
	if t.Failed() {
		t.Log(err)
	}
}
