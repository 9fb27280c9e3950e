// Package userfile reads and writes the user files of `tokenhook users
// import` and `export`: CSV for spreadsheets and Okta's own exports, and a
// JSON array or JSON lines for everything else.
//
// # Formats
//
// CSV has a header row. One column, named exactly "key" or "login" (Okta's
// name for it), holds the user's key; every other column is a string
// attribute named by its header, and an empty cell leaves that attribute
// out. Header names are taken verbatim, case and spaces included. A UTF-8
// byte order mark, as spreadsheet programs write, is ignored.
//
// JSON (an array) and JSON lines (one record per line; blank lines are
// skipped) hold records of the form
//
//	{"key": "jessie.smith@example.com", "attributes": {"patientId": "1235"}}
//
// where "login" may stand for "key" and "attributes" may be missing or null
// for none. The format is ours, so it is read strictly: any other field is
// an error, and so is a name given twice. Attributes keep their JSON types,
// numbers as json.Number, as package user documents.
//
// # Errors
//
// [Read] validates every record as a store would ([user.Validate]) and
// refuses a key that appears twice, so a file it accepts imports whole. It
// reports every problem it finds, up to 20, each a [*LineError] naming the
// line as an editor numbers it; several are joined with [errors.Join], so
// use errors.As to get at them. A syntax error (broken JSON or CSV quoting)
// ends the reading, as what follows it cannot be trusted. Messages never
// include attribute values, which may be personal data; they do include
// keys, so the user can find the record.
//
// # Round trips
//
// What [Write] writes, Read reads back as the same users. JSON and JSON
// lines carry every attribute losslessly. CSV carries strings only: Write
// encodes other values as JSON text, which reads back as a string, and an
// empty string, written as an empty cell, reads back as no attribute. Export
// as JSON to keep types.
package userfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tokenhook/tokenhook/internal/user"
)

// Format is a user file format. Its values are the names the command line
// accepts.
type Format string

// The formats.
const (
	CSV       Format = "csv"
	JSON      Format = "json"  // a JSON array of records
	JSONLines Format = "jsonl" // one JSON record per line
)

// ParseFormat returns the format named s: csv, json, jsonl or its synonym
// ndjson, in any case.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "csv":
		return CSV, nil
	case "json":
		return JSON, nil
	case "jsonl", "ndjson":
		return JSONLines, nil
	}
	return "", fmt.Errorf("userfile: unknown format %q (want csv, json or jsonl)", s)
}

// Detect guesses the format of a file from its name's extension (.csv,
// .json, .jsonl, .ndjson) or, failing that, from head, the first bytes of
// its content: a JSON array starts with '[', JSON lines with '{', and
// anything else is taken for CSV.
func Detect(filename string, head []byte) Format {
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".csv":
		return CSV
	case ".json":
		return JSON
	case ".jsonl", ".ndjson":
		return JSONLines
	}
	head = bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n")
	if len(head) > 0 {
		switch head[0] {
		case '[':
			return JSON
		case '{':
			return JSONLines
		}
	}
	return CSV
}

// bom is the UTF-8 byte order mark some editors put first.
var bom = []byte("\uFEFF")

// LineError is a problem with the record on one line of a file.
type LineError struct {
	// Line is 1-based, as editors count. For a JSON array it is the line
	// where the bad record starts, or for a syntax error the line of the
	// error.
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// maxErrors is how many problems Read reports: enough to fix a file in a
// few rounds, few enough to read.
const maxErrors = 20

// Read reads users in the given format from r. It returns every user or,
// if any record is bad, no user and an error; see the package
// documentation for what it checks and how it reports.
func Read(r io.Reader, format Format) ([]user.User, error) {
	var read func([]byte, *collector)
	switch format {
	case CSV:
		read = readCSV
	case JSON:
		read = readJSON
	case JSONLines:
		read = readJSONLines
	default:
		return nil, fmt.Errorf("userfile: unknown format %q", format)
	}
	// Files are read whole: it makes line numbers easy, and even a
	// million users are some 50 megabytes, a tenth of what they take as
	// []user.User.
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("userfile: %w", err)
	}
	c := &collector{}
	if format != JSON {
		// A CSV or JSON lines file holds at most a record a line, and
		// rarely many fewer: sizing for them up front spares growing a
		// million-entry slice and map step by step. (A JSON array is
		// often indented, a record over several lines.)
		n := bytes.Count(data, []byte("\n")) + 1
		c.users = make([]user.User, 0, n)
		c.seen = make(map[string]int, n)
	} else {
		c.seen = make(map[string]int)
	}
	read(bytes.TrimPrefix(data, bom), c)
	return c.result()
}

// collector gathers the users and the problems of one file.
type collector struct {
	users []user.User
	seen  map[string]int // key → line
	errs  []error
	more  int // problems past maxErrors
}

func (c *collector) fail(line int, err error) {
	if len(c.errs) < maxErrors {
		c.errs = append(c.errs, &LineError{Line: line, Err: err})
	} else {
		c.more++
	}
}

// add checks the user read from a line and keeps it. encodes says the
// reader has made sure that u's attributes encode as JSON, which spares
// encoding them here only to throw the text away: CSV attributes are
// strings, which encode unless they or their names are not valid UTF-8.
// A user who may not encode is checked by [user.Validate], whose messages
// say why.
func (c *collector) add(line int, u user.User, encodes bool) {
	if u.Key == "" {
		c.fail(line, errors.New("missing key"))
		return
	}
	var err error
	if encodes {
		err = user.ValidateKey(u.Key) // what Validate checks before the attributes
	} else {
		err = user.Validate(&u)
	}
	if err != nil {
		c.fail(line, err)
		return
	}
	if first, dup := c.seen[u.Key]; dup {
		c.fail(line, fmt.Errorf("duplicate key %q (first on line %d)", u.Key, first))
		return
	}
	c.seen[u.Key] = line
	c.users = append(c.users, u)
}

func (c *collector) result() ([]user.User, error) {
	switch {
	case len(c.errs) == 0 && len(c.users) == 0:
		return nil, nil // not the empty slice sized for a file of blank lines
	case len(c.errs) == 0:
		return c.users, nil
	case len(c.errs) == 1:
		return nil, c.errs[0]
	case c.more > 0:
		c.errs = append(c.errs, fmt.Errorf("and %d more problems", c.more))
	}
	return nil, errors.Join(c.errs...)
}
