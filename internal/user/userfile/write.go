package userfile

import (
	"bufio"
	"encoding/csv"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"

	"github.com/tokenhook/tokenhook/internal/user"
)

// Write writes users to w in the given format, for [Read] to read back (see
// the package documentation for what CSV loses). users is typically
// [user.All] over a store; an error it yields stops the writing and is
// returned. JSON and JSON lines are written as the users come, one record
// per line with attributes sorted by name, so exports diff well; CSV needs
// every attribute name for its header, so it holds all users in memory
// first.
//
// Write refuses a user whose key is invalid, since the file would not read
// back, and for CSV an attribute named "", "key" or "login", which cannot
// be a column. On error, w may hold part of the output.
func Write(w io.Writer, format Format, users iter.Seq2[user.User, error]) error {
	var err error
	switch format {
	case CSV:
		err = writeCSV(w, users)
	case JSON, JSONLines:
		err = writeJSON(w, format, users)
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		return fmt.Errorf("userfile: %w", err)
	}
	return nil
}

func writeJSON(w io.Writer, format Format, users iter.Seq2[user.User, error]) error {
	bw := bufio.NewWriter(w)
	n := 0
	var rec []byte
	for u, err := range users {
		if err != nil {
			return err
		}
		rec, err = appendRecord(rec[:0], &u)
		if err != nil {
			return err
		}
		switch {
		case format == JSONLines:
		case n == 0:
			bw.WriteString("[\n")
		default:
			bw.WriteString(",\n")
		}
		bw.Write(rec)
		if format == JSONLines {
			bw.WriteByte('\n')
		}
		n++
	}
	if format == JSON {
		if n == 0 {
			bw.WriteString("[]\n")
		} else {
			bw.WriteString("\n]\n")
		}
	}
	return bw.Flush() // reports the first write error, if any
}

// appendRecord appends u as a JSON record: {"key":...,"attributes":{...}}.
func appendRecord(b []byte, u *user.User) ([]byte, error) {
	if err := user.ValidateKey(u.Key); err != nil {
		return nil, err
	}
	attrs, err := user.EncodeAttributes(u.Attributes)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", u.Key, err)
	}
	b = append(b, `{"key":`...)
	if b, err = jsontext.AppendQuote(b, u.Key); err != nil {
		return nil, err // unreachable: the key is valid UTF-8
	}
	b = append(b, `,"attributes":`...)
	b = append(b, attrs...)
	return append(b, '}'), nil
}

func writeCSV(w io.Writer, users iter.Seq2[user.User, error]) error {
	var all []user.User
	names := make(map[string]bool)
	for u, err := range users {
		if err != nil {
			return err
		}
		if err := user.ValidateKey(u.Key); err != nil {
			return err
		}
		// Encoding all attributes first checks them with user's messages,
		// which never show values; encoding cells one by one below then
		// cannot fail.
		if _, err := user.EncodeAttributes(u.Attributes); err != nil {
			return fmt.Errorf("user %q: %w", u.Key, err)
		}
		for name := range u.Attributes {
			if !names[name] {
				switch name {
				case "", keyColumn, loginColumn:
					return fmt.Errorf("user %q: attribute %q cannot be a CSV column: export as JSON", u.Key, name)
				}
				names[name] = true
			}
		}
		all = append(all, u)
	}
	columns := slices.Sorted(maps.Keys(names))

	cw := csv.NewWriter(w)
	record := append([]string{keyColumn}, columns...)
	if err := cw.Write(record); err != nil {
		return err
	}
	for _, u := range all {
		record[0] = u.Key
		for i, name := range columns {
			record[i+1] = ""
			switch v := u.Attributes[name].(type) {
			case nil:
				// An absent attribute leaves the cell empty; null is
				// JSON-encoded like any value that is not a string.
				if _, ok := u.Attributes[name]; ok {
					record[i+1] = "null"
				}
			case string:
				record[i+1] = v
			default:
				b, err := jsonv2.Marshal(v, jsonv2.Deterministic(true))
				if err != nil {
					return fmt.Errorf("user %q: attribute %q cannot be encoded as JSON", u.Key, name)
				}
				record[i+1] = string(b)
			}
		}
		if err := cw.Write(record); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
