package oktaemu

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// MaxPreviousKeys is how many rotated-out signing keys /v1/keys publishes
// at most besides the current one. A rotation beyond it drops the oldest,
// even if tokens it signed are still valid.
const MaxPreviousKeys = 3

// signingKey is one of the server's RSA signing keys.
type signingKey struct {
	key    *rsa.PrivateKey
	kid    string
	signer jose.Signer
	since  time.Time // when it started signing
	// Set once the key is rotated out, under the ring's lock:
	retired time.Time
	// lastExp is the latest exp of the tokens it signed.
	lastExp time.Time
}

func newSigningKey(k *rsa.PrivateKey, kid string, since time.Time) (*signingKey, error) {
	if kid == "" {
		kid = keyID(k)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return &signingKey{key: k, kid: kid, signer: signer, since: since}, nil
}

// keyRing is the current signing key and the rotated-out ones still
// published. Safe for concurrent use.
type keyRing struct {
	mu       sync.Mutex
	current  *signingKey
	previous []*signingKey // newest first, at most MaxPreviousKeys
	// keep is how long a rotated-out key stays published at least.
	keep time.Duration
}

// forSigning returns the current key, noting that it signs a token valid
// until exp, so the key stays published at least that long once rotated
// out.
func (r *keyRing) forSigning(exp time.Time) *signingKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.current
	if exp.After(k.lastExp) {
		k.lastExp = exp
	}
	return k
}

// due reports whether the current key has signed for every or longer.
func (r *keyRing) due(now time.Time, every time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !now.Before(r.current.since.Add(every))
}

// postpone restarts the current key's period (after a failed rotation,
// so it is not retried on every request).
func (r *keyRing) postpone(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current.since = now
}

// install makes k the current key; the old one is kept as the newest
// previous key.
func (r *keyRing) install(k *signingKey, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune(now)
	if k.kid == r.current.kid {
		return errors.New("the new key is the current one")
	}
	for _, p := range r.previous {
		if p.kid == k.kid {
			return errors.New("the new key was used before")
		}
	}
	old := r.current
	old.retired = now
	r.previous = append([]*signingKey{old}, r.previous...)
	if len(r.previous) > MaxPreviousKeys {
		clear(r.previous[MaxPreviousKeys:])
		r.previous = r.previous[:MaxPreviousKeys]
	}
	k.since = now
	r.current = k
	return nil
}

// prune drops the previous keys no longer needed: every token they signed
// has expired and keep has passed since they were rotated out. Called with
// mu held.
func (r *keyRing) prune(now time.Time) {
	kept := r.previous[:0]
	for _, k := range r.previous {
		until := k.retired.Add(r.keep)
		if k.lastExp.After(until) {
			until = k.lastExp
		}
		if now.Before(until) {
			kept = append(kept, k)
		}
	}
	clear(r.previous[len(kept):])
	r.previous = kept
}

// published returns the keys /v1/keys lists: the current one first, then
// the previous ones still kept, newest first.
func (r *keyRing) published(now time.Time) []*signingKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune(now)
	return append([]*signingKey{r.current}, r.previous...)
}

// publicKey returns the published key with the kid, or nil.
func (r *keyRing) publicKey(kid string, now time.Time) *rsa.PublicKey {
	for _, k := range r.published(now) {
		if k.kid == kid {
			return &k.key.PublicKey
		}
	}
	return nil
}

// currentKid is the kid new tokens are signed with.
func (r *keyRing) currentKid() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current.kid
}

// RotateKey makes a new RSA key the signing key: Options.NextKey's, or one
// generated (2048 bits). New tokens carry its kid; the previous key stays
// in /v1/keys until the last token it signed has expired and at least
// keyRotation.keepPrevious (default: the access token lifetime) has
// passed, so tokens issued before the rotation still verify. At most
// [MaxPreviousKeys] previous keys are kept. It returns the new kid.
func (e *Emulator) RotateKey() (newKid string, err error) {
	e.rotateMu.Lock()
	defer e.rotateMu.Unlock()
	return e.rotateKey()
}

// rotateKey is RotateKey with rotateMu held.
func (e *Emulator) rotateKey() (string, error) {
	k, err := e.nextKey()
	if err != nil {
		return "", fmt.Errorf("oktaemu: key rotation: %w", err)
	}
	now := e.now()
	sk, err := newSigningKey(k, "", now)
	if err != nil {
		return "", fmt.Errorf("oktaemu: key rotation: %w", err)
	}
	if err := e.ring.install(sk, now); err != nil {
		return "", fmt.Errorf("oktaemu: key rotation: %w", err)
	}
	e.logger.Info("signing key rotated", "kid", sk.kid)
	return sk.kid, nil
}

// nextKey returns the key a rotation installs.
func (e *Emulator) nextKey() (*rsa.PrivateKey, error) {
	if e.newKey == nil {
		return rsa.GenerateKey(rand.Reader, signingKeyBits)
	}
	s, err := e.newKey()
	if err != nil {
		return nil, err
	}
	k, ok := s.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("Options.NextKey must return an *rsa.PrivateKey (tokens are signed RS256)")
	}
	return k, nil
}

// rotateIfDue rotates the key when keyRotation.every has passed since the
// current one started signing. It runs before a token is signed and when
// /v1/keys is read, so the emulator's clock (Options.Now) drives it and no
// timer runs.
func (e *Emulator) rotateIfDue() {
	every := e.as.cfg.KeyRotation.Every
	if every <= 0 || !e.ring.due(e.now(), every) {
		return
	}
	e.rotateMu.Lock()
	defer e.rotateMu.Unlock()
	if !e.ring.due(e.now(), every) {
		return // another request rotated it meanwhile
	}
	if _, err := e.rotateKey(); err != nil {
		e.logger.Error("scheduled key rotation failed", "error", err)
		e.ring.postpone(e.now())
	}
}

// keepPrevious is how long a rotated-out key stays published at least.
func keepPrevious(c *Config) time.Duration {
	if d := c.KeyRotation.KeepPrevious; d > 0 {
		return d
	}
	return time.Duration(c.Lifetimes.AccessToken) * time.Second
}

// Kid returns the kid new tokens are signed with.
func (e *Emulator) Kid() string { return e.ring.currentKid() }

// signerFor is used by sign: the current key (rotated first when due),
// noted as signing a token valid until exp.
func (e *Emulator) signerFor(exp time.Time) jose.Signer {
	e.rotateIfDue()
	return e.ring.forSigning(exp).signer
}
