// Package memory is a [user.Store] that keeps users in a map, for tests,
// demos and the emulator: nothing survives Close.
package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokenhook/tokenhook/internal/user"
)

// Config configures a [Store]. The zero value is ready to use.
type Config struct {
	// Now is the clock that stamps CreatedAt and UpdatedAt; nil means
	// time.Now. Tests inject a fake one.
	Now func() time.Time
}

// Store is a [user.Store] in memory. Create it with [New].
type Store struct {
	now func() time.Time

	mu     sync.RWMutex
	users  map[string]record
	closed bool
}

// record is a stored user. attrs is in user's canonical form (it went
// through JSON on the way in) and is never handed out: Get returns a copy.
type record struct {
	attrs            map[string]any
	created, updated time.Time
}

var _ user.Store = (*Store)(nil)

// errClosed reports use after Close, a bug in the caller.
var errClosed = errors.New("memory: store is closed")

// New returns an empty store.
func New(cfg Config) *Store {
	return &Store{now: cfg.Now, users: make(map[string]record)}
}

// Get implements [user.Store].
func (s *Store) Get(ctx context.Context, key string) (*user.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	r, ok := s.users[key]
	if !ok {
		return nil, fmt.Errorf("memory: get %q: %w", key, user.ErrNotFound)
	}
	u := r.user(key)
	return &u, nil
}

// Put implements [user.Store].
func (s *Store) Put(ctx context.Context, u *user.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if u == nil {
		return user.Validate(u)
	}
	attrs, err := normalize(u)
	if err != nil {
		return err
	}
	now := user.Timestamp(s.now)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	r := s.put(u.Key, attrs, now)
	u.CreatedAt, u.UpdatedAt = r.created, r.updated
	return nil
}

// put stores attrs under key, keeping the creation time of a user that is
// already there. The caller holds s.mu for writing.
func (s *Store) put(key string, attrs map[string]any, now time.Time) record {
	r := record{attrs: attrs, created: now, updated: now}
	if old, ok := s.users[key]; ok {
		r.created = old.created
	}
	s.users[key] = r
	return r
}

// Delete implements [user.Store].
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if _, ok := s.users[key]; !ok {
		return fmt.Errorf("memory: delete %q: %w", key, user.ErrNotFound)
	}
	delete(s.users, key)
	return nil
}

// List implements [user.Store]. It sorts the keys on every call, which is
// fine for the small stores this backend is for.
func (s *Store) List(ctx context.Context, opts user.ListOptions) (user.Page, error) {
	if err := ctx.Err(); err != nil {
		return user.Page{}, err
	}
	limit, err := opts.PageLimit()
	if err != nil {
		return user.Page{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return user.Page{}, errClosed
	}
	keys := make([]string, 0, len(s.users))
	for k := range s.users {
		if k > opts.After {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, strings.Compare) // byte order, as the contract says
	var page user.Page
	if len(keys) > limit {
		keys = keys[:limit]
		page.Next = keys[limit-1]
	}
	page.Users = make([]user.User, len(keys))
	for i, k := range keys {
		page.Users[i] = s.users[k].user(k)
	}
	return page, nil
}

// Import implements [user.Store]. Everything that can fail happens before
// the lock is taken, so the writes that follow cannot stop halfway.
func (s *Store) Import(ctx context.Context, users []user.User, opts user.ImportOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	encoded, err := user.EncodeImport(users)
	if err != nil {
		return fmt.Errorf("memory: import: %w", err)
	}
	attrs := make([]map[string]any, len(users))
	for i, b := range encoded {
		if attrs[i], err = user.DecodeAttributes(b); err != nil {
			return fmt.Errorf("memory: import: user %d: %w", i+1, err)
		}
	}
	now := user.Timestamp(s.now)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	for i := range users {
		s.put(users[i].Key, attrs[i], now)
	}
	// One batch: the writes under the lock cannot fail, so the whole
	// import is reported once.
	opts.Report(len(users))
	return nil
}

// Close implements [user.Store]. It drops the users.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.users = nil
	return nil
}

// normalize validates u and returns its attributes in canonical form. Going
// through JSON, exactly as the database backends do, makes this store hand
// back the same types they do (json.Number, []any, ...) and gives it a copy
// the caller can no longer reach.
func normalize(u *user.User) (map[string]any, error) {
	if err := user.ValidateKey(u.Key); err != nil {
		return nil, err
	}
	b, err := user.EncodeAttributes(u.Attributes)
	if err != nil {
		return nil, err
	}
	return user.DecodeAttributes(b)
}

func (r record) user(key string) user.User {
	return user.User{
		Key:        key,
		Attributes: user.CloneAttributes(r.attrs),
		CreatedAt:  r.created,
		UpdatedAt:  r.updated,
	}
}
