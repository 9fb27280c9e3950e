package user_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/memory"
)

const secret = "s3cret-078-05-1120"

func TestValidateKey(t *testing.T) {
	t.Parallel()
	for _, key := range []string{
		"jessie.smith@example.com",
		"a",
		"with inner space",
		"jöschi@例え.jp",
		strings.Repeat("k", user.MaxKeyLen),
	} {
		if err := user.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%.20q): %v", key, err)
		}
	}
	for key, want := range map[string]string{
		"":                                    "invalid user: missing key",
		strings.Repeat("k", user.MaxKeyLen+1): "invalid user: key is longer than 1024 bytes",
		"a\xffb":                              "invalid user: key is not valid UTF-8",
		" a":                                  `invalid user: key " a" has leading or trailing white space`,
		"a\t":                                 `invalid user: key "a\t" has leading or trailing white space`,
		"\u3000a":                             `invalid user: key "\u3000a" has leading or trailing white space`,
		"a\nb":                                `invalid user: key "a\nb" contains a control character`,
		"a\u0085b":                            `invalid user: key "a\u0085b" contains a control character`,
	} {
		err := user.ValidateKey(key)
		if !errors.Is(err, user.ErrInvalid) || err.Error() != want {
			t.Errorf("ValidateKey(%.20q) = %v, want %q wrapping ErrInvalid", key, err, want)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		u    *user.User
		want string // "" for valid
	}{
		{&user.User{Key: "a", Attributes: map[string]any{"n": 1, "s": []string{"x"}}}, ""},
		{&user.User{Key: "a"}, ""},
		{nil, "invalid user: nil user"},
		{&user.User{Key: ""}, "invalid user: missing key"},
		{&user.User{Key: "a", Attributes: map[string]any{"x": map[string]any{"y": math.NaN(), "s": secret}}}, `invalid user: attribute "/x/y": a value of Go type float64 cannot be encoded as JSON`},
		{&user.User{Key: "a", Attributes: map[string]any{"x": []any{1, make(chan int)}}}, `invalid user: attribute "/x/1": a value of Go type chan int cannot be encoded as JSON`},
		{&user.User{Key: "a", Attributes: map[string]any{"x": secret + "\xff"}}, `invalid user: attribute "/x": text is not valid UTF-8`},
		{&user.User{Key: "a", Attributes: map[string]any{"x\xff": secret}}, `invalid user: attributes: text is not valid UTF-8`},
		{&user.User{Key: "a", Attributes: map[string]any{"n": json.Number(secret)}}, `invalid user: attribute "/n": a value of Go type json.Number cannot be encoded as JSON`},
	} {
		err := user.Validate(tt.u)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%+v): %v", tt.u, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want || !errors.Is(err, user.ErrInvalid)):
			t.Errorf("Validate(%+v) = %v, want %q wrapping ErrInvalid", tt.u, err, tt.want)
		}
	}
}

func TestPageLimit(t *testing.T) {
	t.Parallel()
	for limit, want := range map[int]int{0: 100, 1: 1, 999: 999, 1000: 1000, 1001: 1000, math.MaxInt: 1000} {
		if got, err := (user.ListOptions{Limit: limit}).PageLimit(); got != want || err != nil {
			t.Errorf("PageLimit with Limit %d = %d, %v; want %d", limit, got, err, want)
		}
	}
	if _, err := (user.ListOptions{Limit: -1}).PageLimit(); !errors.Is(err, user.ErrInvalid) {
		t.Errorf("PageLimit with Limit -1: error = %v, want ErrInvalid", err)
	}
}

func TestTimestamp(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 6007008, time.FixedZone("X", -7*3600))
	got := user.Timestamp(func() time.Time { return fixed })
	if want := time.Date(2026, 1, 2, 10, 4, 5, 6007000, time.UTC); got != want {
		t.Errorf("Timestamp = %v, want %v", got, want)
	}
	before := time.Now()
	got = user.Timestamp(nil)
	if got.Location() != time.UTC || got.Nanosecond()%1000 != 0 || got.Before(before.Truncate(time.Microsecond)) || got.After(time.Now()) {
		t.Errorf("Timestamp(nil) = %v, want now in UTC to the microsecond", got)
	}
	// No monotonic reading: == works, as for times read from a database.
	if got != got.Round(0) {
		t.Error("Timestamp kept the monotonic clock reading")
	}
}

// canonical holds every JSON type in the form DecodeAttributes returns.
func canonical() map[string]any {
	return map[string]any{
		"s": "x", "n": json.Number("12345678901234567890"), "f": json.Number("-1.50e-3"),
		"t": true, "false": false, "null": nil,
		"a": []any{json.Number("1"), "two", []any{}, map[string]any{"k": nil}},
		"o": map[string]any{"nested": map[string]any{}, "名前": "山田"},
		"":  "empty name",
	}
}

func TestAttributesRoundTrip(t *testing.T) {
	t.Parallel()
	b, err := user.EncodeAttributes(canonical())
	if err != nil {
		t.Fatal(err)
	}
	got, err := user.DecodeAttributes(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, canonical()) {
		t.Errorf("round trip = %#v, want %#v", got, canonical())
	}
	// Members are sorted, so equal attributes are equal bytes.
	want := `{"":"empty name","a":[1,"two",[],{"k":null}],"f":-1.50e-3,"false":false,"n":12345678901234567890,"null":null,"o":{"nested":{},"名前":"山田"},"s":"x","t":true}`
	if string(b) != want {
		t.Errorf("EncodeAttributes =\n%s\nwant\n%s", b, want)
	}
	if b, err := user.EncodeAttributes(nil); string(b) != "{}" || err != nil {
		t.Errorf("EncodeAttributes(nil) = %s, %v; want {}", b, err)
	}
	if m, err := user.DecodeAttributes([]byte(" {} ")); m == nil || len(m) != 0 || err != nil {
		t.Errorf("DecodeAttributes({}) = %#v, %v; want an empty map", m, err)
	}
}

func TestDecodeAttributesErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		``:                                "attributes are not a JSON object",
		`null`:                            "attributes are not a JSON object",
		`["` + secret + `"]`:              "attributes are not a JSON object",
		`{"a": "` + secret + `"} x`:       "attributes are not valid JSON: byte 28: invalid character 'x' after top-level value",
		`{"a": "` + secret + `", "a": 1}`: "attributes are not valid JSON: byte 28: duplicate object member name",
		`{"a": "\ud800` + secret + `"}`:   "attributes are not valid JSON: byte 7: invalid surrogate pair in string",
		`{"a": "\x` + secret + `"}`:       "attributes are not valid JSON: byte 7: invalid escape sequence in string",
		`{"a": "` + secret + "\xff\"}":    "attributes are not valid JSON: byte 25: invalid UTF-8",
		`{"a": ` + secret + `}`:           "attributes are not valid JSON: byte 6: invalid character 's' at start of value",
	} {
		_, err := user.DecodeAttributes([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("DecodeAttributes(%q) error = %v, want %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), secret[:4]) {
			t.Errorf("DecodeAttributes(%q) error %q quotes the value", in, err)
		}
	}
}

func TestCloneAttributes(t *testing.T) {
	t.Parallel()
	if user.CloneAttributes(nil) != nil {
		t.Error("CloneAttributes(nil) is not nil")
	}
	orig := canonical()
	clone := user.CloneAttributes(orig)
	if !reflect.DeepEqual(clone, orig) {
		t.Fatalf("clone = %#v, want %#v", clone, orig)
	}
	clone["s"] = "changed"
	clone["a"].([]any)[1] = "changed"
	clone["a"].([]any)[3].(map[string]any)["k"] = "changed"
	clone["o"].(map[string]any)["nested"].(map[string]any)["x"] = 1
	if !reflect.DeepEqual(orig, canonical()) {
		t.Errorf("changing the clone changed the original: %#v", orig)
	}
}

func TestAll(t *testing.T) {
	t.Parallel()
	s := memory.New(memory.Config{})
	defer s.Close()
	users := make([]user.User, 2*user.MaxListLimit+3)
	for i := range users {
		users[i] = user.User{Key: fmt.Sprintf("u%05d", i)}
	}
	if err := s.Import(t.Context(), users, user.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for u, err := range user.All(t.Context(), s) {
		if err != nil {
			t.Fatal(err)
		}
		if u.Key != users[n].Key {
			t.Fatalf("user %d = %q, want %q", n, u.Key, users[n].Key)
		}
		n++
	}
	if n != len(users) {
		t.Errorf("All yielded %d users, want %d", n, len(users))
	}
	for range user.All(t.Context(), s) {
		break // stopping early must not panic
	}

	boom := errors.New("boom")
	calls := 0
	failing := listerFunc(func(context.Context, user.ListOptions) (user.Page, error) {
		calls++
		return user.Page{}, boom
	})
	for _, err := range user.All(t.Context(), failing) {
		if !errors.Is(err, boom) {
			t.Errorf("All yielded error %v, want the List error", err)
		}
	}
	if calls != 1 {
		t.Errorf("All called a failing List %d times, want 1", calls)
	}
}

type listerFunc func(context.Context, user.ListOptions) (user.Page, error)

func (f listerFunc) List(ctx context.Context, o user.ListOptions) (user.Page, error) {
	return f(ctx, o)
}

func BenchmarkDecodeAttributes(b *testing.B) {
	data := []byte(`{"clinic":{"id":42,"name":"Main Street"},"groups":["patients","portal"],"patientId":"100123"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := user.DecodeAttributes(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeAttributes(b *testing.B) {
	attrs := map[string]any{"clinic": map[string]any{"id": json.Number("42"), "name": "Main Street"}, "groups": []any{"patients", "portal"}, "patientId": "100123"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := user.EncodeAttributes(attrs); err != nil {
			b.Fatal(err)
		}
	}
}
