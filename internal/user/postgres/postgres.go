// Package postgres is a [user.Store] in a PostgreSQL database, for when
// several tokenhook replicas share one store.
//
// It talks to the server through a pgx connection pool, without
// database/sql: Get, on the hot path of every hook call, is one round trip
// on a cached prepared statement, and its attributes are decoded straight
// from the connection's read buffer. The schema comes from embedded
// migrations applied on Open, safely when several replicas start at once.
//
// The store's tables (users, schema_migrations) live in the database and
// schema the DSN selects: give tokenhook a database of its own, or a schema
// of its own with search_path=NAME in the DSN.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokenhook/tokenhook/internal/user"
)

// Config configures [Open].
type Config struct {
	// DSN is a PostgreSQL connection string, a postgres:// URL or
	// keyword=value pairs as libpq reads them. Besides libpq's parameters
	// it may tune the pool with pgx's pool_max_conns (default: the greater
	// of 4 and the number of CPUs) and the like. It is required.
	DSN string

	// Now is the clock that stamps CreatedAt and UpdatedAt; nil means
	// time.Now.
	Now func() time.Time

	// ConnectTimeout bounds each attempt to connect to the server, so that
	// an unreachable host fails Open (and a hook call) promptly instead of
	// after the operating system's TCP timeout. Zero means the DSN's
	// connect_timeout if it has one, else 5 seconds.
	ConnectTimeout time.Duration
}

// Store is a [user.Store] in PostgreSQL. Create it with [Open].
type Store struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	retries int // how often Get retries on a stale connection: the pool's size
}

var _ user.Store = (*Store)(nil)

// SQL the store runs. pgx prepares each statement once per connection and
// caches it, so later calls skip parsing and planning.
const (
	// getSQL returns the times as microseconds since 1970: pgx allocates
	// a scan plan per timestamptz column and query, and none for an int8.
	// EXTRACT is exact (numeric) since PostgreSQL 14; before, the float8
	// it returns still rounds to the right microsecond.
	getSQL = `SELECT attributes, (EXTRACT(EPOCH FROM created_at) * 1000000)::int8, (EXTRACT(EPOCH FROM updated_at) * 1000000)::int8
		FROM users WHERE key = $1`

	// putSQL keeps the created_at of a key already stored; RETURNING gives
	// it back without a second query.
	putSQL = `INSERT INTO users (key, attributes, created_at, updated_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (key) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at
		RETURNING created_at`

	deleteSQL = `DELETE FROM users WHERE key = $1`

	listSQL = `SELECT key, attributes, created_at, updated_at FROM users WHERE key > $1 ORDER BY key LIMIT $2`

	// listBytesSQL serves an After that PostgreSQL cannot take as text
	// (invalid UTF-8, or a NUL): it compares the keys' bytes instead. No
	// index serves the comparison, but the scan in key order stops at the
	// page's end.
	listBytesSQL = `SELECT key, attributes, created_at, updated_at FROM users WHERE convert_to(key, 'UTF8') > $1 ORDER BY key LIMIT $2`
)

// Open connects to the database cfg.DSN names and brings its schema up to
// date. Its errors never show the DSN's password.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.DSN == "" {
		return nil, errors.New("postgres: no DSN")
	}
	s, err := open(ctx, cfg)
	if err != nil {
		return nil, redact(err, cfg.DSN)
	}
	return s, nil
}

func open(ctx context.Context, cfg Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if cfg.ConnectTimeout > 0 || pc.ConnConfig.ConnectTimeout == 0 {
		timeout := cfg.ConnectTimeout
		if timeout == 0 {
			timeout = 5 * time.Second
		}
		pc.ConnConfig.ConnectTimeout = timeout
	}
	// pgx pings a connection idle for a second before handing it out:
	// a second round trip for most Gets of a quiet server. Get retries on
	// a broken connection instead.
	pc.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }

	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, now: cfg.Now, retries: int(pc.MaxConns)}
	if err := migrate(ctx, pool, cfg.Now); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// redact removes the DSN's password from an error of Open. pgx already
// masks it in its own messages; this holds whatever the error wraps to the
// same rule.
func redact(err error, dsn string) error {
	msg := err.Error()
	scrubbed := msg
	for _, pw := range passwords(dsn) {
		scrubbed = strings.ReplaceAll(scrubbed, pw, "xxxxx")
	}
	if scrubbed == msg {
		return err
	}
	return &redactedError{msg: scrubbed, err: err}
}

// passwords returns the forms the DSN's password may take in a message:
// as written and decoded, from a URL's user info or a password parameter.
func passwords(dsn string) []string {
	var pws []string
	add := func(pw string) {
		if len(pw) >= 3 { // shorter would mask unrelated text
			pws = append(pws, pw)
			if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
				pws = append(pws, dec)
			}
		}
	}
	if rest, ok := strings.CutPrefix(dsn, "postgres://"); ok || strings.HasPrefix(dsn, "postgresql://") {
		if !ok {
			rest = strings.TrimPrefix(dsn, "postgresql://")
		}
		// The same lookahead as pgx: the user info ends at the first '@'
		// before any '/'.
		if i := strings.IndexAny(rest, "@/"); i >= 0 && rest[i] == '@' {
			if _, pw, ok := strings.Cut(rest[:i], ":"); ok {
				add(pw)
			}
		}
	}
	for _, sep := range []string{"password=", "sslpassword="} {
		for rest := dsn; ; {
			i := strings.Index(rest, sep)
			if i < 0 {
				break
			}
			rest = rest[i+len(sep):]
			v := rest
			if strings.HasPrefix(v, "'") {
				v, _, _ = strings.Cut(v[1:], "'")
			} else if j := strings.IndexAny(v, " &"); j >= 0 {
				v = v[:j]
			}
			add(v)
		}
	}
	return pws
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Close implements [user.Store]. It waits for queries in flight.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// getRow holds what one Get scans into. Get takes it from a pool so that
// the scan's destinations, and the slice of them, are not allocated per
// call.
type getRow struct {
	key              string
	args             [1]any // &key: a string in an any would be allocated
	attrs            attributes
	created, updated int64 // microseconds since 1970
	dest             [3]any
}

var getRows = sync.Pool{New: func() any {
	r := new(getRow)
	r.args = [1]any{&r.key}
	r.dest = [3]any{&r.attrs, &r.created, &r.updated}
	return r
}}

// Get implements [user.Store].
func (s *Store) Get(ctx context.Context, key string) (*user.User, error) {
	// No stored key fails ValidateKey, so such a key is not found without
	// asking; PostgreSQL would refuse some of them (invalid UTF-8, NUL)
	// with an error rather than find nothing.
	if user.ValidateKey(key) != nil {
		return nil, fmt.Errorf("postgres: get %q: %w", key, user.ErrNotFound)
	}
	r := getRows.Get().(*getRow)
	defer func() {
		r.key, r.attrs.m = "", nil // the pool must not keep the user alive
		getRows.Put(r)
	}()
	r.key = key
	err := s.pool.QueryRow(ctx, getSQL, r.args[:]...).Scan(r.dest[:]...)
	// With no ping before each use, the first queries after the server
	// restarted meet connections it closed, which the pool then drops.
	// A read is safe to send again, until the pool has had the chance to
	// drop all of them, as pgxpool.Acquire itself retries.
	for try := 0; err != nil && try < s.retries && staleConn(ctx, err); try++ {
		err = s.pool.QueryRow(ctx, getSQL, r.args[:]...).Scan(r.dest[:]...)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: get %q: %w", key, user.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get %q: %w", key, err)
	}
	return &user.User{Key: key, Attributes: r.attrs.m, CreatedAt: time.UnixMicro(r.created).UTC(), UpdatedAt: time.UnixMicro(r.updated).UTC()}, nil
}

// staleConn reports whether err came from a connection that the server
// closed or lost, so that the query may succeed on another one. A failure
// to connect is not one: trying again would only wait for it again.
func staleConn(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	var connErr *pgconn.ConnectError
	var scanErr pgx.ScanArgError
	if errors.As(err, &connErr) || errors.As(err, &scanErr) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08 is connection exceptions, 57P01/2 the shutdown that
		// a server announces to its clients before closing on them.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02"
	}
	return true // the socket failed: EOF, reset, closed
}

// attributes decodes a row's attributes where pgx hands them over: in the
// connection's read buffer, saving a copy.
type attributes struct{ m map[string]any }

// ScanBytes implements pgtype.BytesScanner.
func (a *attributes) ScanBytes(src []byte) error {
	if src == nil {
		return errors.New("attributes are NULL")
	}
	m, err := user.DecodeAttributes(src)
	if err != nil {
		return err
	}
	a.m = m
	return nil
}

// Put implements [user.Store].
func (s *Store) Put(ctx context.Context, u *user.User) error {
	if u == nil {
		return user.Validate(u)
	}
	if err := user.ValidateKey(u.Key); err != nil {
		return err
	}
	attrs, err := user.EncodeAttributes(u.Attributes)
	if err != nil {
		return err
	}
	now := user.Timestamp(s.now)
	var created time.Time
	if err := s.pool.QueryRow(ctx, putSQL, u.Key, attrs, now).Scan(&created); err != nil {
		return fmt.Errorf("postgres: put %q: %w", u.Key, err)
	}
	u.CreatedAt, u.UpdatedAt = created.UTC(), now
	return nil
}

// Delete implements [user.Store].
func (s *Store) Delete(ctx context.Context, key string) error {
	if user.ValidateKey(key) != nil { // as in Get: never stored
		return fmt.Errorf("postgres: delete %q: %w", key, user.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, deleteSQL, key)
	if err != nil {
		return fmt.Errorf("postgres: delete %q: %w", key, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete %q: %w", key, user.ErrNotFound)
	}
	return nil
}

// List implements [user.Store]. It asks for one user more than the page
// holds to learn whether another page follows.
func (s *Store) List(ctx context.Context, opts user.ListOptions) (user.Page, error) {
	limit, err := opts.PageLimit()
	if err != nil {
		return user.Page{}, fmt.Errorf("postgres: list: %w", err)
	}
	var rows pgx.Rows
	if utf8.ValidString(opts.After) && !strings.Contains(opts.After, "\x00") {
		rows, err = s.pool.Query(ctx, listSQL, opts.After, limit+1)
	} else {
		rows, err = s.pool.Query(ctx, listBytesSQL, []byte(opts.After), limit+1)
	}
	if err != nil {
		return user.Page{}, fmt.Errorf("postgres: list: %w", err)
	}
	defer rows.Close()
	var page user.Page
	for rows.Next() {
		if len(page.Users) == limit {
			page.Next = page.Users[limit-1].Key
			break
		}
		var u user.User
		var attrs attributes
		if err := rows.Scan(&u.Key, &attrs, &u.CreatedAt, &u.UpdatedAt); err != nil {
			return user.Page{}, fmt.Errorf("postgres: list: %w", err)
		}
		u.Attributes, u.CreatedAt, u.UpdatedAt = attrs.m, u.CreatedAt.UTC(), u.UpdatedAt.UTC()
		page.Users = append(page.Users, u)
	}
	if err := rows.Err(); err != nil {
		return user.Page{}, fmt.Errorf("postgres: list: %w", err)
	}
	return page, nil
}

// importBatch is how many users Import writes per batch. Measured on a
// million users (BenchmarkImport), 50 000 a batch took 7 s where 10 000
// took 8 to 9: each batch pays round trips, a TRUNCATE and a plan. More
// would report progress too rarely, and spill the temporary table out of
// its default 8 MB of temp_buffers.
const importBatch = 50_000

// Import implements [user.Store].
func (s *Store) Import(ctx context.Context, users []user.User, opts user.ImportOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Validate and encode everything before the transaction starts, so a
	// bad user costs no write and holds no lock.
	attrs, err := user.EncodeImport(users)
	if err != nil {
		return fmt.Errorf("postgres: import: %w", err)
	}
	if len(users) == 0 {
		return nil
	}
	if err := s.importTx(ctx, users, attrs, opts); err != nil {
		return fmt.Errorf("postgres: import: %w", err)
	}
	return nil
}

// importTableSQL creates the table each batch of Import is copied into
// before one INSERT moves it into users. COPY is the fastest way in, but it
// cannot upsert; an INSERT from unnested arrays can, and took 10 to 11 s
// for a million users where COPY and INSERT took 7 (BenchmarkImport), with
// two and a half times the memory.
const importTableSQL = `CREATE TEMPORARY TABLE import_users (key text COLLATE "C" NOT NULL, attributes json NOT NULL) ON COMMIT DROP`

// importSQL moves a batch from import_users into users, upserting as
// putSQL does.
const importSQL = `INSERT INTO users (key, attributes, created_at, updated_at)
	SELECT key, attributes, $1, $1 FROM import_users
	ON CONFLICT (key) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at`

// importTx writes the users in one transaction, batch by batch.
func (s *Store) importTx(ctx context.Context, users []user.User, attrs [][]byte, opts user.ImportOptions) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op after Commit

	if _, err := tx.Exec(ctx, importTableSQL); err != nil {
		return err
	}
	now := user.Timestamp(s.now)
	columns := []string{"key", "attributes"}
	row := make([]any, 2) // pgx encodes a row before asking for the next
	for from := 0; from < len(users); from += importBatch {
		to := min(from+importBatch, len(users))
		src := pgx.CopyFromSlice(to-from, func(i int) ([]any, error) {
			row[0], row[1] = users[from+i].Key, attrs[from+i]
			return row, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_users"}, columns, src); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, importSQL, now); err != nil {
			return err
		}
		// TRUNCATE, not DELETE: deleted rows would stay in the table
		// until the transaction ends, for every later batch to scan.
		if _, err := tx.Exec(ctx, `TRUNCATE import_users`); err != nil {
			return err
		}
		opts.Report(to)
	}
	return tx.Commit(ctx)
}

// migrations are the schema changes, applied in file name order. A file,
// once released, never changes: a new change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_xact_lock key that serializes the
// migrations of replicas starting at once ("tokenhook" in ASCII). Advisory
// locks are per database, so stores in other databases do not wait.
const migrationLock int64 = 0x746f6b656e686f6f

// migrate applies the migrations the database lacks, each in a transaction
// of its own recorded in schema_migrations. A database that records a
// migration this binary does not have was written by a newer version, and
// opening it is refused rather than risking its data.
func migrate(ctx context.Context, pool *pgxpool.Pool, now func() time.Time) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := migrateFile(ctx, pool, name, now); err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", name, err)
		}
	}

	rows, _ := pool.Query(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, name := range applied {
		if !slices.Contains(names, "migrations/"+name) {
			return fmt.Errorf("postgres: the database has migration %s, which this version does not know: it was written by a newer tokenhook", name)
		}
	}
	return nil
}

// migrateFile applies one migration unless it is recorded as applied. The
// transaction first takes the advisory lock, so of several replicas opening
// a new database one applies the migration and the others, once it has
// committed, find it recorded. Creating schema_migrations happens under the
// lock too: two concurrent CREATE TABLE IF NOT EXISTS can both try to create
// it, and one fails.
func migrateFile(ctx context.Context, pool *pgxpool.Pool, name string, now func() time.Time) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       text NOT NULL PRIMARY KEY,
		applied_at timestamptz NOT NULL
	)`); err != nil {
		return err
	}
	base := strings.TrimPrefix(name, "migrations/")
	var done bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM schema_migrations WHERE name = $1)`, base).Scan(&done); err != nil {
		return err
	}
	if done {
		return tx.Commit(ctx)
	}
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`, base, user.Timestamp(now)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
