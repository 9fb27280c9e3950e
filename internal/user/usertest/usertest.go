// Package usertest is the conformance suite for [user.Store] backends.
//
// Every backend's tests call [Run] with a function that opens a fresh, empty
// store, so the memory, SQLite and PostgreSQL stores are held to one
// contract: the same errors, the same attribute types, the same times, the
// same ordering.
package usertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/user"
)

// OpenFunc opens a new, empty store for one test. The store must stamp
// times with now, so the suite controls its clock. The suite closes the
// store when the test ends; OpenFunc cleans up anything else it made
// (files, databases) with t.Cleanup.
type OpenFunc func(t *testing.T, now func() time.Time) user.Store

// Run runs the conformance suite, one parallel subtest per behaviour, each
// on a store of its own from open.
func Run(t *testing.T, open OpenFunc) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"GetMissing", testGetMissing},
		{"RoundTrip", testRoundTrip},
		{"Normalize", testNormalize},
		{"NilAttributes", testNilAttributes},
		{"Times", testTimes},
		{"Copies", testCopies},
		{"Delete", testDelete},
		{"Invalid", testInvalid},
		{"LongestKey", testLongestKey},
		{"List", testList},
		{"ListLimits", testListLimits},
		{"Import", testImport},
		{"ImportUpserts", testImportUpserts},
		{"ImportAllOrNothing", testImportAllOrNothing},
		{"ImportMany", testImportMany},
		{"ImportProgress", testImportProgress},
		{"Concurrent", testConcurrent},
		{"Canceled", testCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			s := open(t, clk.Now)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, &env{s: s, clock: clk})
		})
	}
}

// env is what each subtest works with.
type env struct {
	s     user.Store
	clock *clock
}

// clock is a settable fake clock. Its start has nanoseconds and a zone
// other than UTC, so the suite sees stores convert and truncate.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on and returns the time a store records for the
// new now.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return c.Stamp()
}

// Stamp is the time a store records for the clock's now: UTC, microseconds.
func (c *clock) Stamp() time.Time {
	return c.Now().UTC().Truncate(time.Microsecond)
}

// secret is an attribute value that must never show in an error message.
const secret = "s3cret-ssn-078-05-1120"

// richAttributes covers every JSON type in its canonical Go form, nested,
// with names and strings that need escaping, so a store that mangles any of
// them fails. Each call returns a fresh copy.
func richAttributes() map[string]any {
	return map[string]any{
		"patientId": "1235",
		"mrn":       json.Number("12345678901234567890"), // does not fit a float64
		"ratio":     json.Number("1.50"),                 // the trailing zero is kept
		"exp":       json.Number("1e3"),                  // and so is the exponent
		"negZero":   json.Number("-0"),
		"active":    true,
		"locked":    false,
		"middle":    nil,
		"groups":    []any{"admins", json.Number("7"), true, nil, []any{}, map[string]any{"k": "v"}},
		"address": map[string]any{
			"city":  "Zürich",
			"geo":   map[string]any{"lat": json.Number("47.3769"), "lon": json.Number("8.5417")},
			"lines": []any{"Bahnhofstrasse 1", "Postfach"},
		},
		"emptyObject":        map[string]any{},
		"emptyArray":         []any{},
		"名前":                 "山田 太郎",
		"emoji 🙂":            "✓",
		"quote\"back\\slash": "line\nbreak\ttab <&> \u2028",
		"":                   "an empty name is a name",
		"nul":                "a\x00b",
		"secret":             secret,
	}
}

func testGetMissing(t *testing.T, e *env) {
	for _, key := range []string{"nobody@example.com", "", "a\xffb"} {
		u, err := e.s.Get(t.Context(), key)
		if !errors.Is(err, user.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", key, err)
		}
		if u != nil {
			t.Errorf("Get(%q) user = %+v, want nil", key, u)
		}
	}
}

func testRoundTrip(t *testing.T, e *env) {
	for _, key := range []string{
		"jessie.smith@example.com",
		"jöschi.müller@例え.jp",
		"kim.sato+tag@example.com",
		"00u1abcd",
		"with inner space",
		"🙂",
	} {
		MustPut(t, e.s, &user.User{Key: key, Attributes: richAttributes()})
	}
	for _, key := range []string{"jessie.smith@example.com", "jöschi.müller@例え.jp", "🙂"} {
		got := MustGet(t, e.s, key)
		wantUser(t, got, user.User{Key: key, Attributes: richAttributes(), CreatedAt: e.clock.Stamp(), UpdatedAt: e.clock.Stamp()})
	}
}

// testNormalize pins how Go values that are not in canonical form come
// back: numbers as json.Number with the text encoding/json/v2 writes,
// typed slices and maps as []any and map[string]any, nil slices and maps as
// empty ones.
func testNormalize(t *testing.T, e *env) {
	MustPut(t, e.s, &user.User{Key: "a@example.com", Attributes: map[string]any{
		"int":      42,
		"int64":    int64(-9007199254740993),
		"uint8":    uint8(7),
		"float":    1.5,
		"bigFloat": 1e21,
		"float32":  float32(0.25),
		"strings":  []string{"a", "b"},
		"nilSlice": []string(nil),
		"ints":     map[string]int{"x": 1},
		"nilMap":   map[string]any(nil),
		"number":   json.Number("3.0"),
	}})
	want := map[string]any{
		"int":      json.Number("42"),
		"int64":    json.Number("-9007199254740993"),
		"uint8":    json.Number("7"),
		"float":    json.Number("1.5"),
		"bigFloat": json.Number("1e+21"),
		"float32":  json.Number("0.25"),
		"strings":  []any{"a", "b"},
		"nilSlice": []any{},
		"ints":     map[string]any{"x": json.Number("1")},
		"nilMap":   map[string]any{},
		"number":   json.Number("3.0"),
	}
	got := MustGet(t, e.s, "a@example.com")
	wantAttributes(t, got.Attributes, want)
}

func testNilAttributes(t *testing.T, e *env) {
	MustPut(t, e.s, &user.User{Key: "nil@example.com"})
	MustPut(t, e.s, &user.User{Key: "empty@example.com", Attributes: map[string]any{}})
	for _, key := range []string{"nil@example.com", "empty@example.com"} {
		got := MustGet(t, e.s, key)
		if got.Attributes == nil || len(got.Attributes) != 0 {
			t.Errorf("Get(%q).Attributes = %#v, want an empty, non-nil map", key, got.Attributes)
		}
	}
}

func testTimes(t *testing.T, e *env) {
	t0 := e.clock.Stamp()
	u := &user.User{Key: "a@example.com", Attributes: map[string]any{"v": "1"}}
	MustPut(t, e.s, u)
	if !u.CreatedAt.Equal(t0) || !u.UpdatedAt.Equal(t0) {
		t.Errorf("after Put, u times = %v, %v; want both %v", u.CreatedAt, u.UpdatedAt, t0)
	}
	wantUser(t, MustGet(t, e.s, u.Key), user.User{Key: u.Key, Attributes: map[string]any{"v": "1"}, CreatedAt: t0, UpdatedAt: t0})

	// Times the caller sets are ignored: the store owns them.
	t1 := e.clock.Advance(90*time.Minute + 999*time.Nanosecond)
	u2 := &user.User{Key: u.Key, Attributes: map[string]any{"v": "2"}, CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(2, 0)}
	MustPut(t, e.s, u2)
	if !u2.CreatedAt.Equal(t0) || !u2.UpdatedAt.Equal(t1) {
		t.Errorf("after second Put, u times = %v, %v; want %v, %v", u2.CreatedAt, u2.UpdatedAt, t0, t1)
	}
	wantUser(t, MustGet(t, e.s, u.Key), user.User{Key: u.Key, Attributes: map[string]any{"v": "2"}, CreatedAt: t0, UpdatedAt: t1})

	// A deleted user that comes back is a new user.
	MustDelete(t, e.s, u.Key)
	t2 := e.clock.Advance(time.Second)
	MustPut(t, e.s, &user.User{Key: u.Key})
	wantUser(t, MustGet(t, e.s, u.Key), user.User{Key: u.Key, Attributes: map[string]any{}, CreatedAt: t2, UpdatedAt: t2})
}

func testCopies(t *testing.T, e *env) {
	attrs := richAttributes()
	MustPut(t, e.s, &user.User{Key: "a@example.com", Attributes: attrs})

	// Changing what was put does not change the store...
	attrs["patientId"] = "changed"
	attrs["groups"].([]any)[0] = "changed"
	attrs["address"].(map[string]any)["city"] = "changed"
	attrs["address"].(map[string]any)["geo"].(map[string]any)["lat"] = json.Number("0")
	attrs["added"] = true
	wantAttributes(t, MustGet(t, e.s, "a@example.com").Attributes, richAttributes())

	// ... and neither does changing what was got.
	got := MustGet(t, e.s, "a@example.com")
	got.Key = "b@example.com"
	got.Attributes["patientId"] = "changed"
	got.Attributes["groups"].([]any)[0] = "changed"
	got.Attributes["groups"].([]any)[5].(map[string]any)["k"] = "changed"
	got.Attributes["address"].(map[string]any)["lines"].([]any)[1] = "changed"
	delete(got.Attributes["address"].(map[string]any), "city")
	got.Attributes["added"] = true
	wantAttributes(t, MustGet(t, e.s, "a@example.com").Attributes, richAttributes())

	// Two gets never share state either.
	g1, g2 := MustGet(t, e.s, "a@example.com"), MustGet(t, e.s, "a@example.com")
	g1.Attributes["emptyObject"].(map[string]any)["x"] = "y"
	if len(g2.Attributes["emptyObject"].(map[string]any)) != 0 {
		t.Error("two Gets returned attributes that share a map")
	}
}

func testDelete(t *testing.T, e *env) {
	MustPut(t, e.s, &user.User{Key: "a@example.com"})
	MustPut(t, e.s, &user.User{Key: "b@example.com"})
	MustDelete(t, e.s, "a@example.com")
	if _, err := e.s.Get(t.Context(), "a@example.com"); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("Get after Delete: error = %v, want ErrNotFound", err)
	}
	if err := e.s.Delete(t.Context(), "a@example.com"); !errors.Is(err, user.ErrNotFound) {
		t.Errorf("second Delete: error = %v, want ErrNotFound", err)
	}
	for _, key := range []string{"nobody@example.com", ""} {
		if err := e.s.Delete(t.Context(), key); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("Delete(%q): error = %v, want ErrNotFound", key, err)
		}
	}
	MustGet(t, e.s, "b@example.com") // the other user stays
}

// invalidUsers are users every store refuses, each with the secret among
// its attributes so that a message quoting values is caught.
func invalidUsers() []struct {
	name string
	u    user.User
} {
	ok := func(key string, extra map[string]any) user.User {
		attrs := map[string]any{"secret": secret}
		for k, v := range extra {
			attrs[k] = v
		}
		return user.User{Key: key, Attributes: attrs}
	}
	return []struct {
		name string
		u    user.User
	}{
		{"empty key", ok("", nil)},
		{"key too long", ok(strings.Repeat("a", user.MaxKeyLen+1), nil)},
		{"key too long in bytes, not runes", ok(strings.Repeat("é", user.MaxKeyLen/2)+"a", nil)},
		{"key not UTF-8", ok("jessie\xff@example.com", nil)},
		{"key with leading space", ok(" jessie@example.com", nil)},
		{"key with trailing space", ok("jessie@example.com ", nil)},
		{"key with trailing no-break space", ok("jessie@example.com\u00a0", nil)},
		{"key with newline", ok("jessie@example.com\nx", nil)},
		{"key with NUL", ok("jessie\x00@example.com", nil)},
		{"NaN", ok("a@example.com", map[string]any{"n": math.NaN()})},
		{"infinity", ok("a@example.com", map[string]any{"deep": []any{map[string]any{"n": math.Inf(1)}}})},
		{"channel", ok("a@example.com", map[string]any{"c": make(chan int)})},
		{"function", ok("a@example.com", map[string]any{"f": func() {}})},
		{"value not UTF-8", ok("a@example.com", map[string]any{"s": secret + "\xff"})},
		{"name not UTF-8", ok("a@example.com", map[string]any{"s\xff": secret})},
		{"bad json.Number", ok("a@example.com", map[string]any{"n": json.Number(secret)})},
	}
}

func testInvalid(t *testing.T, e *env) {
	for _, tt := range invalidUsers() {
		u := tt.u
		err := e.s.Put(t.Context(), &u)
		if !errors.Is(err, user.ErrInvalid) {
			t.Errorf("%s: Put error = %v, want ErrInvalid", tt.name, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: Put error %q shows an attribute value", tt.name, err)
		}
		if !u.CreatedAt.IsZero() || !u.UpdatedAt.IsZero() {
			t.Errorf("%s: failed Put set times on the user", tt.name)
		}
		if _, err := e.s.Get(t.Context(), tt.u.Key); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("%s: Get after failed Put: error = %v, want ErrNotFound", tt.name, err)
		}
	}
	if err := e.s.Put(t.Context(), nil); !errors.Is(err, user.ErrInvalid) {
		t.Errorf("Put(nil) error = %v, want ErrInvalid", err)
	}
	wantKeys(t, e.s, nil)
}

func testLongestKey(t *testing.T, e *env) {
	keys := []string{
		strings.Repeat("a", user.MaxKeyLen),
		strings.Repeat("é", user.MaxKeyLen/2), // two bytes each
		strings.Repeat("例", user.MaxKeyLen/3), // three bytes each, one short
	}
	for _, key := range keys {
		MustPut(t, e.s, &user.User{Key: key, Attributes: map[string]any{"n": json.Number("1")}})
		if got := MustGet(t, e.s, key); got.Key != key {
			t.Errorf("Get returned key of %d bytes, want %d", len(got.Key), len(key))
		}
	}
}

func testList(t *testing.T, e *env) {
	page, err := e.s.List(t.Context(), user.ListOptions{})
	if err != nil || len(page.Users) != 0 || page.Next != "" {
		t.Errorf("List on an empty store = %+v, %v; want no users, no Next", page, err)
	}

	// Byte order differs from any locale's here: "Zed" sorts before
	// "alice", and "ärger" after "carol".
	keys := []string{
		"bob@example.com", "Zed@example.com", "alice@example.com", "ärger@example.com",
		"alice@example.co", "carol@example.com", "1@example.com",
	}
	for i, key := range keys {
		e.clock.Advance(time.Second)
		MustPut(t, e.s, &user.User{Key: key, Attributes: map[string]any{"i": json.Number(fmt.Sprint(i))}})
	}
	sorted := slices.Sorted(slices.Values(keys))
	if got := []string{"1@example.com", "Zed@example.com", "alice@example.co", "alice@example.com", "bob@example.com", "carol@example.com", "ärger@example.com"}; !slices.Equal(sorted, got) {
		t.Fatalf("test bug: sorted keys = %q", sorted)
	}

	for _, limit := range []int{1, 2, 3, len(keys) - 1, len(keys), len(keys) + 1, 0} {
		var got []string
		opts := user.ListOptions{Limit: limit}
		for range len(keys) + 1 {
			page, err := e.s.List(t.Context(), opts)
			if err != nil {
				t.Fatalf("List(%+v): %v", opts, err)
			}
			n := limit
			if n == 0 {
				n = user.DefaultListLimit
			}
			if len(page.Users) > n {
				t.Errorf("List(%+v) returned %d users, over the limit", opts, len(page.Users))
			}
			for _, u := range page.Users {
				got = append(got, u.Key)
				i := slices.Index(keys, u.Key)
				want := user.User{Key: u.Key, Attributes: map[string]any{"i": json.Number(fmt.Sprint(i))}}
				if i >= 0 {
					stamp := newClock().Advance(time.Duration(i+1) * time.Second)
					want.CreatedAt, want.UpdatedAt = stamp, stamp
				}
				wantUser(t, &u, want)
			}
			if page.Next == "" {
				break
			}
			if len(page.Users) == 0 || page.Next != page.Users[len(page.Users)-1].Key {
				t.Errorf("List(%+v).Next = %q, want the last key of the page", opts, page.Next)
			}
			opts.After = page.Next
		}
		if !slices.Equal(got, sorted) {
			t.Errorf("paging with limit %d listed %q, want %q", limit, got, sorted)
		}
	}

	// A full last page has no Next: Next, not the page size, ends the loop.
	page, err = e.s.List(t.Context(), user.ListOptions{After: sorted[3], Limit: 3})
	if err != nil || page.Next != "" || len(page.Users) != 3 {
		t.Errorf("List of the last 3 users with limit 3 = %d users, Next %q, %v; want 3 users, no Next", len(page.Users), page.Next, err)
	}

	// After need not be a stored key.
	for _, tt := range []struct {
		after string
		want  []string
	}{
		{"b", sorted[4:]},
		{"alice@example.cn", sorted[2:]},
		{"ärger@example.com", nil},
		{"\U0010FFFF", nil},
		{"", sorted},
	} {
		page, err := e.s.List(t.Context(), user.ListOptions{After: tt.after})
		if err != nil {
			t.Fatalf("List(After: %q): %v", tt.after, err)
		}
		if got := userKeys(page.Users); !slices.Equal(got, tt.want) || page.Next != "" {
			t.Errorf("List(After: %q) = %q, Next %q; want %q, no Next", tt.after, got, page.Next, tt.want)
		}
	}

	if _, err := e.s.List(t.Context(), user.ListOptions{Limit: -1}); err == nil {
		t.Error("List with a negative limit succeeded")
	}
}

func testListLimits(t *testing.T, e *env) {
	users := manyUsers(user.MaxListLimit + 1)
	MustImport(t, e.s, users)
	keys := userKeys(users)

	for _, tt := range []struct {
		opts     user.ListOptions
		want     []string
		wantNext string
	}{
		{user.ListOptions{}, keys[:user.DefaultListLimit], keys[user.DefaultListLimit-1]},
		{user.ListOptions{Limit: 10 * user.MaxListLimit}, keys[:user.MaxListLimit], keys[user.MaxListLimit-1]},
		{user.ListOptions{Limit: user.MaxListLimit, After: keys[user.MaxListLimit-1]}, keys[user.MaxListLimit:], ""},
	} {
		page, err := e.s.List(t.Context(), tt.opts)
		if err != nil {
			t.Fatalf("List(%+v): %v", tt.opts, err)
		}
		if got := userKeys(page.Users); !slices.Equal(got, tt.want) || page.Next != tt.wantNext {
			t.Errorf("List(%+v) = %d users, Next %q; want %d users, Next %q", tt.opts, len(got), page.Next, len(tt.want), tt.wantNext)
		}
	}
}

func testImport(t *testing.T, e *env) {
	MustImport(t, e.s, nil)
	MustImport(t, e.s, []user.User{})
	wantKeys(t, e.s, nil)

	users := []user.User{
		{Key: "b@example.com", Attributes: richAttributes()},
		{Key: "a@example.com", Attributes: map[string]any{"patientId": "1"}},
		{Key: "c@example.com"},
	}
	MustImport(t, e.s, users)
	now := e.clock.Stamp()
	for _, u := range users {
		want := u
		if want.Attributes == nil {
			want.Attributes = map[string]any{}
		}
		want.CreatedAt, want.UpdatedAt = now, now
		wantUser(t, MustGet(t, e.s, u.Key), want)
	}
	for _, u := range users {
		if !u.CreatedAt.IsZero() || !u.UpdatedAt.IsZero() {
			t.Errorf("Import set times on its argument %q", u.Key)
		}
	}
	wantKeys(t, e.s, []string{"a@example.com", "b@example.com", "c@example.com"})
}

func testImportUpserts(t *testing.T, e *env) {
	t0 := e.clock.Stamp()
	MustPut(t, e.s, &user.User{Key: "a@example.com", Attributes: map[string]any{"old": "1", "both": "old"}})
	t1 := e.clock.Advance(time.Hour)
	MustImport(t, e.s, []user.User{
		{Key: "a@example.com", Attributes: map[string]any{"both": "new"}},
		{Key: "b@example.com", Attributes: map[string]any{"n": json.Number("2")}},
	})
	// The import replaces the attributes, it does not merge them.
	wantUser(t, MustGet(t, e.s, "a@example.com"), user.User{Key: "a@example.com", Attributes: map[string]any{"both": "new"}, CreatedAt: t0, UpdatedAt: t1})
	wantUser(t, MustGet(t, e.s, "b@example.com"), user.User{Key: "b@example.com", Attributes: map[string]any{"n": json.Number("2")}, CreatedAt: t1, UpdatedAt: t1})
}

func testImportAllOrNothing(t *testing.T, e *env) {
	t0 := e.clock.Stamp()
	MustPut(t, e.s, &user.User{Key: "a@example.com", Attributes: map[string]any{"v": "original"}})
	e.clock.Advance(time.Hour)

	update := user.User{Key: "a@example.com", Attributes: map[string]any{"v": "changed", "secret": secret}}
	add := user.User{Key: "b@example.com", Attributes: map[string]any{"secret": secret}}
	batches := map[string][]user.User{
		"duplicate key":          {update, add, {Key: "a@example.com"}},
		"duplicate of a new key": {add, {Key: "c@example.com"}, add},
	}
	for _, bad := range invalidUsers() {
		batches[bad.name+" last"] = []user.User{update, add, bad.u}
		batches[bad.name+" first"] = []user.User{bad.u, update, add}
	}
	for name, batch := range batches {
		err := e.s.Import(t.Context(), batch, user.ImportOptions{})
		if !errors.Is(err, user.ErrInvalid) {
			t.Errorf("%s: Import error = %v, want ErrInvalid", name, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: Import error %q shows an attribute value", name, err)
		}
		wantUser(t, MustGet(t, e.s, "a@example.com"), user.User{Key: "a@example.com", Attributes: map[string]any{"v": "original"}, CreatedAt: t0, UpdatedAt: t0})
		wantKeys(t, e.s, []string{"a@example.com"})
	}
}

// testImportProgress pins what a progress bar relies on: calls rise, never
// pass the batch's size, and the last one reports all of it.
func testImportProgress(t *testing.T, e *env) {
	users := manyUsers(2503)
	var calls []int
	err := e.s.Import(t.Context(), users, user.ImportOptions{Progress: func(n int) { calls = append(calls, n) }})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if len(calls) == 0 || calls[len(calls)-1] != len(users) {
		t.Fatalf("progress calls %v: the last must be %d", calls, len(users))
	}
	for i, n := range calls {
		if n <= 0 || n > len(users) || (i > 0 && n <= calls[i-1]) {
			t.Fatalf("progress calls %v do not rise within 1..%d", calls, len(users))
		}
	}
	// A failed import reports no more than it wrote before failing, and
	// stores nothing.
	calls = nil
	bad := append(manyUsers(10), user.User{Key: ""})
	if err := e.s.Import(t.Context(), bad, user.ImportOptions{Progress: func(n int) { calls = append(calls, n) }}); !errors.Is(err, user.ErrInvalid) {
		t.Fatalf("Import of a bad batch: %v, want ErrInvalid", err)
	}
	if len(calls) != 0 {
		t.Errorf("a batch refused before writing reported progress %v", calls)
	}
}

func testImportMany(t *testing.T, e *env) {
	// More users than a page and than any sensible insert batch, and not
	// a multiple of either, to catch off-by-one batching.
	users := manyUsers(2503)
	MustImport(t, e.s, users)
	var got []user.User
	for u, err := range user.All(t.Context(), e.s) {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		got = append(got, u)
	}
	if len(got) != len(users) {
		t.Fatalf("listed %d users after importing %d", len(got), len(users))
	}
	now := e.clock.Stamp()
	for i, u := range users { // manyUsers returns them sorted
		u.CreatedAt, u.UpdatedAt = now, now
		wantUser(t, &got[i], u)
	}
}

// manyUsers returns n users in ascending key order.
func manyUsers(n int) []user.User {
	users := make([]user.User, n)
	for i := range users {
		users[i] = user.User{
			Key:        fmt.Sprintf("user%06d@example.com", i),
			Attributes: map[string]any{"patientId": fmt.Sprint(i), "n": json.Number(fmt.Sprint(i)), "groups": []any{"g"}},
		}
	}
	return users
}

func testConcurrent(t *testing.T, e *env) {
	const workers, rounds = 8, 40
	MustPut(t, e.s, &user.User{Key: "shared@example.com", Attributes: map[string]any{"writer": json.Number("-1")}})
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				key := fmt.Sprintf("w%d-r%03d@example.com", w, r)
				attrs := map[string]any{"w": json.Number(fmt.Sprint(w)), "r": json.Number(fmt.Sprint(r))}
				if err := e.s.Put(ctx, &user.User{Key: key, Attributes: attrs}); err != nil {
					t.Errorf("Put(%q): %v", key, err)
					return
				}
				got, err := e.s.Get(ctx, key)
				if err != nil {
					t.Errorf("Get(%q): %v", key, err)
					return
				}
				if !reflect.DeepEqual(got.Attributes, attrs) {
					t.Errorf("Get(%q).Attributes = %#v, want %#v", key, got.Attributes, attrs)
				}
				if err := e.s.Put(ctx, &user.User{Key: "shared@example.com", Attributes: map[string]any{"writer": json.Number(fmt.Sprint(w))}}); err != nil {
					t.Errorf("Put(shared): %v", err)
				}
				if _, err := e.s.Get(ctx, "shared@example.com"); err != nil {
					t.Errorf("Get(shared): %v", err)
				}
				if _, err := e.s.List(ctx, user.ListOptions{After: key, Limit: 5}); err != nil {
					t.Errorf("List: %v", err)
				}
				if r%2 == 1 {
					if err := e.s.Delete(ctx, key); err != nil {
						t.Errorf("Delete(%q): %v", key, err)
					}
				}
				if r%10 == 0 {
					batch := []user.User{{Key: fmt.Sprintf("w%d-batch@example.com", w)}, {Key: "shared-import@example.com"}}
					if err := e.s.Import(ctx, batch, user.ImportOptions{}); err != nil {
						t.Errorf("Import: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()

	var want []string
	for w := range workers {
		for r := 0; r < rounds; r += 2 {
			want = append(want, fmt.Sprintf("w%d-r%03d@example.com", w, r))
		}
		want = append(want, fmt.Sprintf("w%d-batch@example.com", w))
	}
	want = append(want, "shared-import@example.com", "shared@example.com")
	slices.Sort(want)
	wantKeys(t, e.s, want)
}

func testCanceled(t *testing.T, e *env) {
	MustPut(t, e.s, &user.User{Key: "a@example.com"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if _, err := e.s.Get(ctx, "a@example.com"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: error = %v, want context.Canceled", err)
	}
	if err := e.s.Put(ctx, &user.User{Key: "b@example.com"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: error = %v, want context.Canceled", err)
	}
	if err := e.s.Delete(ctx, "a@example.com"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: error = %v, want context.Canceled", err)
	}
	if _, err := e.s.List(ctx, user.ListOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List: error = %v, want context.Canceled", err)
	}
	if err := e.s.Import(ctx, []user.User{{Key: "c@example.com"}, {Key: "a@example.com", Attributes: map[string]any{"x": "y"}}}, user.ImportOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Import: error = %v, want context.Canceled", err)
	}
	// Nothing a cancelled call was asked to do happened.
	wantKeys(t, e.s, []string{"a@example.com"})
	wantAttributes(t, MustGet(t, e.s, "a@example.com").Attributes, map[string]any{})
}

// MustPut puts u into s or fails the test.
func MustPut(tb testing.TB, s user.Store, u *user.User) {
	tb.Helper()
	if err := s.Put(tb.Context(), u); err != nil {
		tb.Fatalf("Put(%q): %v", short(u.Key), err)
	}
}

// MustGet returns the user with key from s or fails the test.
func MustGet(tb testing.TB, s user.Store, key string) *user.User {
	tb.Helper()
	u, err := s.Get(tb.Context(), key)
	if err != nil {
		tb.Fatalf("Get(%q): %v", short(key), err)
	}
	return u
}

// MustDelete deletes the user with key from s or fails the test.
func MustDelete(tb testing.TB, s user.Store, key string) {
	tb.Helper()
	if err := s.Delete(tb.Context(), key); err != nil {
		tb.Fatalf("Delete(%q): %v", short(key), err)
	}
}

// MustImport imports users into s or fails the test.
func MustImport(tb testing.TB, s user.Store, users []user.User) {
	tb.Helper()
	if err := s.Import(tb.Context(), users, user.ImportOptions{}); err != nil {
		tb.Fatalf("Import of %d users: %v", len(users), err)
	}
}

// wantKeys checks that s holds exactly the users with keys, in that order.
func wantKeys(tb testing.TB, s user.Store, keys []string) {
	tb.Helper()
	var got []string
	for u, err := range user.All(tb.Context(), s) {
		if err != nil {
			tb.Fatalf("listing users: %v", err)
		}
		got = append(got, u.Key)
	}
	if !slices.Equal(got, keys) {
		tb.Errorf("store holds %q, want %q", got, keys)
	}
}

// wantUser checks got against want field by field: times with Equal and in
// UTC, attributes with their exact Go types.
func wantUser(tb testing.TB, got *user.User, want user.User) {
	tb.Helper()
	if got == nil {
		tb.Fatalf("got no user, want %q", want.Key)
	}
	if got.Key != want.Key {
		tb.Errorf("Key = %q, want %q", got.Key, want.Key)
	}
	for _, tt := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"UpdatedAt", got.UpdatedAt, want.UpdatedAt},
	} {
		if !tt.got.Equal(tt.want) {
			tb.Errorf("%s of %q = %v, want %v", tt.name, want.Key, tt.got, tt.want)
		}
		if tt.got.Location() != time.UTC {
			tb.Errorf("%s of %q is in %v, want UTC", tt.name, want.Key, tt.got.Location())
		}
	}
	wantAttributes(tb, got.Attributes, want.Attributes)
}

// wantAttributes reports the attributes that differ, with their Go types,
// since a float64 where a json.Number belongs is as wrong as another value.
func wantAttributes(tb testing.TB, got, want map[string]any) {
	tb.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	for _, k := range slices.Sorted(mapKeys(got, want)) {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			tb.Errorf("attribute %q missing, want %#v", k, w)
		case !wok:
			tb.Errorf("attribute %q = %#v, want none", k, g)
		case !reflect.DeepEqual(g, w):
			tb.Errorf("attribute %q = %#v, want %#v", k, g, w)
		}
	}
	if (got == nil) != (want == nil) {
		tb.Errorf("attributes = %#v, want %#v", got, want)
	}
}

func mapKeys(ms ...map[string]any) iter.Seq[string] {
	return func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, m := range ms {
			for k := range m {
				if !seen[k] {
					seen[k] = true
					if !yield(k) {
						return
					}
				}
			}
		}
	}
}

func userKeys(users []user.User) []string {
	keys := make([]string, len(users))
	for i, u := range users {
		keys[i] = u.Key
	}
	return keys
}

// short cuts a key down for messages: the suite's longest keys are 1 KiB.
func short(key string) string {
	if len(key) <= 40 {
		return key
	}
	return fmt.Sprintf("%s...(%d bytes)", strings.ToValidUTF8(key[:32], ""), len(key))
}
