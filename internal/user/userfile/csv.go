package userfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/tokenhook/tokenhook/internal/user"
)

// Names of the key column. Okta's user exports call it login.
const (
	keyColumn   = "key"
	loginColumn = "login"
)

func readCSV(data []byte, c *collector) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // checked here, for a clearer message
	// The fields of each row are copied into its user (as substrings of
	// one string per row); the []string itself need not be new each time.
	r.ReuseRecord = true

	header, err := r.Read()
	if err == io.EOF {
		c.fail(1, errors.New("missing header row"))
		return
	}
	if err != nil {
		csvSyntaxError(c, err)
		return
	}
	header = slices.Clone(header) // the next Read reuses the slice
	headerLine, _ := r.FieldPos(0)
	keyCol := -1
	columns := make(map[string]bool, len(header))
	for i, name := range header {
		switch {
		case name == "":
			c.fail(headerLine, fmt.Errorf("column %d has no name", i+1))
			continue
		case columns[name]:
			c.fail(headerLine, fmt.Errorf("duplicate column %q", name))
			continue
		}
		columns[name] = true
		if name == keyColumn || name == loginColumn {
			if keyCol >= 0 {
				c.fail(headerLine, fmt.Errorf("both %q and %q columns: the key must be in exactly one", header[keyCol], name))
				continue
			}
			keyCol = i
		}
	}
	if keyCol < 0 {
		c.fail(headerLine, fmt.Errorf("no key column: name one column %q or %q", keyColumn, loginColumn))
	}
	if len(c.errs) > 0 {
		return // rows cannot be read against a broken header
	}
	validName := make([]bool, len(header))
	for i, name := range header {
		validName[i] = utf8.ValidString(name)
	}

	for {
		record, err := r.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			csvSyntaxError(c, err)
			return
		}
		line, _ := r.FieldPos(0)
		if len(record) != len(header) {
			c.fail(line, fmt.Errorf("%d fields, but the header has %d", len(record), len(header)))
			continue
		}
		attrs := make(map[string]any, len(record)-1)
		encodes := true // every attribute a string of valid UTF-8, named so
		for i, v := range record {
			if i != keyCol && v != "" {
				attrs[header[i]] = v
				encodes = encodes && validName[i] && utf8.ValidString(v)
			}
		}
		c.add(line, user.User{Key: record[keyCol], Attributes: attrs}, encodes)
	}
}

// csvSyntaxError reports a quoting error, which ends the reading: after
// one, where a record starts is a guess.
func csvSyntaxError(c *collector, err error) {
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		c.fail(perr.Line, fmt.Errorf("column %d: %w", perr.Column, perr.Err))
		return
	}
	c.fail(1, err)
}
