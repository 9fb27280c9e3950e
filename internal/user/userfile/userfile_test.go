package userfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tokenhook/tokenhook/internal/user"
	"github.com/tokenhook/tokenhook/internal/user/memory"
)

// secret is an attribute value that must never show in an error.
const secret = "s3cret-078-05-1120"

var formats = []Format{CSV, JSON, JSONLines}

// readCases are files Read accepts, with the users it must return.
var readCases = []struct {
	name   string
	format Format
	in     string
	want   []user.User
}{
	{"csv", CSV, "key,patientId,clinic\njessie.smith@example.com,1235,north\nkim.sato@example.com,77,\n", []user.User{
		{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235", "clinic": "north"}},
		{Key: "kim.sato@example.com", Attributes: map[string]any{"patientId": "77"}},
	}},
	{"csv login column not first", CSV, "patientId,login\n1235,jessie.smith@example.com\n", []user.User{
		{Key: "jessie.smith@example.com", Attributes: map[string]any{"patientId": "1235"}},
	}},
	{"csv header only", CSV, "key,patientId\n", nil},
	{"csv key only", CSV, "key\na@example.com\n", []user.User{{Key: "a@example.com", Attributes: map[string]any{}}}},
	{"csv BOM, CRLF, quotes, no final newline", CSV, "\uFEFFkey,note,\"two words\"\r\n\"a@example.com\",\"line one\nline two, \"\"quoted\"\"\",\" x\"\r\n\r\nb@example.com,,ü", []user.User{
		{Key: "a@example.com", Attributes: map[string]any{"note": "line one\nline two, \"quoted\"", "two words": " x"}},
		{Key: "b@example.com", Attributes: map[string]any{"two words": "ü"}},
	}},
	{"csv numbers stay strings", CSV, "key,n,b\na@example.com,42,true\n", []user.User{
		{Key: "a@example.com", Attributes: map[string]any{"n": "42", "b": "true"}},
	}},
	{"json", JSON, `[
  {"key": "jessie.smith@example.com", "attributes": {"patientId": "1235", "mrn": 12345678901234567890, "ratio": 1.50, "ok": true, "none": null, "tags": ["a", 1], "deep": {"x": {}}}},
  {"login": "kim.sato@example.com"},
  {"key": "lee@example.com", "attributes": null}
]`, []user.User{
		{Key: "jessie.smith@example.com", Attributes: map[string]any{
			"patientId": "1235", "mrn": json.Number("12345678901234567890"), "ratio": json.Number("1.50"),
			"ok": true, "none": nil, "tags": []any{"a", json.Number("1")}, "deep": map[string]any{"x": map[string]any{}},
		}},
		{Key: "kim.sato@example.com", Attributes: map[string]any{}},
		{Key: "lee@example.com", Attributes: map[string]any{}},
	}},
	{"json empty array", JSON, " [ ] \n", nil},
	{"json BOM", JSON, "\uFEFF[{\"key\":\"a@example.com\"}]", []user.User{{Key: "a@example.com", Attributes: map[string]any{}}}},
	{"jsonl", JSONLines, "{\"key\": \"a@example.com\", \"attributes\": {\"n\": -0.5e+3}}\n\n   \r\n{\"login\": \"b@example.com\"}\r\n", []user.User{
		{Key: "a@example.com", Attributes: map[string]any{"n": json.Number("-0.5e+3")}},
		{Key: "b@example.com", Attributes: map[string]any{}},
	}},
	{"jsonl empty", JSONLines, "", nil},
	{"jsonl blank lines only", JSONLines, "\n \n\t\n", nil},
}

func TestRead(t *testing.T) {
	t.Parallel()
	for _, tt := range readCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Read(strings.NewReader(tt.in), tt.format)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			wantUsers(t, got, tt.want)
		})
	}
}

// readErrorCases are files Read refuses. want is the whole error message:
// line numbers and wording are the interface a person reads.
var readErrorCases = []struct {
	name   string
	format Format
	in     string
	want   string
}{
	// CSV header problems.
	{"csv empty", CSV, "", "line 1: missing header row"},
	{"csv no key column", CSV, "email,patientId\na@example.com,1\n", `line 1: no key column: name one column "key" or "login"`},
	{"csv key column name is case-sensitive", CSV, "Key,x\na,1\n", `line 1: no key column: name one column "key" or "login"`},
	{"csv both key and login", CSV, "key,login\na,b\n", `line 1: both "key" and "login" columns: the key must be in exactly one`},
	{"csv duplicate column", CSV, "key,x,x\na,1,2\n", `line 1: duplicate column "x"`},
	{"csv duplicate key column", CSV, "key,key\na,b\n", `line 1: duplicate column "key"`},
	{"csv unnamed column", CSV, "key,,x\na,1,2\n", "line 1: column 2 has no name"},
	{"csv header after blank lines", CSV, "\n\nkey,x,x\n", `line 3: duplicate column "x"`},
	// CSV rows.
	{"csv missing key", CSV, "key,x\na@example.com,1\n," + secret + "\n", "line 3: missing key"},
	{"csv too few fields", CSV, "key,x,y\na@example.com,1,2\nb@example.com," + secret + "\n", "line 3: 2 fields, but the header has 3"},
	{"csv too many fields", CSV, "key,x\na@example.com,1,2\n", "line 2: 3 fields, but the header has 2"},
	{"csv duplicate key", CSV, "login,x\nkim.sato@example.com,1\nb@example.com,2\nkim.sato@example.com," + secret + "\n",
		`line 4: duplicate key "kim.sato@example.com" (first on line 2)`},
	{"csv key with spaces", CSV, "key,x\n\" a@example.com\"," + secret + "\n", `line 2: invalid user: key " a@example.com" has leading or trailing white space`},
	{"csv key not UTF-8", CSV, "key,x\na\xff@example.com,1\n", "line 2: invalid user: key is not valid UTF-8"},
	{"csv value not UTF-8", CSV, "key,x\na@example.com," + secret + "\xff\n", `line 2: invalid user: attribute "/x": text is not valid UTF-8`},
	{"csv column name not UTF-8", CSV, "key,x\xff,y\na@example.com,,1\nb@example.com," + secret + ",2\n", "line 3: invalid user: attributes: text is not valid UTF-8"},
	{"csv key too long", CSV, "key\n" + strings.Repeat("k", user.MaxKeyLen+1) + "\n", "line 2: invalid user: key is longer than 1024 bytes"},
	{"csv line after a multi-line cell", CSV, "key,note\na@example.com,\"one\ntwo\"\n,x\n", "line 4: missing key"},
	{"csv bare quote", CSV, "key,x\na@example.com,ab\"c\n", `line 2: column 17: bare " in non-quoted-field`},
	{"csv unterminated quote", CSV, "key,x\na@example.com,\"" + secret + "\n", `line 2: column 35: extraneous or missing " in quoted-field`},
	{"csv several problems", CSV, "key,x\n,1\nb@example.com\nc@example.com,3\nc@example.com,4\n",
		"line 2: missing key\nline 3: 1 fields, but the header has 2\nline 5: duplicate key \"c@example.com\" (first on line 4)"},

	// JSON arrays.
	{"json empty", JSON, "", "line 1: invalid JSON: unexpected end of input"},
	{"json not an array", JSON, "\n{\"key\": \"a\"}", "line 2: not a JSON array of records (for one record per line, use the jsonl format)"},
	{"json record not an object", JSON, "[\n  \"a@example.com\"\n]", `line 2: record is not a JSON object: want {"key": ..., "attributes": {...}}`},
	{"json missing key", JSON, "[\n{\"key\": \"a@example.com\"},\n\n{\"attributes\": {\"ssn\": \"" + secret + "\"}}\n]", "line 4: missing key"},
	{"json record spans lines", JSON, "[{\"key\": \"a@example.com\"},\n  {\n    \"attributes\": {}\n  }\n]", "line 2: missing key"},
	{"json empty key", JSON, `[{"key": ""}]`, "line 1: missing key"},
	{"json key not a string", JSON, "[\n{\"key\": 12}]", "line 2: key is not a string"},
	{"json login not a string", JSON, "[\n{\"login\": {\"x\": \"" + secret + "\"}}]", "line 2: login is not a string"},
	{"json key and login", JSON, `[{"key": "a@example.com", "login": "a@example.com"}]`, `line 1: both "key" and "login" given: the key must be in exactly one`},
	{"json unknown field", JSON, "[\n{\"key\": \"a@example.com\", \"Attributes\": {\"ssn\": \"" + secret + "\"}}]", `line 2: unknown field "Attributes": a record has key (or login) and attributes`},
	{"json attributes not an object", JSON, `[{"key": "a@example.com", "attributes": ["` + secret + `"]}]`, "line 1: attributes is not a JSON object"},
	{"json duplicate field", JSON, "[\n{\"key\": \"a@example.com\", \"key\": \"b@example.com\"}]", `line 2: invalid JSON at column 26: duplicate name "key"`},
	{"json duplicate attribute", JSON, "[{\"key\": \"a@example.com\",\n \"attributes\": {\"x\": 1, \"x\": \"" + secret + "\"}}]", `line 2: invalid JSON at column 25: duplicate name "x"`},
	{"json duplicate key", JSON, "[\n{\"key\": \"kim.sato@example.com\"},\n{\"key\": \"b@example.com\"},\n{\"login\": \"kim.sato@example.com\"}\n]",
		`line 4: duplicate key "kim.sato@example.com" (first on line 2)`},
	{"json syntax error", JSON, "[\n{\"key\": \"a@example.com\",\n \"attributes\": {\"x\": tru}}]", "line 3: invalid JSON at column 25: invalid character '}' in literal true (expecting 'e')"},
	{"json syntax error in a later line of a value", JSON, "[{\"key\": \"a@example.com\", \"attributes\": {\"n\": \"é\"\n\n, \"m\": 0x1}}]", "line 3: invalid JSON at column 9: invalid character 'x' after object value (expecting ',' or '}')"},
	{"json trailing comma", JSON, "[\n{\"key\": \"a@example.com\"},\n]", "line 2: invalid JSON at column 25: invalid character ',' at start of value"},
	{"json unterminated", JSON, "[\n{\"key\": \"a@example.com\"}", "line 2: invalid JSON: unexpected end of input"},
	{"json trailing data", JSON, "[]\n\n[]", "line 3: unexpected data after the JSON array"},
	{"json invalid UTF-8", JSON, "[{\"key\": \"a\xff\"}]", "line 1: invalid JSON at column 12: invalid UTF-8"},
	{"json lone surrogate", JSON, `[{"key": "a\ud800"}]`, `line 1: invalid JSON at column 12: invalid surrogate pair in string`},
	{"json bad surrogate in a value", JSON, `[{"key": "a@example.com", "attributes": {"x": "\ud800` + secret + `"}}]`, `line 1: invalid JSON at column 48: invalid surrogate pair in string`},
	{"json bad escape in a value", JSON, `[{"key": "a@example.com", "attributes": {"x": "\x` + secret + `"}}]`, `line 1: invalid JSON at column 48: invalid escape sequence in string`},
	{"json control character in key", JSON, `[{"key": "a\u0000b"}]`, `line 1: invalid user: key "a\x00b" contains a control character`},
	{"json several problems", JSON, "[\n{},\n{\"key\": \"a@example.com\"},\n{\"key\": 1},\n{\"key\": \"a@example.com\"}\n]",
		"line 2: missing key\nline 4: key is not a string\nline 5: duplicate key \"a@example.com\" (first on line 3)"},

	// JSON lines.
	{"jsonl syntax errors do not stop", JSONLines, "{\"key\": \"a@example.com\"}\n{\"key\": }\n\n{\"x\": 1}\n{\"key\": \"a@example.com\"}\n",
		"line 2: invalid JSON at column 9: invalid character '}' at start of value\nline 4: unknown field \"x\": a record has key (or login) and attributes\nline 5: duplicate key \"a@example.com\" (first on line 1)"},
	{"jsonl array given", JSONLines, "[{\"key\": \"a@example.com\"}]\n", `line 1: record is not a JSON object: want {"key": ..., "attributes": {...}}`},
	{"jsonl two records on a line", JSONLines, "{\"key\": \"a@example.com\"} {\"key\": \"b@example.com\"}\n", "line 1: unexpected data after the record: JSON lines holds one record per line"},
	{"jsonl record over two lines", JSONLines, "{\"key\": \"a@example.com\",\n\"attributes\": {}}\n", "line 1: invalid JSON: unexpected end of input\nline 2: unexpected data after the record: JSON lines holds one record per line"},
	{"jsonl missing key", JSONLines, "\n\n{\"attributes\": {\"ssn\": \"" + secret + "\"}}", "line 3: missing key"},
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range readErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			users, err := Read(strings.NewReader(tt.in), tt.format)
			if err == nil {
				t.Fatalf("Read succeeded with %d users, want error %q", len(users), tt.want)
			}
			if users != nil {
				t.Errorf("Read returned %d users with its error, want none", len(users))
			}
			if err.Error() != tt.want {
				t.Errorf("Read error:\n%s\nwant:\n%s", err, tt.want)
			}
			if strings.Contains(err.Error(), secret[:4]) {
				t.Errorf("Read error %q shows an attribute value", err)
			}
			var lerr *LineError
			if !errors.As(err, &lerr) || lerr.Line < 1 {
				t.Errorf("Read error %#v is not a *LineError with a line", err)
			}
		})
	}
}

func TestReadErrorLimit(t *testing.T) {
	t.Parallel()
	var in strings.Builder
	in.WriteString("key,x\n")
	for range 25 {
		in.WriteString(",1\n")
	}
	_, err := Read(strings.NewReader(in.String()), CSV)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || lines[0] != "line 2: missing key" || lines[maxErrors] != "and 5 more problems" {
		t.Errorf("Read error has %d lines, first %q, last %q; want %d problems and a count of the rest",
			len(lines), lines[0], lines[len(lines)-1], maxErrors)
	}
	if !errors.Is(err, user.ErrInvalid) && !errors.As(err, new(*LineError)) {
		t.Errorf("joined error %v hides its LineErrors", err)
	}
}

func TestReadValidationErrorsWrapErrInvalid(t *testing.T) {
	t.Parallel()
	_, err := Read(strings.NewReader("key\n a\n"), CSV)
	if !errors.Is(err, user.ErrInvalid) {
		t.Errorf("Read error %v does not wrap user.ErrInvalid", err)
	}
}

func TestReadUnknownFormat(t *testing.T) {
	t.Parallel()
	if _, err := Read(strings.NewReader(""), "xml"); err == nil {
		t.Error("Read with an unknown format succeeded")
	}
}

func TestReadReaderError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	if _, err := Read(iotest.ErrReader(boom), JSON); !errors.Is(err, boom) {
		t.Errorf("Read error = %v, want the reader's", err)
	}
}

// exportUsers are users as a store returns them, with every attribute type.
func exportUsers() []user.User {
	return []user.User{
		{Key: "jessie.smith@example.com", Attributes: map[string]any{
			"patientId": "1235", "mrn": json.Number("12345678901234567890"), "ratio": json.Number("1.50"),
			"ok": true, "none": nil, "tags": []any{"a", json.Number("1"), false}, "deep": map[string]any{"x": map[string]any{}, "y": []any{}},
			"note": "commas, \"quotes\"\nand newlines", "名前": "山田",
		}},
		{Key: "kim.sato@example.com", Attributes: map[string]any{}},
		{Key: "jöschi@例え.jp", Attributes: map[string]any{"patientId": "9"}},
	}
}

func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	for _, format := range []Format{JSON, JSONLines} {
		t.Run(string(format), func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Write(&buf, format, seq(exportUsers())); err != nil {
				t.Fatal(err)
			}
			got, err := Read(&buf, format)
			if err != nil {
				t.Fatalf("Read of Write's output: %v", err)
			}
			wantUsers(t, got, exportUsers())
		})
	}
	t.Run("csv", func(t *testing.T) {
		t.Parallel()
		var buf bytes.Buffer
		if err := Write(&buf, CSV, seq(exportUsers())); err != nil {
			t.Fatal(err)
		}
		got, err := Read(&buf, CSV)
		if err != nil {
			t.Fatalf("Read of Write's output: %v", err)
		}
		// CSV keeps strings; everything else comes back as its JSON text.
		want := exportUsers()
		want[0].Attributes = map[string]any{
			"patientId": "1235", "mrn": "12345678901234567890", "ratio": "1.50",
			"ok": "true", "none": "null", "tags": `["a",1,false]`, "deep": `{"x":{},"y":[]}`,
			"note": "commas, \"quotes\"\nand newlines", "名前": "山田",
		}
		wantUsers(t, got, want)
	})
}

// TestWriteStore exports a store, as `tokenhook users export` does.
func TestWriteStore(t *testing.T) {
	t.Parallel()
	s := memory.New(memory.Config{})
	defer s.Close()
	if err := s.Import(t.Context(), exportUsers(), user.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, JSON, user.All(t.Context(), s)); err != nil {
		t.Fatal(err)
	}
	got, err := Read(&buf, JSON)
	if err != nil {
		t.Fatal(err)
	}
	want := exportUsers()
	slices.SortFunc(want, func(a, b user.User) int { return strings.Compare(a.Key, b.Key) })
	wantUsers(t, got, want)
}

func TestWriteOutput(t *testing.T) {
	t.Parallel()
	users := []user.User{
		{Key: "b@example.com", Attributes: map[string]any{"z": "1", "a": json.Number("2")}},
		{Key: "a@example.com"},
	}
	for _, tt := range []struct {
		format Format
		users  []user.User
		want   string
	}{
		{JSON, users, "[\n" +
			`{"key":"b@example.com","attributes":{"a":2,"z":"1"}},` + "\n" +
			`{"key":"a@example.com","attributes":{}}` + "\n]\n"},
		{JSON, nil, "[]\n"},
		{JSONLines, users, `{"key":"b@example.com","attributes":{"a":2,"z":"1"}}` + "\n" +
			`{"key":"a@example.com","attributes":{}}` + "\n"},
		{JSONLines, nil, ""},
		{CSV, users, "key,a,z\nb@example.com,2,1\na@example.com,,\n"},
		{CSV, nil, "key\n"},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, tt.format, seq(tt.users)); err != nil {
			t.Errorf("Write(%s): %v", tt.format, err)
			continue
		}
		if buf.String() != tt.want {
			t.Errorf("Write(%s) =\n%s\nwant:\n%s", tt.format, buf.String(), tt.want)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	failing := func(yield func(user.User, error) bool) {
		if yield(user.User{Key: "a@example.com"}, nil) {
			yield(user.User{}, boom)
		}
	}
	for _, tt := range []struct {
		name    string
		formats []Format
		users   iter.Seq2[user.User, error]
		want    string
	}{
		{"sequence error", formats, failing, "boom"},
		{"invalid key", formats, seq([]user.User{{Key: " a"}}), "invalid user: key"},
		{"attribute not JSON", formats, seq([]user.User{{Key: "a", Attributes: map[string]any{"x": []any{secret, make(chan int)}}}}), `user "a": invalid user: attribute "/x/1"`},
		{"attribute named key", []Format{CSV}, seq([]user.User{{Key: "a", Attributes: map[string]any{"key": secret}}}), `attribute "key" cannot be a CSV column`},
		{"attribute named login", []Format{CSV}, seq([]user.User{{Key: "a", Attributes: map[string]any{"login": secret}}}), `attribute "login" cannot be a CSV column`},
		{"attribute without a name", []Format{CSV}, seq([]user.User{{Key: "a", Attributes: map[string]any{"": secret}}}), `attribute "" cannot be a CSV column`},
		{"unknown format", []Format{"xml"}, seq(nil), "unknown format"},
	} {
		for _, format := range tt.formats {
			err := Write(io.Discard, format, tt.users)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: Write(%s) error = %v, want it to contain %q", tt.name, format, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("%s: Write(%s) error %q shows an attribute value", tt.name, format, err)
			}
		}
	}
	// The same names are fine in JSON.
	if err := Write(io.Discard, JSON, seq([]user.User{{Key: "a", Attributes: map[string]any{"key": "1", "": "2"}}})); err != nil {
		t.Errorf("Write(json) of attributes named key and \"\": %v", err)
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		filename, head string
		want           Format
	}{
		{"users.csv", "[", CSV},
		{"USERS.CSV", "", CSV},
		{"users.json", "{", JSON},
		{"users.jsonl", "[", JSONLines},
		{"users.ndjson", "", JSONLines},
		{"dir.json/users", "[", JSON},
		{"-", "  \n[{\"key\"", JSON},
		{"-", "\uFEFF{\"key\"", JSONLines},
		{"users.txt", "{", JSONLines},
		{"users.txt", "key,x", CSV},
		{"", "", CSV},
	} {
		if got := Detect(tt.filename, []byte(tt.head)); got != tt.want {
			t.Errorf("Detect(%q, %q) = %q, want %q", tt.filename, tt.head, got, tt.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Format{"csv": CSV, "JSON": JSON, "jsonl": JSONLines, "ndjson": JSONLines} {
		if got, err := ParseFormat(in); got != want || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("ParseFormat(yaml) succeeded")
	}
}

// FuzzRead checks that Read never panics, that its errors carry lines
// inside the file, and that whatever it accepts survives Write and Read
// again unchanged, in the same format and in JSON.
func FuzzRead(f *testing.F) {
	for _, tt := range readCases {
		f.Add([]byte(tt.in), uint8(slices.Index(formats, tt.format)))
	}
	for _, tt := range readErrorCases {
		f.Add([]byte(tt.in), uint8(slices.Index(formats, tt.format)))
	}
	f.Fuzz(func(t *testing.T, data []byte, fi uint8) {
		format := formats[int(fi)%len(formats)]
		users, err := Read(bytes.NewReader(data), format)
		if err != nil {
			lines := bytes.Count(data, []byte("\n")) + 1
			for _, e := range unjoin(err) {
				var lerr *LineError
				if errors.As(e, &lerr) && (lerr.Line < 1 || lerr.Line > lines) {
					t.Fatalf("error %q is on line %d of a %d-line file", e, lerr.Line, lines)
				}
			}
			return
		}
		for _, out := range []Format{format, JSON} {
			var buf bytes.Buffer
			if err := Write(&buf, out, seq(users)); err != nil {
				t.Fatalf("Write(%s) of what Read(%s) accepted: %v", out, format, err)
			}
			again, err := Read(&buf, out)
			if err != nil {
				t.Fatalf("Read(%s) of Write's output %q: %v", out, buf.String(), err)
			}
			if !reflect.DeepEqual(again, users) {
				t.Fatalf("%s round trip changed the users:\n got %#v\nwant %#v", out, again, users)
			}
		}
	})
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func seq(users []user.User) iter.Seq2[user.User, error] {
	return func(yield func(user.User, error) bool) {
		for _, u := range users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

func wantUsers(tb testing.TB, got, want []user.User) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d users %v, want %d %v", len(got), keys(got), len(want), keys(want))
	}
	for i := range want {
		if got[i].Key != want[i].Key {
			tb.Errorf("user %d key = %q, want %q", i, got[i].Key, want[i].Key)
		}
		if !reflect.DeepEqual(got[i].Attributes, want[i].Attributes) {
			tb.Errorf("user %q attributes =\n%#v\nwant\n%#v", want[i].Key, got[i].Attributes, want[i].Attributes)
		}
	}
}

func keys(users []user.User) []string {
	var ks []string
	for _, u := range users {
		ks = append(ks, u.Key)
	}
	return ks
}

// BenchmarkRead measures reading 100k users, a tenth of the million that
// `users import` must handle.
func BenchmarkRead(b *testing.B) {
	const n = 100_000
	var csvIn, jsonlIn bytes.Buffer
	csvIn.WriteString("login,patientId,groups\n")
	for i := range n {
		fmt.Fprintf(&csvIn, "user%07d@example.com,%d,patients;research\n", i, 100_000+i)
		fmt.Fprintf(&jsonlIn, `{"key":"user%07d@example.com","attributes":{"patientId":"%d","groups":"patients;research"}}`+"\n", i, 100_000+i)
	}
	for _, tt := range []struct {
		format Format
		in     []byte
	}{{CSV, csvIn.Bytes()}, {JSONLines, jsonlIn.Bytes()}} {
		b.Run(string(tt.format), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				users, err := Read(bytes.NewReader(tt.in), tt.format)
				if err != nil || len(users) != n {
					b.Fatalf("Read: %d users, %v", len(users), err)
				}
			}
		})
	}
}
