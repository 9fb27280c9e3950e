package hookcall

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json/v2"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// ReadPrivateKeyFile reads an RSA private key from a JWK (JSON) or PEM
// (PKCS#1 or PKCS#8) file, with the JWK's kid when it has one: the key a
// private_key_jwt hook signs its client assertion with, or the emulator's
// signing key.
func ReadPrivateKeyFile(path string) (*rsa.PrivateKey, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	return ParsePrivateKey(data)
}

// ParsePrivateKey parses what ReadPrivateKeyFile reads. Its errors never
// quote the data: it is a secret.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, string, error) {
	if trimmed := strings.TrimSpace(string(data)); strings.HasPrefix(trimmed, "{") {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(trimmed), &jwk); err != nil {
			return nil, "", fmt.Errorf("not a valid JWK: %w", err)
		}
		k, ok := jwk.Key.(*rsa.PrivateKey)
		if !ok {
			return nil, "", errors.New("the JWK is not an RSA private key")
		}
		return k, jwk.KeyID, nil
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, "", errors.New("neither a JWK nor a PEM file")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, "", nil
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, "", errors.New("the PEM block is not a PKCS#1 or PKCS#8 private key")
	}
	k, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, "", errors.New("not an RSA private key: tokens and client assertions are signed RS256")
	}
	return k, "", nil
}
