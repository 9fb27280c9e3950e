package userfile

import (
	"bytes"
	"encoding/json/jsontext"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tokenhook/tokenhook/internal/user"
)

// readJSON reads a JSON array of records. One decoder walks the whole array,
// so a syntax error anywhere is found where it is; each record's raw text is
// then parsed on its own.
func readJSON(data []byte, c *collector) {
	lines := &lineCounter{data: data}
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	if k := dec.PeekKind(); k != '[' && k != 0 {
		start := skipSpace(data, 0)
		c.fail(lines.line(start), errors.New("not a JSON array of records (for one record per line, use the jsonl format)"))
		return
	}
	if _, err := dec.ReadToken(); err != nil {
		jsonSyntaxError(c, lines, 0, err)
		return
	}
	var p recordParser
	for dec.PeekKind() != ']' {
		start := skipSpace(data, int(dec.InputOffset()))
		val, err := dec.ReadValue()
		if err != nil {
			jsonSyntaxError(c, lines, 0, err)
			return
		}
		line := lines.line(start)
		u, err := p.parse(val)
		if err != nil {
			c.fail(line, err)
			continue
		}
		c.add(line, u, false)
	}
	if _, err := dec.ReadToken(); err != nil { // the closing ]
		jsonSyntaxError(c, lines, 0, err)
		return
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		end := skipSpace(data, int(dec.InputOffset()))
		c.fail(lines.line(end), errors.New("unexpected data after the JSON array"))
	}
}

// readJSONLines reads one record per line. Lines are independent, so a bad
// line is reported and the next one read.
func readJSONLines(data []byte, c *collector) {
	var p recordParser
	var r bytes.Reader
	dec := jsontext.NewDecoder(&r)
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines := &lineCounter{data: line, first: n}
		r.Reset(line)
		dec.Reset(&r)
		val, err := dec.ReadValue()
		if err != nil {
			jsonSyntaxError(c, lines, n, err)
			continue
		}
		// The rest of the line is checked as bytes: reading on would
		// invalidate val, which points into the decoder's buffer.
		if len(bytes.TrimSpace(line[dec.InputOffset():])) > 0 {
			c.fail(n, errors.New("unexpected data after the record: JSON lines holds one record per line"))
			continue
		}
		u, err := p.parse(val)
		if err != nil {
			c.fail(n, err)
			continue
		}
		c.add(n, u, false)
	}
}

// jsonSyntaxError reports a JSON syntax error at the line and column where
// it is. line is the line to blame when the error has no offset.
func jsonSyntaxError(c *collector, lines *lineCounter, line int, err error) {
	var serr *jsontext.SyntacticError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		c.fail(lines.line(len(lines.data)), errors.New("invalid JSON: unexpected end of input"))
	case errors.As(err, &serr):
		off := int(serr.ByteOffset)
		c.fail(lines.line(off), fmt.Errorf("invalid JSON at column %d: %s", lines.column(off), syntaxMessage(serr)))
	default:
		c.fail(max(line, 1), fmt.Errorf("invalid JSON: %v", err))
	}
}

// syntaxMessage describes a syntax error without quoting the input beyond
// a single character: jsontext's own message can show several bytes of a
// string, which may be an attribute value, and repeats offset and pointer,
// which the line and column replace.
func syntaxMessage(serr *jsontext.SyntacticError) string {
	if errors.Is(serr.Err, jsontext.ErrDuplicateName) {
		// Names are not values; the name is what the user must find.
		return fmt.Sprintf("duplicate name %q", serr.JSONPointer.LastToken())
	}
	if serr.Err == nil {
		return "syntax error"
	}
	msg := serr.Err.Error()
	for _, label := range []string{"invalid escape sequence", "invalid surrogate pair"} {
		if strings.HasPrefix(msg, label) {
			return label + " in string" // the rest quotes the string's text
		}
	}
	return msg
}

// recordParser parses one record. It reuses its decoder across records.
type recordParser struct {
	r   bytes.Reader
	dec *jsontext.Decoder
}

// parse reads a record whose JSON syntax is already known to be valid. The
// errors it returns describe the record's shape and never quote values.
func (p *recordParser) parse(val jsontext.Value) (user.User, error) {
	if val.Kind() != '{' {
		return user.User{}, errors.New(`record is not a JSON object: want {"key": ..., "attributes": {...}}`)
	}
	p.r.Reset(val)
	if p.dec == nil {
		p.dec = jsontext.NewDecoder(&p.r)
	} else {
		p.dec.Reset(&p.r)
	}
	dec := p.dec
	if _, err := dec.ReadToken(); err != nil { // {
		return user.User{}, err
	}
	var u user.User
	keyField := ""
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return user.User{}, err
		}
		switch name := tok.String(); name {
		case keyColumn, loginColumn:
			if keyField != "" {
				return user.User{}, fmt.Errorf("both %q and %q given: the key must be in exactly one", keyField, name)
			}
			keyField = name
			if dec.PeekKind() != '"' {
				return user.User{}, fmt.Errorf("%s is not a string", name)
			}
			tok, err := dec.ReadToken()
			if err != nil {
				return user.User{}, err
			}
			u.Key = tok.String()
		case "attributes":
			switch dec.PeekKind() {
			case 'n':
				if _, err := dec.ReadToken(); err != nil {
					return user.User{}, err
				}
			case '{':
				raw, err := dec.ReadValue()
				if err != nil {
					return user.User{}, err
				}
				if u.Attributes, err = user.DecodeAttributes(raw); err != nil {
					return user.User{}, err
				}
			default:
				return user.User{}, errors.New("attributes is not a JSON object")
			}
		default:
			return user.User{}, fmt.Errorf("unknown field %q: a record has key (or login) and attributes", name)
		}
	}
	if u.Attributes == nil {
		u.Attributes = map[string]any{}
	}
	return u, nil
}

// skipSpace returns the offset of the first byte at or after off that is
// neither white space nor a separator, where the next JSON value starts.
func skipSpace(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// lineCounter turns byte offsets into line and column numbers. Offsets
// mostly grow, so it counts on from the last one instead of from the start:
// numbering 100k records stays linear.
type lineCounter struct {
	data     []byte
	first    int // number of the first line; 0 means 1
	off, n   int // lines before off: n
	lineFrom int // offset where line n+1 starts
}

func (lc *lineCounter) line(off int) int {
	off = min(off, len(lc.data))
	if off < lc.off {
		lc.off, lc.n, lc.lineFrom = 0, 0, 0
	}
	for i := lc.off; i < off; i++ {
		if lc.data[i] == '\n' {
			lc.n++
			lc.lineFrom = i + 1
		}
	}
	lc.off = off
	return max(lc.first, 1) + lc.n
}

// column returns the 1-based column of off, in characters as editors
// count them.
func (lc *lineCounter) column(off int) int {
	lc.line(off)
	return utf8.RuneCount(lc.data[lc.lineFrom:lc.off]) + 1
}
