package inlinehook

import (
	"bytes"
	"encoding/binary"
	"encoding/json/v2"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fast path of PartialDecoder.Decode (decodeFast) must agree with
// json/v2 (decodeReference) on every input, for every selection of parts:
// where the fast path returns a request, json/v2 accepts the input and
// decodes the same request, Unknown bytes included; where it does not,
// Decode is json/v2's own result and error.
//
// Results are compared with reflect.DeepEqual (as strict as cmp.Diff here:
// nil and empty maps, slices and Unknown values differ), and cmp.Diff
// reports the difference: cmp's slice diff is exponential in nesting depth.

// diffSelections are the Parts the differential tests decode with.
var diffSelections = []Parts{
	{User: true, Claims: []string{"preferred_username"}}, // the default mapping's
	{},
	{Claims: []string{}},
	{User: true},
	{User: true, UserLinks: true},
	{UserLinks: true}, // links without the user: nothing of the user
	{Protocol: true, Scopes: true, Claims: []string{"sub", "uid", "cid"}},
	{Request: true, Session: true, Policy: true, RefreshToken: true, Claims: []string{"amr", "employee_profile", "ver", "nonce"}},
	{Protocol: true, RefreshToken: true, Claims: AllClaims},
	{Request: true, Protocol: true, Session: true, User: true, UserLinks: true, Policy: true, RefreshToken: true, Scopes: true, Claims: AllClaims},
	{Request: true, Protocol: true, Session: true, User: true, UserLinks: true, Policy: true, RefreshToken: true, Scopes: true,
		Claims: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "sub", "preferred_username", "auth_time", "ver", "amr"}}, // a claim set, not a list
	{Session: true, Claims: []string{"*", "email"}}, // "*" among others is a claim name
}

var diffDecoders = func() []*PartialDecoder {
	var ds []*PartialDecoder
	for _, p := range diffSelections {
		ds = append(ds, NewPartialDecoder(p))
	}
	return ds
}()

// diffLimits are the limits the differential tests also decode with: the
// fast path must refuse to vouch for input over them, and the reference
// (checkLimits, then json/v2) defines the error.
var diffLimits = []Limits{
	{MaxDepth: 32, MaxStringBytes: 64 << 10}, // the configuration's defaults: every fixture is within them
	{MaxDepth: 8, MaxStringBytes: 1024},      // the least the configuration allows
	{MaxDepth: 5, MaxStringBytes: 40},        // fixtures are over both
	{MaxDepth: 4},
	{MaxStringBytes: 7},                // below 16: the fast path leaves all to the reference
	{MaxStringBytes: 16},               // the least the fast path reads
	{MaxDepth: 64, MaxStringBytes: 17}, // the fast path's own depth; names of 16 and 17 bytes
	{MaxDepth: 70},                     // deeper than the fast path goes
}

// limitedDecoder is a decoder with limits, and the same decoder without.
type limitedDecoder struct {
	limits    Limits
	d, plain  *PartialDecoder
	selection int // index in diffSelections
}

// diffLimitedDecoders are some selections (the default mapping's, none,
// all) under every diffLimits.
var diffLimitedDecoders = func() []limitedDecoder {
	var ds []limitedDecoder
	for _, l := range diffLimits {
		for _, sel := range []int{0, 1, 9} {
			plain := diffDecoders[sel]
			ds = append(ds, limitedDecoder{limits: l, d: plain.WithLimits(l), plain: plain, selection: sel})
		}
	}
	return ds
}()

// checkAgainstReference checks one input against json/v2 for every
// selection, with and without limits, and reports whether the fast path
// decoded it for every selection without limits.
func checkAgainstReference(t *testing.T, in []byte) (fast bool) {
	t.Helper()
	fast = true
	for i, d := range diffDecoders {
		if checkDecoder(t, d, in, i == 0, func() string { return "selection " + strconv.Itoa(i) }) == nil {
			fast = false
		}
	}
	overs := map[Limits]bool{}
	for _, ld := range diffLimitedDecoders {
		name := func() string { return fmt.Sprintf("selection %d, limits %+v", ld.selection, ld.limits) }
		checkDecoder(t, ld.d, in, true, name)
		// The limits change nothing else: within them, the decoder is the
		// one without limits; over them, the error is checkLimits'.
		got, err := ld.d.Decode(in)
		limitErr := checkLimits(in, ld.limits)
		if limitErr != nil {
			var le *LimitError
			if !errors.As(err, &le) || err.Error() != limitErr.Error() {
				t.Fatalf("%s: Decode err = %v, want the limit error %v", name(), err, limitErr)
			}
		} else {
			want, wantErr := ld.plain.decodeReference(in)
			if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() || !reflect.DeepEqual(want, got) {
				t.Fatalf("%s: within the limits, Decode = %v, %v; without limits %v, %v", name(), got, err, want, wantErr)
			}
		}
		// checkLimits against a plain count over json/v2's any, for
		// input that is one valid value.
		if _, seen := overs[ld.limits]; !seen {
			over, ok := overLimits(in, ld.limits)
			overs[ld.limits] = over
			if ok && over != (limitErr != nil) {
				t.Fatalf("limits %+v: checkLimits says %v, the input is over them: %v", ld.limits, limitErr, over)
			}
		}
	}
	return fast
}

// checkDecoder checks d's fast path and Decode against its reference on
// in, and returns what the fast path decoded. Decode is checked where the
// fast path falls back only if always is true: it is decodeReference then.
func checkDecoder(t *testing.T, d *PartialDecoder, in []byte, always bool, name func() string) *TokenRequest {
	t.Helper()
	f := d.decodeFast(in)
	want, wantErr := d.decodeReference(in)
	switch {
	case f == nil:
	case wantErr != nil:
		t.Fatalf("%s: the fast path accepts what the reference rejects (%v)", name(), wantErr)
	case !reflect.DeepEqual(want, f):
		t.Fatalf("%s: the fast path and json/v2 differ (-json/v2 +fast):\n%s", name(), cmp.Diff(want, f))
	}
	if !always && f == nil {
		return f
	}
	got, err := d.Decode(in)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%s: Decode err = %v, json/v2 err = %v", name(), err, wantErr)
	}
	if err != nil {
		var de *DecodeError
		var le *LimitError
		if !errors.As(err, &de) && !errors.As(err, &le) || err.Error() != wantErr.Error() {
			t.Fatalf("%s: Decode err = %#v, want json/v2's %v", name(), err, wantErr)
		}
		return f
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s: Decode and json/v2 differ (-json/v2 +Decode):\n%s", name(), cmp.Diff(want, got))
	}
	return f
}

// overLimits reports whether in, a JSON value, nests deeper or has a
// string (or a name) longer than l allows, by counting over json/v2's
// decode into an any. ok is false when json/v2 does not decode in.
func overLimits(in []byte, l Limits) (over, ok bool) {
	var v any
	if err := json.Unmarshal(in, &v); err != nil {
		return false, false
	}
	var walk func(v any, depth int) bool
	longer := func(s string) bool { return l.MaxStringBytes > 0 && len(s) > l.MaxStringBytes }
	walk = func(v any, depth int) bool {
		switch v := v.(type) {
		case string:
			return longer(v)
		case []any:
			if l.MaxDepth > 0 && depth+1 > l.MaxDepth {
				return true
			}
			for _, e := range v {
				if walk(e, depth+1) {
					return true
				}
			}
		case map[string]any:
			if l.MaxDepth > 0 && depth+1 > l.MaxDepth {
				return true
			}
			for k, e := range v {
				if longer(k) || walk(e, depth+1) {
					return true
				}
			}
		}
		return false
	}
	return walk(v, 0), true
}

// diffFixtures returns the request fixtures: this package's and the load
// benchmark's.
func diffFixtures(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no request fixtures: %v", err)
	}
	files = append(files, filepath.Join("..", "bench", "testdata", "request.json"))
	m := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		m[f] = b
	}
	return m
}

// mutation rewrites a request: old (its first occurrence) becomes new.
type mutation struct{ name, old, new string }

// mutations are the edits the differential tests apply to every fixture:
// what json/v2 rejects, and what it accepts but the fast path may not.
var mutations = func() []mutation {
	deep := func(n int, open, closer string) string {
		return strings.Repeat(open, n) + strings.Repeat(closer, n)
	}
	var many strings.Builder
	for i := range 70 {
		many.WriteString(`"m` + strconv.Itoa(i) + `":` + strconv.Itoa(i) + `,`)
	}
	ms := []mutation{
		// Duplicate names, in decoded and in skipped parts.
		{"dup envelope", `"eventId"`, `"eventId":"x","eventId"`},
		{"dup envelope unknown", `"eventId"`, `"zz":1,"zz":2,"eventId"`},
		{"dup envelope escaped", `"eventId"`, `"\u0065ventId":"x","eventId"`},
		{"dup data", `"context"`, `"identity":null,"context"`},
		{"dup session", `"session": {`, `"session": {"id":"d",`},
		{"dup user", `"user": {`, `"user": {"id":"d",`},
		{"dup profile", `"profile": {`, `"profile": {"login":"d",`},
		{"dup links", `"_links": {`, `"_links": {"groups":1,`},
		{"dup claim wanted", `"claims": {`, `"claims": {"preferred_username":"d",`},
		{"dup claim skipped", `"claims": {`, `"claims": {"sub":"d",`},
		{"dup in array object", `"amr"`, `"x":[{"a":1,"a":2}],"amr"`},
		{"dup lifetime", `"expiration"`, `"expiration":1,"expiration"`},
		{"same hash names", `"eventId"`, `"ab1b":1,"ac1b":2,"ab2b":3,"eventId"`},
		// Invalid and valid UTF-8.
		{"invalid utf-8 envelope", `"eventType": "`, "\"eventType\": \"\xff"},
		{"invalid utf-8 skipped", `"ipAddress": "`, "\"ipAddress\": \"\xc3"},
		{"overlong", `"ipAddress": "`, "\"ipAddress\": \"\xc0\xaf"},
		{"surrogate utf-8", `"login": "`, "\"login\": \"\xed\xa0\x80"},
		{"beyond U+10FFFF", `"login": "`, "\"login\": \"\xf4\x90\x80\x80"},
		{"invalid utf-8 name", `"eventId"`, "\"\xffeventId\":1,\"eventId\""},
		{"valid utf-8", `"login": "`, "\"login\": \"j\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd"},
		{"DEL", `"login": "`, "\"login\": \"\x7f"},
		{"control character", `"login": "`, "\"login\": \"\n"},
		{"NUL", `"login": "`, "\"login\": \"\x00"},
		// Escapes.
		{"escapes decoded", `"login": "`, `"login": "\u00e9\n\t\"\\\/\b\f\r\u0000\ud83d\ude00`},
		{"escapes skipped", `"ipAddress": "`, `"ipAddress": "\u00e9\n\t\"\\\/\ud83d\ude00`},
		{"escapes claim", `"preferred_username": "`, `"preferred_username": "\u00E9\/`},
		{"escapes unknown", `"eventId"`, `"x":"\u00e9\n","eventId"`},
		{"lone high surrogate", `"login": "`, `"login": "\ud800`},
		{"lone low surrogate", `"login": "`, `"login": "\udc00`},
		{"high then not low", `"login": "`, `"login": "\ud800\u0041`},
		{"high then escape", `"login": "`, `"login": "\ud800\n`},
		{"invalid escape", `"login": "`, `"login": "\x`},
		{"short unicode escape", `"login": "`, `"login": "\u12"`},
		{"bad hex", `"login": "`, `"login": "\u12g4`},
		{"escaped name decoded", `"eventId"`, `"\u0065ventId"`},
		{"escaped name unknown", `"eventId"`, `"\u00e9":1,"eventId"`},
		{"escaped name skipped", `"ipAddress"`, `"ip\u0041ddress"`},
		// Numbers.
		{"expiration fraction", `"expiration": 3600`, `"expiration": 3600.0`},
		{"expiration exponent", `"expiration": 3600`, `"expiration": 36e2`},
		{"expiration negative zero", `"expiration": 3600`, `"expiration": -0`},
		{"expiration negative", `"expiration": 3600`, `"expiration": -3600`},
		{"expiration max", `"expiration": 3600`, `"expiration": 9223372036854775807`},
		{"expiration min", `"expiration": 3600`, `"expiration": -9223372036854775808`},
		{"expiration overflow", `"expiration": 3600`, `"expiration": 9223372036854775808`},
		{"expiration 18 digits", `"expiration": 3600`, `"expiration": 999999999999999999`},
		{"expiration 19 digits", `"expiration": 3600`, `"expiration": 1000000000000000000`},
		{"expiration string", `"expiration": 3600`, `"expiration": "3600"`},
		{"expiration null", `"expiration": 3600`, `"expiration": null`},
		{"expiration leading zero", `"expiration": 3600`, `"expiration": 03600`},
		{"expiration plus", `"expiration": 3600`, `"expiration": +3600`},
		{"claim numbers", `"claims": {`, `"claims": {"preferred_username":[0,-0,1.5,-2e-3,1E+2,0.1e1,123456789012345678901234567890,5e-324,1e-400],`},
		{"claim overflow", `"claims": {`, `"claims": {"preferred_username":1e400,`},
		{"skipped overflow", `"claims": {`, `"claims": {"zz":1e400,`},
		{"bad numbers skipped", `"claims": {`, `"claims": {"zz":1.,`},
		{"minus alone", `"claims": {`, `"claims": {"zz":-,`},
		{"dot first", `"claims": {`, `"claims": {"zz":.5,`},
		{"exponent alone", `"claims": {`, `"claims": {"zz":1e,`},
		{"exponent sign alone", `"claims": {`, `"claims": {"zz":1e+,`},
		{"hex number", `"claims": {`, `"claims": {"zz":0x1,`},
		{"number then garbage", `"claims": {`, `"claims": {"zz":1x,`},
		// Literals.
		{"literals", `"claims": {`, `"claims": {"preferred_username":[true,false,null],"zz":[true,false,null],`},
		{"bad literal", `"claims": {`, `"claims": {"zz":tru,`},
		{"literal case", `"claims": {`, `"claims": {"zz":True,`},
		{"literal then garbage", `"claims": {`, `"claims": {"zz":nullx,`},
		// Structure.
		{"trailing comma object", `"eventId"`, `"x":{"a":1,},"eventId"`},
		{"trailing comma array", `"eventId"`, `"x":[1,],"eventId"`},
		{"leading comma array", `"eventId"`, `"x":[,1],"eventId"`},
		{"missing colon", `"eventId"`, `"x" 1,"eventId"`},
		{"missing comma", `"eventId"`, `"x":1 "y":2,"eventId"`},
		{"name not string", `"eventId"`, `x:1,"eventId"`},
		{"single quotes", `"eventId"`, `'x':1,"eventId"`},
		{"empty containers", `"eventId"`, `"x":[{},[],{"":[]}],"":{},"eventId"`},
		{"whitespace everywhere", `"eventId"`, " \t\r\n\"x\" \t\r\n: \t\r\n[ \t\r\n1 \t\r\n, \t\r\n{ \t\r\n} \t\r\n] \t\r\n, \t\r\n\"eventId\""},
		{"form feed", `"eventId"`, "\f\"eventId\""},
		{"comment", `"eventId"`, `/* x */"eventId"`},
		{"deep arrays", `"eventId"`, `"x":` + deep(maxDepth-1, "[", "]") + `,"eventId"`},
		{"deeper arrays", `"eventId"`, `"x":` + deep(maxDepth, "[", "]") + `,"eventId"`},
		{"too deep", `"eventId"`, `"x":` + deep(10001, "[", "]") + `,"eventId"`},
		{"deep claim", `"claims": {`, `"claims": {"preferred_username":` + deep(120, "[", "]") + `,`},
		{"deep objects", `"eventId"`, `"x":` + strings.Repeat(`{"a":`, maxDepth-1) + "1" + strings.Repeat("}", maxDepth-1) + `,"eventId"`},
		{"unbalanced", `"eventId"`, `"x":[1},"eventId"`},
		{"many members", `"eventId"`, many.String() + `"eventId"`},
		{"many claims", `"claims": {`, `"claims": {` + many.String()},
		// Wrong types and nulls.
		{"envelope number", `"eventId": "`, `"eventId": 5, "x": "`},
		{"envelope null", `"eventId": "`, `"eventId": null, "x": "`},
		{"envelope bool", `"eventId": "`, `"eventId": true, "x": "`},
		{"data array", `"data": {`, `"data": [], "x": {`},
		{"data null", `"data": {`, `"data": null, "x": {`},
		{"context string", `"context": {`, `"context": "", "x": {`},
		{"identity string", `"identity": {`, `"identity": "x", "x": {`},
		{"identity null", `"identity": {`, `"identity": null, "x": {`},
		{"access array", `"access": {`, `"access": [], "x": {`},
		{"claims array", `"claims": {`, `"claims": [1], "x": {`},
		{"claims null", `"claims": {`, `"claims": null, "x": {`},
		{"claims empty", `"claims": {`, `"claims": {}, "x": {`},
		{"token null", `"token": {`, `"token": null, "x": {`},
		{"token number", `"token": {`, `"token": 1, "x": {`},
		{"lifetime null", `"lifetime": {`, `"lifetime": null, "x": {`},
		{"lifetime array", `"lifetime": {`, `"lifetime": [], "x": {`},
		{"user number", `"user": {`, `"user": 1, "x": {`},
		{"user null", `"user": {`, `"user": null, "x": {`},
		{"user empty", `"user": {`, `"user": {}, "x": {`},
		{"profile null", `"profile": {`, `"profile": null, "x": {`},
		{"profile string", `"profile": {`, `"profile": "p", "x": {`},
		{"links array", `"_links": {`, `"_links": [], "x": {`},
		{"links null", `"_links": {`, `"_links": null, "x": {`},
		{"session number", `"session": {`, `"session": 1, "x": {`},
		{"session null", `"session": {`, `"session": null, "x": {`},
		{"mfaActive string", `"mfaActive": true`, `"mfaActive": "yes"`},
		{"mfaActive false", `"mfaActive": true`, `"mfaActive": false`},
		{"mfaActive null", `"mfaActive": true`, `"mfaActive": null`},
		{"amr numbers", `"amr": [`, `"amr": [1,`},
		{"amr null element", `"amr": [`, `"amr": [null,`},
		{"amr empty", `"amr": [`, `"amr": [], "x": [`},
		{"amr null", `"amr": [`, `"amr": null, "x": [`},
		{"amr string", `"amr": [`, `"amr": "pwd", "x": [`},
		{"scopes array", `"scopes": {`, `"scopes": [], "x": {`},
		{"scope number", `"scopes": {`, `"scopes": {"zz":1,`},
		{"scope null", `"scopes": {`, `"scopes": {"zz":null,`},
		{"scope unknown", `"scopes": {`, `"scopes": {"zz":{"id":"i","x":[1]},`},
		{"refresh token string", `"data": {`, `"data": {"refresh_token":"r",`},
		{"refresh token unknown", `"data": {`, `"data": {"refresh_token":{"jti":"j","x":{}},`},
		{"original grant", `"issuer"`, `"OriginalGrant":{"authorization":{"client_id":"c","x":1},"refresh_token":{"jti":"j"},"x":2},"issuer"`},
		{"original grant skipped refresh token", `"issuer"`, `"OriginalGrant":{"refresh_token":[1,2]},"issuer"`},
		{"original grant null", `"issuer"`, `"OriginalGrant":null,"issuer"`},
		{"url number", `"url": {`, `"url": 1, "x": {`},
		{"url unknown", `"url": {`, `"url": {"x":null,`},
		{"idp array", `"idp": {`, `"idp": [], "x": {`},
		{"rule unknown", `"rule": {`, `"rule": {"name":"n",`},
		// Names json/v2 matches exactly, and unknown members everywhere.
		{"name case", `"eventId"`, `"EventId"`},
		{"data case", `"data"`, `"Data"`},
		{"field name Unknown", `"eventId"`, `"Unknown":{},"eventId"`},
		{"empty name", `"eventId"`, `"":1,"eventId"`},
		{"unknown in data", `"context"`, `"x":{"y":[1,"a",null]},"context"`},
		{"unknown in context", `"user"`, `"x" : [ 1 , 2 ] ,"user"`},
		{"unknown in token", `"claims"`, `"x":true,"claims"`},
		{"unknown in lifetime", `"expiration"`, `"x":-1.5e3,"expiration"`},
		{"unknown in token lifetime", `"lifetime"`, `"x":"y","lifetime"`},
		{"unknown in profile", `"login"`, `"x":{"a":{"b":[]}},"login"`},
		{"unknown in user", `"profile"`, `"x":"\u00e9","profile"`},
		// Strings and nesting around the limits of diffLimits.
		{"string 40 bytes", `"login": "`, `"login": "` + strings.Repeat("s", 40-len("jessie.smith@example.com"))},
		{"string 41 bytes", `"login": "`, `"login": "` + strings.Repeat("s", 41-len("jessie.smith@example.com"))},
		{"string 1025 bytes", `"login": "`, `"login": "` + strings.Repeat("s", 1025-len("jessie.smith@example.com"))},
		{"long skipped string", `"ipAddress": "`, `"ipAddress": "` + strings.Repeat("1", 2000)},
		{"long claim", `"claims": {`, `"claims": {"preferred_username":"` + strings.Repeat("c", 1500) + `",`},
		{"long unknown", `"eventId"`, `"x":["` + strings.Repeat("u", 1500) + `"],"eventId"`},
		{"long name", `"eventId"`, `"` + strings.Repeat("n", 1100) + `":1,"eventId"`},
		{"name 8 bytes", `"eventId"`, `"abcdefgh":1,"eventId"`},
		{"names 15 to 18 bytes", `"eventId"`, `"abcdefghijklmno":1,"abcdefghijklmnop":2,"abcdefghijklmnopq":3,"abcdefghijklmnopqr":4,"eventId"`},
		{"string 16 bytes", `"eventId": "`, `"eventId": "0123456789abcdef", "x": "`},
		{"string 17 bytes", `"eventId": "`, `"eventId": "0123456789abcdefg", "x": "`},
		{"long escaped string within", `"login": "`, `"login": "` + strings.Repeat(`\u00e9`, 200)}, // 1200 bytes, 400 unescaped
		{"long escaped string over", `"login": "`, `"login": "` + strings.Repeat(`\u00e9`, 520)},   // 1040 unescaped
		{"escaped string 7 bytes", `"login": "`, `"login": "\u00e9\u00e9\u00e9x`},
		{"long string then malformed", `"eventId"`, `"x":"` + strings.Repeat("m", 1100) + `",,"eventId"`},
		{"malformed then long string", `"eventId"`, `"x":,"` + strings.Repeat("m", 1100) + `","eventId"`},
		{"wrong type then long string", `"eventId": "`, `"eventId": 5, "x":"` + strings.Repeat("w", 1100) + `", "y": "`},
		{"depth 8", `"eventId"`, `"x":` + deep(7, "[", "]") + `,"eventId"`},
		{"depth 9", `"eventId"`, `"x":` + deep(8, "[", "]") + `,"eventId"`},
		{"deep objects 9", `"eventId"`, `"x":` + strings.Repeat(`{"a":`, 8) + "1" + strings.Repeat("}", 8) + `,"eventId"`},
		{"deep then malformed", `"eventId"`, `"x":` + deep(40, "[", "]") + `,,"eventId"`},
		{"deep claim value", `"claims": {`, `"claims": {"preferred_username":[[[[[["x"]]]]]],`},
	}
	return ms
}()

// prefixSuffixMutations edit the whole body.
var prefixSuffixMutations = []struct {
	name string
	edit func(b []byte) []byte
}{
	{"BOM", func(b []byte) []byte { return append([]byte("\xef\xbb\xbf"), b...) }},
	{"leading whitespace", func(b []byte) []byte { return append([]byte(" \t\r\n"), b...) }},
	{"trailing whitespace", func(b []byte) []byte { return append(bytes.Clone(b), " \t\r\n"...) }},
	{"trailing garbage", func(b []byte) []byte { return append(bytes.Clone(b), "x"...) }},
	{"trailing value", func(b []byte) []byte { return append(bytes.Clone(b), "{}"...) }},
	{"trailing NUL", func(b []byte) []byte { return append(bytes.Clone(b), 0) }},
	{"leading form feed", func(b []byte) []byte { return append([]byte("\f"), b...) }},
	{"in an array", func(b []byte) []byte { return append(append([]byte("["), b...), ']') }},
	{"compact", func(b []byte) []byte {
		var out []byte
		inString, escaped := false, false
		for _, c := range b {
			switch {
			case inString:
				escaped = !escaped && c == '\\'
				inString = escaped || c != '"'
			case c == '"':
				inString = true
			case c == ' ' || c == '\n' || c == '\t' || c == '\r':
				continue
			}
			out = append(out, c)
		}
		return out
	}},
}

// mutate returns the fixture with m applied, or nil if m does not apply.
func mutate(b []byte, m mutation) []byte {
	i := bytes.Index(b, []byte(m.old))
	if i < 0 {
		return nil
	}
	return bytes.Join([][]byte{b[:i], []byte(m.new), b[i+len(m.old):]}, nil)
}

// TestPartialDecodeMatchesReference runs the differential check over the
// fixtures, every mutation of them and every truncation.
func TestPartialDecodeMatchesReference(t *testing.T) {
	for name, body := range diffFixtures(t) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			if !checkAgainstReference(t, body) {
				t.Errorf("the fast path does not decode the fixture")
			}
			for _, ld := range diffLimitedDecoders {
				if ld.limits == diffLimits[0] && ld.d.decodeFast(body) == nil {
					t.Errorf("the fast path does not decode the fixture under the default limits")
				}
			}
			for _, m := range mutations {
				if in := mutate(body, m); in != nil {
					t.Run(m.name, func(t *testing.T) { checkAgainstReference(t, in) })
				}
			}
			for _, m := range prefixSuffixMutations {
				t.Run(m.name, func(t *testing.T) { checkAgainstReference(t, m.edit(body)) })
			}
			// Every truncation is an error; the fast path must see it. All
			// of them for the default, no and all parts; some for the rest.
			for n := range len(body) {
				for i, d := range diffDecoders {
					if i != 0 && i != 1 && i != 7 && n%17 != 0 {
						continue
					}
					if d.decodeFast(body[:n]) != nil {
						if _, err := d.decodeReference(body[:n]); err != nil {
							t.Fatalf("truncated to %d bytes: the fast path accepts what json/v2 rejects (%v)", n, err)
						}
					}
				}
				if n%29 != 0 {
					continue
				}
				for _, ld := range diffLimitedDecoders {
					if ld.d.decodeFast(body[:n]) != nil {
						t.Fatalf("truncated to %d bytes: the fast path with limits %+v accepts it", n, ld.limits)
					}
				}
			}
		})
	}
}

// TestNameHash pins that member's hash of a short name, read from the
// first word of the name, is nameHash's, which reads the name from its
// end or byte by byte: a duplicate read one way and then the other must
// still collide.
func TestNameHash(t *testing.T) {
	for _, name := range []string{"", "a", "ab", "abc", "sub", "login", "eventId", "abcdefg", "\x00\x01", "\xc3\xa9"} {
		for pad := range 12 {
			for tail := range 12 {
				d := []byte(strings.Repeat(" ", pad) + name + strings.Repeat(`"`, tail+1))
				start, end := pad, pad+len(name)
				var w uint64
				for k := range len(name) {
					w |= uint64(name[k]) << (8 * k)
				}
				if got, want := nameHash(d, start, end), wordHash(w, len(name)); got != want {
					t.Errorf("%q at %d of %d bytes: nameHash %#x, wordHash %#x", name, start, len(d), got, want)
				}
			}
		}
	}
	// And through member, both ways: member hashes a name it finds in the
	// sixteen bytes it reads, and calls nameHash for one within sixteen
	// bytes of the end of the input (the second, in the shorter inputs).
	letters := "abcdefghijklmnopqrstuvwxyz"
	d := NewPartialDecoder(Parts{})
	for n := range 21 {
		name := letters[:n]
		other := letters[1 : n+1]
		for _, pad := range []string{"", " ", "        "} {
			dup := `{"` + name + `":1,` + pad + `"` + name + `":2}`
			if d.decodeFast([]byte(dup)) != nil {
				t.Errorf("%s: duplicate names not seen", dup)
			}
			if n > 0 {
				distinct := `{"` + name + `":1,` + pad + `"` + other + `":2}`
				if d.decodeFast([]byte(distinct)) == nil {
					t.Errorf("%s: the fast path falls back", distinct)
				}
			}
		}
	}
}

// TestSpecial checks special against a byte loop on every byte in every
// position of a word, after plain bytes and after other special ones.
func TestSpecial(t *testing.T) {
	isSpecial := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80 }
	for c := range 256 {
		for pos := range 8 {
			for _, fill := range []byte{'a', ' ', 0x7f, '~'} {
				var b [8]byte
				for k := range b {
					b[k] = fill
				}
				b[pos] = byte(c)
				m := special(binary.LittleEndian.Uint64(b[:]))
				first := 8
				for k := range b {
					if isSpecial(b[k]) {
						first = k
						break
					}
				}
				got := 8
				if m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != first {
					t.Fatalf("%q: special says byte %d, want %d", b, got, first)
				}
			}
		}
	}
	// Two chosen bytes anywhere, around the edges of every class.
	edges := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7e, 0x7f,
		0x80, 0x81, 0x9f, 0xa0, 0xa1, 0xa2, 0xdc, 0xdf, 0xe0, 0xfe, 0xff, 'a'}
	for _, c1 := range edges {
		for _, c2 := range edges {
			for p1 := range 8 {
				for p2 := range 8 {
					b := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
					b[p1], b[p2] = c1, c2
					first := 8
					for k := range b {
						if isSpecial(b[k]) {
							first = k
							break
						}
					}
					got := 8
					if m := special(binary.LittleEndian.Uint64(b[:])); m != 0 {
						got = bits.TrailingZeros64(m) >> 3
					}
					if got != first {
						t.Fatalf("%q: special says byte %d, want %d", b, got, first)
					}
				}
			}
		}
	}
}

// TestPartialDecodeFastPathCovers pins which valid inputs the fast path
// decodes itself, so that the differential checks are not vacuous and
// the usual request never takes the slow path.
func TestPartialDecodeFastPathCovers(t *testing.T) {
	fast := func(in []byte, m mutation) bool {
		for _, d := range diffDecoders {
			if d.decodeFast(in) == nil {
				return false
			}
		}
		for _, ld := range diffLimitedDecoders {
			// Within its limits, a limited decoder is as fast, but for
			// strings with escapes: it measures them as they are in the
			// input, longer than unescaped.
			if checkLimits(in, ld.limits) == nil && ld.d.decodeFast(in) == nil && !strings.Contains(m.new, `\`) {
				return false
			}
		}
		return true
	}
	for name, body := range diffFixtures(t) {
		for _, m := range mutations {
			in := mutate(body, m)
			if in == nil {
				continue
			}
			_, err := DecodeTokenRequest(in)
			slow := strings.HasPrefix(m.name, "escaped name") || strings.HasPrefix(m.name, "many ") ||
				m.name == "deeper arrays" || m.name == "deep claim" || strings.HasPrefix(m.name, "expiration 19") ||
				m.name == "expiration max" || m.name == "expiration min"
			if err == nil && !slow && !fast(in, m) {
				t.Errorf("%s, %s: json/v2 decodes it, the fast path falls back", filepath.Base(name), m.name)
			}
		}
	}
}

func FuzzPartialDecodeMatchesReference(f *testing.F) {
	for _, body := range diffFixtures(f) {
		f.Add(body)
		for _, m := range mutations {
			if in := mutate(body, m); in != nil && len(in) < 8<<10 {
				f.Add(in)
			}
		}
		for _, m := range prefixSuffixMutations {
			f.Add(m.edit(body))
		}
		f.Add(body[:len(body)/2])
	}
	for _, s := range []string{``, ` `, `null`, `{}`, `[]`, `""`, `1`, `{"data":null}`, `{"data":{}}`,
		`{"ab":1,"ab":2}`, `{"a":1,"b":2,"a":3}`, `{"abcdefgh":1,"abcdefgh":2}`, "{\"\xc3\xa9\":1,\"\xc3\xa9\":2}",
		`{"data":{"identity":{}}}`, `{"data":{"identity":{"claims":{}}}}`, `{"data":{"access":{"token":{"lifetime":{}}}}}`,
		`{"a":1,"a":2}`, `{"data":{"context":{"user":{"_links":{"a":{"a":1,"b":{}}}}}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkAgainstReference(t, in)
	})
}
