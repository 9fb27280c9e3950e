package user

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"
	"unicode"
	"unicode/utf8"
)

// User is one record: the key the hook looks a user up by and the
// attributes it turns into claims.
type User struct {
	// Key is the lookup key, the user's Okta login by default
	// (jessie.smith@example.com). See [ValidateKey] for what it may hold.
	Key string

	// Attributes is a JSON object; see the package documentation for the
	// Go types its values take. Nil is stored as an empty object.
	Attributes map[string]any

	// CreatedAt is when the store first saw Key. Stores set it (in UTC, to
	// the microsecond) and keep it when the user is put again.
	CreatedAt time.Time

	// UpdatedAt is when the user was last put. Stores set it on every put.
	UpdatedAt time.Time
}

// MaxKeyLen is the longest key, in bytes, a store accepts. Okta caps logins
// at 100 characters; the margin leaves room for other key choices without
// letting a key grow without bound.
const MaxKeyLen = 1024

var (
	// ErrNotFound reports that no user has the key. Stores wrap it: check
	// with errors.Is.
	ErrNotFound = errors.New("user not found")

	// ErrInvalid reports a user, or a request, that a store refuses. Stores
	// and [Validate] wrap it with the problem: check with errors.Is.
	ErrInvalid = errors.New("invalid user")
)

// List page sizes.
const (
	// DefaultListLimit is the page size when [ListOptions.Limit] is zero.
	DefaultListLimit = 100
	// MaxListLimit is the largest page size; larger limits are lowered to
	// it so one call cannot load a whole store into memory.
	MaxListLimit = 1000
)

// ListOptions selects one page of users for [Store.List].
type ListOptions struct {
	// After skips users whose key is not greater than After, in byte
	// order. Empty starts at the first user; a page's Next continues after
	// it.
	After string

	// Limit is the most users to return: zero means [DefaultListLimit],
	// more than [MaxListLimit] means MaxListLimit, negative is an error.
	Limit int
}

// PageLimit returns the page size o asks for, with the defaults of
// [ListOptions.Limit] applied. Backends call it so that they all read Limit
// the same way.
func (o ListOptions) PageLimit() (int, error) {
	switch {
	case o.Limit < 0:
		return 0, fmt.Errorf("%w: negative list limit %d", ErrInvalid, o.Limit)
	case o.Limit == 0:
		return DefaultListLimit, nil
	case o.Limit > MaxListLimit:
		return MaxListLimit, nil
	}
	return o.Limit, nil
}

// Page is one page of a [Store.List] result.
type Page struct {
	// Users are in ascending key order.
	Users []User

	// Next is the After of the following page, or "" when there are no
	// more users. A page can be full and still the last one: Next, not the
	// page's length, says whether to go on.
	Next string
}

// Store is where users live. Every method is safe for concurrent use.
//
// Get is on the hot path of every hook call; the other methods serve the
// command line and admin tools.
type Store interface {
	// Get returns the user with the key, or an error wrapping ErrNotFound.
	// The returned user is the caller's: changing it, attributes included,
	// does not change the store.
	Get(ctx context.Context, key string) (*User, error)

	// Put stores u, replacing any user with the same key. It validates u
	// first ([Validate]; the error wraps ErrInvalid) and ignores the
	// times u carries: it keeps the stored CreatedAt of an existing user,
	// sets UpdatedAt to now, and on success writes both times back into u.
	// The store keeps its own copy of the attributes.
	Put(ctx context.Context, u *User) error

	// Delete removes the user with the key, or returns an error wrapping
	// ErrNotFound if there is none.
	Delete(ctx context.Context, key string) error

	// List returns one page of users in ascending key order.
	List(ctx context.Context, opts ListOptions) (Page, error)

	// Import puts every user in one transaction: either all are stored,
	// each as Put would store it, or none is and the store is unchanged.
	// It validates every user before writing any; a key that appears twice
	// is an error (wrapping ErrInvalid). It does not change users.
	// Backends write in batches; opts.Progress hears of each.
	Import(ctx context.Context, users []User, opts ImportOptions) error

	// Close releases the store's resources. The store must not be used
	// afterwards.
	Close() error
}

// ImportOptions tunes [Store.Import]. The zero value is the default.
type ImportOptions struct {
	// Progress, when not nil, is called on the importing goroutine after
	// each batch is written, with the number of users written so far (not
	// yet committed); the last call reports len(users), just before the
	// commit. A million users take seconds, so a command can show a bar.
	Progress func(written int)
}

// Report calls o.Progress with written when it is set.
func (o ImportOptions) Report(written int) {
	if o.Progress != nil {
		o.Progress(written)
	}
}

// Validate reports the first problem that stops u from being stored, as an
// error wrapping [ErrInvalid]; it returns nil for a storable user. It checks
// the key ([ValidateKey]) and that the attributes encode as a JSON object
// ([EncodeAttributes]). Its messages never include attribute values, which
// may be personal data.
func Validate(u *User) error {
	if u == nil {
		return fmt.Errorf("%w: nil user", ErrInvalid)
	}
	if err := ValidateKey(u.Key); err != nil {
		return err
	}
	_, err := EncodeAttributes(u.Attributes)
	return err
}

// ValidateKey reports whether key can be a user's key, as an error wrapping
// [ErrInvalid]. A key is non-empty valid UTF-8 of at most [MaxKeyLen] bytes,
// without leading or trailing white space and without control characters:
// such keys are almost always copy-paste accidents, and keys end up in logs
// and CSV files where control characters do harm.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: missing key", ErrInvalid)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: key is longer than %d bytes", ErrInvalid, MaxKeyLen)
	case !utf8.ValidString(key):
		// The key is not quoted: the bytes that make it invalid would only
		// garble the message.
		return fmt.Errorf("%w: key is not valid UTF-8", ErrInvalid)
	}
	first, _ := utf8.DecodeRuneInString(key)
	last, _ := utf8.DecodeLastRuneInString(key)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return fmt.Errorf("%w: key %q has leading or trailing white space", ErrInvalid, key)
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: key %q contains a control character", ErrInvalid, key)
		}
	}
	return nil
}

// Timestamp returns the time a store records for "now": now() (time.Now if
// now is nil) in UTC, truncated to the microsecond, the finest precision
// every backend keeps. Converting to UTC also drops the monotonic clock
// reading, so stored times compare equal with ==.
func Timestamp(now func() time.Time) time.Time {
	if now == nil {
		now = time.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

// All returns every user of s in ascending key order, fetching pages of
// [MaxListLimit] users as the loop goes, for exports. A List error ends the
// sequence: it is yielded once, with a zero User. Users added or removed
// during the loop may or may not be seen, as pages are separate reads.
func All(ctx context.Context, s interface {
	List(context.Context, ListOptions) (Page, error)
}) iter.Seq2[User, error] {
	return func(yield func(User, error) bool) {
		opts := ListOptions{Limit: MaxListLimit}
		for {
			page, err := s.List(ctx, opts)
			if err != nil {
				yield(User{}, err)
				return
			}
			for _, u := range page.Users {
				if !yield(u, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			opts.After = page.Next
		}
	}
}

// EncodeImport checks a batch for [Store.Import] before anything is written:
// every user valid, no key twice. It returns each user's attributes encoded
// as by [EncodeAttributes]. Errors wrap [ErrInvalid] and number users from 1.
// Every backend's Import starts with it, so all refuse the same batches with
// the same messages.
func EncodeImport(users []User) ([][]byte, error) {
	attrs := make([][]byte, len(users))
	seen := make(map[string]int, len(users))
	for i := range users {
		u := &users[i]
		if j, dup := seen[u.Key]; dup {
			return nil, fmt.Errorf("%w: duplicate key %q (users %d and %d)", ErrInvalid, u.Key, j+1, i+1)
		}
		seen[u.Key] = i
		if err := ValidateKey(u.Key); err != nil {
			return nil, fmt.Errorf("user %d: %w", i+1, err)
		}
		a, err := EncodeAttributes(u.Attributes)
		if err != nil {
			return nil, fmt.Errorf("user %d: %w", i+1, err)
		}
		attrs[i] = a
	}
	return attrs, nil
}
