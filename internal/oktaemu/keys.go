package oktaemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

// signingKeyBits is the size of generated keys: what Okta uses.
const signingKeyBits = 2048

// loadOrCreateKey loads the key at path, or, when the file does not exist,
// generates one and writes it there with mode 0600: as a JWK when the name
// ends in .json or .jwk, as PKCS#8 PEM otherwise.
func loadOrCreateKey(path string) (*rsa.PrivateKey, string, error) {
	k, kid, err := hookcall.ReadPrivateKeyFile(path)
	if err == nil {
		return k, kid, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("key file %s: %w", path, err)
	}
	k, err = rsa.GenerateKey(rand.Reader, signingKeyBits)
	if err != nil {
		return nil, "", err
	}
	var data []byte
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".jwk":
		data, err = json.MarshalIndent(jose.JSONWebKey{Key: k, KeyID: keyID(k), Algorithm: string(jose.RS256), Use: "sig"}, "", "  ")
	default:
		var der []byte
		der, err = x509.MarshalPKCS8PrivateKey(k)
		data = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	if err != nil {
		return nil, "", err
	}
	// O_EXCL: never overwrite a key another process wrote meanwhile.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("key file %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, "", fmt.Errorf("key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, "", fmt.Errorf("key file %s: %w", path, err)
	}
	return k, "", nil
}

// keyID is the key's RFC 7638 thumbprint, base64url: stable for a key, so a
// restarted emulator with the same key file keeps its kid.
func keyID(k crypto.Signer) string { return thumbprint(k.Public()) }

// thumbprint is a public key's RFC 7638 SHA-256 thumbprint, base64url.
func thumbprint(pub crypto.PublicKey) string {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "key"
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// stableID returns a deterministic Okta-style id of n characters: prefix,
// then base62 digits derived from the seeds.
func stableID(prefix string, n int, seeds ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(seeds, "\x00")))
	v := new(big.Int).SetBytes(sum[:])
	base := big.NewInt(62)
	var b strings.Builder
	b.WriteString(prefix)
	var m big.Int
	for b.Len() < n {
		v.DivMod(v, base, &m)
		b.WriteByte(base62[m.Int64()])
	}
	return b.String()
}

// randomID returns a random Okta-style id of n characters after prefix.
func randomID(prefix string, n int) string {
	var s strings.Builder
	s.WriteString(prefix)
	b := make([]byte, 32)
	for s.Len() < n {
		_, _ = rand.Read(b)
		for _, c := range b {
			// 248 = 4×62: dropping larger bytes keeps every digit equally likely.
			if c < 248 && s.Len() < n {
				s.WriteByte(base62[int(c)%len(base62)])
			}
		}
	}
	return s.String()
}

// randomToken returns n random bytes, base64url without padding: codes,
// refresh tokens, cookie values, event ids.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
