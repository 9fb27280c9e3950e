// Package sqlite is a [user.Store] in an SQLite database file, tokenhook's
// default store: nothing to set up, and fast enough for the hot path.
//
// It uses modernc.org/sqlite, a pure-Go SQLite, so the binary needs no C
// toolchain. A file database is opened in WAL mode through two pools: a
// single writer connection, which serializes writes as SQLite would anyway
// (without busy-waiting between our own connections), and a pool of
// read-only connections, so Gets run in parallel with each other and with
// writes. The schema comes from embedded migrations applied on Open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tokenhook/tokenhook/internal/user"
)

// MemoryPath is the Path of a private in-memory database, gone on Close.
const MemoryPath = ":memory:"

// Config configures [Open].
type Config struct {
	// Path is the database file, created if missing (its directory must
	// exist), or MemoryPath. It may not contain '?', which would start DSN
	// parameters.
	Path string

	// Now is the clock that stamps CreatedAt and UpdatedAt; nil means
	// time.Now.
	Now func() time.Time

	// BusyTimeout is how long a write waits for another process (say, a
	// `tokenhook users import` beside a running server) to release the
	// database before failing; zero means 5 seconds.
	BusyTimeout time.Duration

	// MaxReaders caps the read connections of a file database; zero
	// means GOMAXPROCS, at least 4. An in-memory database always has a
	// single connection.
	MaxReaders int
}

// Store is a [user.Store] in SQLite. Create it with [Open].
type Store struct {
	now    func() time.Time
	writer *sql.DB // one connection: every write goes through it
	reader *sql.DB // read-only pool; the writer itself for MemoryPath

	// Statements used per request are prepared once. database/sql
	// re-prepares them lazily on each pooled connection.
	get, list *sql.Stmt // on reader
	put, del  *sql.Stmt // on writer
}

var _ user.Store = (*Store)(nil)

// timeLayout is how times are stored: UTC, to the microsecond, fixed width
// (".000000" keeps trailing zeros), so text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// Open opens the database at cfg.Path, creating it if needed, and brings its
// schema up to date.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	switch {
	case cfg.Path == "":
		return nil, errors.New("sqlite: no database path")
	case strings.ContainsRune(cfg.Path, '?'):
		return nil, fmt.Errorf("sqlite: database path %q contains '?'", cfg.Path)
	}
	busy := cfg.BusyTimeout
	if busy == 0 {
		busy = 5 * time.Second
	}
	// busy_timeout first, so the other pragmas wait for a busy file too.
	// foreign_keys is off by default in SQLite; no table has one yet, but
	// a later migration may. synchronous=NORMAL is safe in WAL mode (a
	// power cut may lose the last commits, never corrupt the file) and
	// spares an fsync per commit.
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busy.Milliseconds())

	s := &Store{now: cfg.Now}
	var err error
	if cfg.Path == MemoryPath {
		// Every connection to :memory: is a database of its own, so the
		// store must use exactly one, and never let it go.
		s.writer, err = sql.Open("sqlite", MemoryPath+"?"+common)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		s.writer.SetMaxOpenConns(1)
		s.writer.SetMaxIdleConns(1)
		s.writer.SetConnMaxLifetime(0)
		s.writer.SetConnMaxIdleTime(0)
		s.reader = s.writer
	} else {
		// BEGIN IMMEDIATE takes the write lock at the start of a
		// transaction, so a transaction that reads before it writes
		// (migrations do) waits on busy_timeout instead of failing with
		// SQLITE_BUSY when it tries to upgrade its lock.
		s.writer, err = sql.Open("sqlite", cfg.Path+"?"+common+
			"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		s.writer.SetMaxOpenConns(1)
		s.writer.SetMaxIdleConns(1)

		// Readers are query_only: a bug that writes through them fails
		// instead of racing the writer. Each keeps up to 32 MiB of pages
		// (SQLite's default is 2 MiB): with a million users spread over a
		// 120 MB file, lookups of many different logins otherwise go to
		// the file for most of their pages (bench/loadbench BenchmarkStoreGet).
		s.reader, err = sql.Open("sqlite", cfg.Path+"?"+common+"&_pragma=query_only(1)&_pragma=cache_size(-32768)")
		if err != nil {
			s.writer.Close()
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		n := cfg.MaxReaders
		if n <= 0 {
			n = max(4, runtime.GOMAXPROCS(0))
		}
		// As many idle connections as open ones: a connection closed
		// and reopened would prepare its statements again.
		s.reader.SetMaxOpenConns(n)
		s.reader.SetMaxIdleConns(n)
	}

	if err := s.init(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// init migrates the schema, which also makes the writer's first connection
// and so sets WAL mode before any reader opens the file, and prepares the
// statements.
func (s *Store) init(ctx context.Context) error {
	if err := migrate(ctx, s.writer, s.now); err != nil {
		return err
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		db   *sql.DB
		sql  string
	}{
		{&s.get, s.reader, `SELECT attributes, created_at, updated_at FROM users WHERE key = ?`},
		{&s.list, s.reader, `SELECT key, attributes, created_at, updated_at FROM users WHERE key > ? ORDER BY key LIMIT ?`},
		{&s.put, s.writer, upsertSQL(1) + ` RETURNING created_at`},
		{&s.del, s.writer, `DELETE FROM users WHERE key = ?`},
	} {
		stmt, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", p.sql, err)
		}
		*p.stmt = stmt
	}
	return nil
}

// Close implements [user.Store].
func (s *Store) Close() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{s.get, s.list, s.put, s.del} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	if s.reader != s.writer {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// Get implements [user.Store].
func (s *Store) Get(ctx context.Context, key string) (*user.User, error) {
	var attrs []byte
	var created, updated string
	// A point lookup by primary key takes microseconds. modernc's driver
	// starts a goroutine per query to watch a cancellable context, which
	// costs more than the query on the hot path; so the context is checked
	// before the query instead of watched during it.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: get: %w", err)
	}
	err := s.get.QueryRowContext(context.WithoutCancel(ctx), key).Scan(&attrs, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: get %q: %w", key, user.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %q: %w", key, err)
	}
	u, err := decode(key, attrs, created, updated)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get: %w", err)
	}
	return u, nil
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
	var created string
	// RETURNING gives the created_at the upsert kept, without a second
	// query.
	if err := s.put.QueryRowContext(ctx, now.Format(timeLayout), u.Key, string(attrs)).Scan(&created); err != nil {
		return fmt.Errorf("sqlite: put %q: %w", u.Key, err)
	}
	c, err := parseTime(created)
	if err != nil {
		return fmt.Errorf("sqlite: put %q: %w", u.Key, err)
	}
	u.CreatedAt, u.UpdatedAt = c, now
	return nil
}

// Delete implements [user.Store].
func (s *Store) Delete(ctx context.Context, key string) error {
	res, err := s.del.ExecContext(ctx, key)
	if err != nil {
		return fmt.Errorf("sqlite: delete %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: delete %q: %w", key, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: delete %q: %w", key, user.ErrNotFound)
	}
	return nil
}

// List implements [user.Store]. It asks for one user more than the page
// holds to learn whether another page follows.
func (s *Store) List(ctx context.Context, opts user.ListOptions) (user.Page, error) {
	limit, err := opts.PageLimit()
	if err != nil {
		return user.Page{}, fmt.Errorf("sqlite: list: %w", err)
	}
	rows, err := s.list.QueryContext(ctx, opts.After, limit+1)
	if err != nil {
		return user.Page{}, fmt.Errorf("sqlite: list: %w", err)
	}
	defer rows.Close()
	var page user.Page
	for rows.Next() {
		var key, created, updated string
		var attrs []byte
		if err := rows.Scan(&key, &attrs, &created, &updated); err != nil {
			return user.Page{}, fmt.Errorf("sqlite: list: %w", err)
		}
		if len(page.Users) == limit {
			page.Next = page.Users[limit-1].Key
			break
		}
		u, err := decode(key, attrs, created, updated)
		if err != nil {
			return user.Page{}, fmt.Errorf("sqlite: list: %w", err)
		}
		page.Users = append(page.Users, *u)
	}
	if err := rows.Err(); err != nil {
		return user.Page{}, fmt.Errorf("sqlite: list: %w", err)
	}
	return page, nil
}

// importBatch is how many users one INSERT statement of Import carries.
// A statement per user spends much of its time crossing into SQLite: in
// batches, 100k users import in about half the time and allocations of one
// statement each (BenchmarkImport). Two parameters a user stay far below
// SQLite's limit of 32766.
const importBatch = 256

// importSQL inserts a full batch; prepared once per Import.
var importSQL = upsertSQL(importBatch)

// Import implements [user.Store].
func (s *Store) Import(ctx context.Context, users []user.User, opts user.ImportOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Validate and encode everything before the transaction starts, so a
	// bad user costs no write and holds no lock.
	attrs, err := user.EncodeImport(users)
	if err != nil {
		return fmt.Errorf("sqlite: import: %w", err)
	}
	if len(users) == 0 {
		return nil
	}
	if err := s.importTx(ctx, users, attrs, opts); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// A cancel mid-write can surface as the driver's "statement
			// is closed"; the cause is the context.
			err = cerr
		}
		return fmt.Errorf("sqlite: import: %w", err)
	}
	return nil
}

// importTx writes the users in one transaction: full batches through one
// prepared statement, then the remainder through a statement of its size.
//
// The users go in key order, whatever the order of the slice. The table is
// a B-tree on the key: in key order each batch lands on the pages the last
// one left in the cache, where in file order (an export sorted by anything
// else) nearly every row dirties a page of its own, which SQLite's small
// page cache spills to the WAL again and again. Unsorted, a million users
// in shuffled order took 2.7 times as long as in key order, the difference
// mostly system time writing pages; sorting them takes a third of a
// second. Keys are unique (EncodeImport checked), so the order changes
// nothing else.
func (s *Store) importTx(ctx context.Context, users []user.User, attrs [][]byte, opts user.ImportOptions) error {
	// Sorting the keys beside their index, not the indexes alone, spares
	// a trip through users per comparison: half the time for a million.
	type keyed struct {
		key string
		i   int
	}
	order := make([]keyed, len(users))
	for i := range users {
		order[i] = keyed{users[i].Key, i}
	}
	slices.SortFunc(order, func(a, b keyed) int { return strings.Compare(a.key, b.key) })

	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit

	now := user.Timestamp(s.now).Format(timeLayout)
	args := make([]any, 0, 1+2*importBatch)
	exec := func(stmt *sql.Stmt, from, to int) error {
		args = append(args[:0], now)
		for _, u := range order[from:to] {
			// string: a []byte would be a BLOB, which the STRICT
			// table refuses for a TEXT column.
			args = append(args, u.key, string(attrs[u.i]))
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
		opts.Report(to)
		return nil
	}

	full := len(users) / importBatch * importBatch // users in full batches
	if full > 0 {
		stmt, err := tx.PrepareContext(ctx, importSQL)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for from := 0; from < full; from += importBatch {
			if err := exec(stmt, from, from+importBatch); err != nil {
				return err
			}
		}
	}
	if full < len(users) {
		stmt, err := tx.PrepareContext(ctx, upsertSQL(len(users)-full))
		if err != nil {
			return err
		}
		defer stmt.Close()
		if err := exec(stmt, full, len(users)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// upsertSQL returns an INSERT of n users that replaces the attributes and
// update time of keys already stored and keeps their creation time.
// Parameter 1 is the time, then each user's key and attributes.
//
// Only the time is numbered (?1); the keys and attributes are bare ?s,
// which SQLite numbers on from the largest number so far, so the first
// user's are 2 and 3. Numbered parameters cost at every execution: the
// driver asks SQLite each parameter's name, a linear search through the
// statement's numbered ones, which made binding a batch of ?NNN quadratic
// (a tenth of a million-user import).
func upsertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO users (created_at, updated_at, key, attributes) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?1, ?1, ?, ?)")
	}
	b.WriteString(` ON CONFLICT (key) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at`)
	return b.String()
}

// decode makes a user of a row.
func decode(key string, attrs []byte, created, updated string) (*user.User, error) {
	a, err := user.DecodeAttributes(attrs)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", key, err)
	}
	u := &user.User{Key: key, Attributes: a}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return nil, fmt.Errorf("user %q: created_at: %w", key, err)
	}
	if u.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, fmt.Errorf("user %q: updated_at: %w", key, err)
	}
	return u, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// migrations are the schema changes, applied in file name order. A file,
// once released, never changes: a new change is a new file.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the migrations db lacks, each in a transaction of its own
// recorded in schema_migrations, as benbjohnson/wtf does. A database that
// records a migration this binary does not have was written by a newer
// version, and opening it is refused rather than risking its data.
func migrate(ctx context.Context, db *sql.DB, now func() time.Time) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT NOT NULL PRIMARY KEY,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := migrateFile(ctx, db, name, now); err != nil {
			return fmt.Errorf("sqlite: migrate %s: %w", name, err)
		}
	}

	applied, err := appliedMigrations(ctx, db)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, name := range applied {
		if !slices.Contains(names, "migrations/"+name) {
			return fmt.Errorf("sqlite: the database has migration %s, which this version does not know: it was written by a newer tokenhook", name)
		}
	}
	return nil
}

// migrateFile applies one migration unless it is recorded as applied. The
// check is inside the transaction, whose BEGIN IMMEDIATE takes the write
// lock, so two processes opening a new database cannot both apply it.
func migrateFile(ctx context.Context, db *sql.DB, name string, now func() time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	base := strings.TrimPrefix(name, "migrations/")
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, base).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(migrations, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		base, user.Timestamp(now).Format(timeLayout)); err != nil {
		return err
	}
	return tx.Commit()
}

func appliedMigrations(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}
