package oktaemu

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// minClientRSABits is the smallest RSA key a client may sign its client
// assertions with, as Okta requires.
const minClientRSABits = 2048

// clientKey is a public key a private_key_jwt client signs its client
// assertions with, and the one algorithm it is used with.
type clientKey struct {
	kid string
	alg jose.SignatureAlgorithm // RS256 for RSA, ES256 for EC P-256
	key crypto.PublicKey
}

// hasKeys reports whether the client is configured with public keys.
func (cl *Client) hasKeys() bool { return cl.JWKS != nil || cl.PublicKeyFile != "" }

// checkKeys reports every problem of the client's public keys, prefixed
// with the client's path p (clients[i]).
func (cl *Client) checkKeys(p string) []error {
	var errs []error
	if cl.JWKS != nil && cl.PublicKeyFile != "" {
		errs = append(errs, fmt.Errorf("%s: set jwks or publicKeyFile, not both", p))
	}
	_, keyErrs := cl.publicKeys()
	for _, err := range keyErrs {
		errs = append(errs, fmt.Errorf("%s.%w", p, err))
	}
	return errs
}

// publicKeys parses the client's jwks and publicKeyFile. Each error names
// the field (jwks.keys[1]: ..., publicKeyFile "x.pem": ...) and never
// quotes key material.
func (cl *Client) publicKeys() ([]clientKey, []error) {
	var keys []clientKey
	var errs []error
	if cl.JWKS != nil {
		k, e := parseInlineJWKS(cl.JWKS)
		keys, errs = append(keys, k...), append(errs, e...)
	}
	if cl.PublicKeyFile != "" {
		field := fmt.Sprintf("publicKeyFile %q", cl.PublicKeyFile)
		data, err := os.ReadFile(cl.PublicKeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, errors.Unwrap(err)))
		} else {
			k, e := parsePublicKeyData(field, data)
			keys, errs = append(keys, k...), append(errs, e...)
		}
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k.kid] {
			field := "jwks"
			if cl.JWKS == nil {
				field = "publicKeyFile"
			}
			errs = append(errs, fmt.Errorf("%s: kid %q is used by two keys", field, k.kid))
		}
		seen[k.kid] = true
	}
	return keys, errs
}

// parseInlineJWKS reads the jwks object of a client's configuration: public
// keys only, since the file is configuration, not a key store.
func parseInlineJWKS(set map[string]any) ([]clientKey, []error) {
	data, err := json.Marshal(set)
	if err != nil {
		return nil, []error{fmt.Errorf("jwks: not a JSON object: %w", err)}
	}
	return parseJWKS("jwks", data, false)
}

// parseJWKS reads a JSON Web Key Set, key by key, so that every bad key is
// reported. allowPrivate takes a private key's public half.
func parseJWKS(field string, data []byte, allowPrivate bool) ([]clientKey, []error) {
	var set struct {
		Keys []jsontext.Value `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, []error{fmt.Errorf("%s: not a JSON Web Key Set ({\"keys\": [...]})", field)}
	}
	if len(set.Keys) == 0 {
		return nil, []error{fmt.Errorf("%s: no keys", field)}
	}
	var keys []clientKey
	var errs []error
	for i, raw := range set.Keys {
		f := fmt.Sprintf("%s.keys[%d]", field, i)
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: not a valid JWK", f))
			continue
		}
		k, err := checkClientKey(jwk, allowPrivate)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		keys = append(keys, k)
	}
	return keys, errs
}

// parsePublicKeyData reads a public key file: PEM (PUBLIC KEY, RSA PUBLIC
// KEY, CERTIFICATE, or a private key whose public half is taken; every
// block), a JWK or a JWKS.
func parsePublicKeyData(field string, data []byte) ([]clientKey, []error) {
	if trimmed := bytes.TrimSpace(data); bytes.HasPrefix(trimmed, []byte("{")) {
		if bytes.Contains(trimmed, []byte(`"keys"`)) {
			return parseJWKS(field, trimmed, true)
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(trimmed); err != nil {
			return nil, []error{fmt.Errorf("%s: not a valid JWK or JWKS", field)}
		}
		k, err := checkClientKey(jwk, true)
		if err != nil {
			return nil, []error{fmt.Errorf("%s: %w", field, err)}
		}
		return []clientKey{k}, nil
	}
	var keys []clientKey
	var errs []error
	rest := data
	for i := 0; ; i++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		f := field
		if i > 0 || len(bytes.TrimSpace(rest)) > 0 {
			f = fmt.Sprintf("%s block %d", field, i+1)
		}
		pub, err := pemPublicKey(block)
		if err == nil {
			var k clientKey
			if k, err = checkClientKey(jose.JSONWebKey{Key: pub}, false); err == nil {
				keys = append(keys, k)
				continue
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", f, err))
	}
	if len(keys) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: neither a PEM file nor a JWK or JWKS", field))
	}
	return keys, errs
}

// pemPublicKey returns the public key of a PEM block.
func pemPublicKey(block *pem.Block) (crypto.PublicKey, error) {
	bad := fmt.Errorf("a %s block that does not parse", block.Type)
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, bad
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, bad
		}
		return k, nil
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, bad
		}
		return c.PublicKey, nil
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		var k any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			k, err = x509.ParseECPrivateKey(block.Bytes)
		}
		if err != nil {
			return nil, bad
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, errors.New("an unsupported private key type")
		}
		return s.Public(), nil
	}
	return nil, fmt.Errorf("a PEM block of type %q: want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
}

// checkClientKey accepts an RSA key of at least 2048 bits (RS256) or an EC
// P-256 key (ES256) for signatures, and gives it its kid (the RFC 7638
// thumbprint when it has none). A private key is refused unless
// allowPrivate, which takes its public half.
func checkClientKey(jwk jose.JSONWebKey, allowPrivate bool) (clientKey, error) {
	var pub crypto.PublicKey
	switch k := jwk.Key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
		pub = k
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
		if !allowPrivate {
			return clientKey{}, errors.New("a private key: give only the public key (leave out d, p, q, dp, dq, qi)")
		}
		pub = k.(crypto.Signer).Public()
	case []byte:
		return clientKey{}, errors.New("a symmetric (oct) key: want RSA (RS256) or EC P-256 (ES256)")
	default:
		return clientKey{}, errors.New("an unsupported key type: want RSA (RS256) or EC P-256 (ES256)")
	}
	var alg jose.SignatureAlgorithm
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < minClientRSABits {
			return clientKey{}, fmt.Errorf("an RSA key of %d bits: want at least %d", bits, minClientRSABits)
		}
		alg = jose.RS256
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return clientKey{}, fmt.Errorf("an EC key on %s: want P-256 (ES256)", k.Curve.Params().Name)
		}
		alg = jose.ES256
	default:
		return clientKey{}, errors.New("an unsupported key type: want RSA (RS256) or EC P-256 (ES256)")
	}
	if jwk.Use != "" && jwk.Use != "sig" {
		return clientKey{}, fmt.Errorf("use %q: want sig", jwk.Use)
	}
	if jwk.Algorithm != "" && jwk.Algorithm != string(alg) {
		return clientKey{}, fmt.Errorf("alg %q: this key signs %s", jwk.Algorithm, alg)
	}
	kid := jwk.KeyID
	if kid == "" {
		kid = thumbprint(pub)
	}
	if strings.TrimSpace(kid) == "" {
		return clientKey{}, errors.New("an empty kid")
	}
	return clientKey{kid: kid, alg: alg, key: pub}, nil
}
