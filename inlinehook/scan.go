package inlinehook

import (
	"encoding/binary"
	"encoding/json/jsontext"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

// scanner is the reader of PartialDecoder's fast path: one pass over the
// bytes that validates JSON (RFC 8259 as json/v2 reads it: UTF-8, escapes,
// numbers, literals, nesting, no duplicate member names) and skips or
// decodes values.
//
// It never reports an error: on anything it cannot vouch for it sets bad
// and every method returns at once, and Decode hands the input to json/v2.
// Being conservative is always correct: bad costs time, never a result.
// What it does not vouch for, although json/v2 may accept it: member names
// with escapes, more than maxOpenNames members in the open objects
// together, nesting deeper than maxDepth, and lone surrogate escapes; nor,
// for a decoder with Limits, nesting or strings beyond them.
//
// Where a method reads a value, s.pos is at its first byte, inside data
// (more and elem see to it), and leaves s.pos just after it.
type scanner struct {
	data  []byte
	pos   int
	depth int  // objects and arrays open (but see stringLimit)
	bad   bool // fall back to json/v2

	// What it vouches for under Limits: strings of up to stringLimit
	// bytes as they are in the input (unescaped, a string is no longer),
	// and nesting up to Limits.MaxDepth, for which depth starts at
	// maxDepth - MaxDepth: the checks against maxDepth enforce it at no
	// cost. Input beyond fails, and the reference (checkLimits) reports
	// the limit it is over.
	stringLimit int

	// The member more read last: the offsets of its name's quotes (the
	// name has no escapes).
	nameStart, nameEnd int

	// The names of the members of the objects open, innermost last, for
	// the duplicate check.
	nNames int
	names  [maxOpenNames]nameRef

	// The objects skipValue has open, by depth.
	frames [maxDepth + 1]object

	// Strings made, by hash: a string that comes again (a login, an id,
	// a map key) is made once, as json/v2 does.
	made [64]string
}

const (
	maxDepth     = 64  // json/v2 allows 10 000
	maxOpenNames = 128 // member names of the open objects together
)

// nameRef is a member name already seen in an open object.
type nameRef struct {
	start, end int32 // in data, unquoted
	hash       uint32
}

// object is the state of an object being read: where its names start in
// scanner.names (they end at scanner.nNames), and a bloom filter of their
// hashes.
type object struct {
	base  int32
	bloom uint64
}

// array is the state of an array being read.
type array struct{ n int }

// fail marks the input as one the fast path does not vouch for.
func (s *scanner) fail() { s.bad = true }

// safe marks the bytes that stand for themselves in a string: printable
// ASCII except the quote and the backslash.
var safe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// space marks JSON's whitespace.
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// ws skips whitespace.
func (s *scanner) ws() { s.pos = skipSpace(s.data, s.pos) }

// skipSpace returns the offset of the first byte at or after i in d that
// is not whitespace.
func skipSpace(d []byte, i int) int {
	for uint(i) < uint(len(d)) {
		if c := d[i]; c > ' ' || !space[c] {
			break
		}
		i++
		// Indentation: eight spaces at a time.
		for i <= len(d)-8 {
			if x := load64(d, i) ^ spaces; x != 0 {
				i += bits.TrailingZeros64(x) >> 3
				break
			}
			i += 8
		}
	}
	return i
}

// load64 reads the eight bytes at d[i:] as a little-endian word.
func load64(d []byte, i int) uint64 { return binary.LittleEndian.Uint64(d[i : i+8]) }

// Bytes repeated in a word, for reading eight at a time.
const (
	ones   = 0x0101010101010101
	highs  = 0x8080808080808080
	spaces = 0x20 * ones
	quotes = '"' * ones
	bslash = '\\' * ones
)

// special flags the bytes of x (eight bytes of a string, little endian)
// that do not stand for themselves: control characters, the quote, the
// backslash and non-ASCII. A byte's high bit ends up set if the byte is
// non-ASCII (x), below 0x20 (x-spaces wraps), a quote or a backslash
// (x^quotes or x^bslash is zero, and wraps), or non-ASCII again (the
// differences of bytes from 0xA0, 0x81 up), or if a borrow runs into it —
// and a borrow only runs up from a flagged byte. So the lowest flag is
// exact, and those above it may not be, which is all a scan needs.
func special(x uint64) uint64 {
	return ((x - spaces) | ((x ^ quotes) - ones) | ((x ^ bslash) - ones) | x) & highs
}

// scanString validates the string whose opening quote is at d[i]. It
// returns the offset just past the closing quote, or -1 if the string is
// not one the fast path accepts, and whether the string has escapes.
func scanString(d []byte, i int) (next int, escaped bool) {
	if i < 0 {
		return -1, false // never: tells the compiler i+1 is not negative
	}
	i++
	for ; i <= len(d)-8; i += 8 {
		if m := special(load64(d, i)); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			if d[i] == '"' {
				return i + 1, false
			}
			break
		}
	}
	return scanStringRest(d, i, false)
}

// scanStringRest is scanString from d[i], inside the string, where there
// is a byte that needs a closer look or fewer than eight bytes are left.
func scanStringRest(d []byte, i int, escaped bool) (next int, esc bool) {
	for uint(i) < uint(len(d)) {
		switch c := d[i]; {
		case safe[c]:
			i++
			for ; i <= len(d)-8; i += 8 {
				if m := special(load64(d, i)); m != 0 {
					i += bits.TrailingZeros64(m) >> 3
					break
				}
			}
		case c == '"':
			return i + 1, escaped
		case c == '\\':
			n := escapeLen(d[i:])
			if n == 0 {
				return -1, false
			}
			escaped = true
			i += n
		case c < 0x20:
			return -1, false // control characters must be escaped
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return -1, false // invalid UTF-8, surrogate halves and overlong forms included
			}
			i += size
		}
	}
	return -1, false
}

// open begins the object at s.pos. It returns false, leaving the object
// unread, for null (the Go value stays zero, as json/v2 leaves it) and for
// any other kind (which fails: json/v2 reports it).
func (s *scanner) open(o *object) bool {
	if s.bad {
		return false
	}
	switch s.data[s.pos] {
	case '{':
		s.pos++
		if s.depth++; s.depth > maxDepth {
			s.fail()
			return false
		}
		*o = object{base: int32(s.nNames)}
		return true
	case 'n':
		s.literal("null")
	default:
		s.fail()
	}
	return false
}

// more reads up to the value of o's next member, setting s.nameStart and
// s.nameEnd, and checking the name is not a duplicate. It returns false
// after the object's closing brace, and on failure.
func (s *scanner) more(o *object) bool {
	if s.bad {
		return false
	}
	d := s.data
	i := s.pos
	if uint(i) >= uint(len(d)) || d[i] <= ' ' {
		if i = skipSpace(d, i); uint(i) >= uint(len(d)) {
			s.fail()
			return false
		}
	}
	c := d[i]
	if c == '}' {
		s.pos = i + 1
		s.depth--
		s.nNames = int(o.base)
		return false
	}
	if s.nNames > int(o.base) { // not the first member
		if c != ',' {
			s.fail()
			return false
		}
		i = skipSpace(d, i+1)
		if uint(i) >= uint(len(d)) {
			s.fail()
			return false
		}
		c = d[i]
	}
	if c != '"' {
		s.fail()
		return false
	}
	next, end := s.member(o, d, i)
	if next < 0 {
		s.fail()
		return false
	}
	s.pos, s.nameStart, s.nameEnd = next, i, end
	return true
}

// member reads the member name whose opening quote is at d[i] (d is
// s.data), checks it is not a duplicate in o, and reads up to the value.
// It returns the value's offset, or -1, and the offset of the name's
// closing quote.
func (s *scanner) member(o *object, d []byte, i int) (value, end int) {
	start := i + 1
	end = -1
	var h uint32
	// Names are short and plain, mostly: look for the closing quote in the
	// first sixteen bytes before calling scanString, and hash the name as
	// nameHash does.
	if start >= 0 && start <= len(d)-16 {
		x := load64(d, start)
		if m := special(x); m != 0 {
			n := bits.TrailingZeros64(m) >> 3
			if end = start + n; d[end] == '"' {
				h = wordHash(x&(1<<(8*n)-1), n)
			} else {
				end = -1
			}
		} else if m := special(load64(d, start+8)); m != 0 {
			n := 8 + bits.TrailingZeros64(m)>>3
			if end = start + n; d[end] == '"' {
				h = wordHash(x^bits.RotateLeft64(load64(d, end-8), 29), n)
			} else {
				end = -1
			}
		}
	}
	if end < 0 {
		// Only a name read this way can be longer than stringLimit: those
		// found in the first sixteen bytes are shorter (decodeFast sees to
		// it).
		next, escaped := scanString(d, i)
		if next < 0 || escaped || next-1-start > s.stringLimit {
			return -1, 0
		}
		end = next - 1
		h = nameHash(d, start, end)
	}

	// Duplicate names: json/v2 rejects them in every object, decoded or
	// skipped. A bloom filter of the names' hashes lets most names pass
	// without a comparison.
	bit := uint64(1) << (h >> 26)
	n := s.nNames
	if o.bloom&bit != 0 {
		name := d[start:end]
		for _, r := range s.names[o.base:n] {
			if r.hash == h && string(d[r.start:r.end]) == string(name) {
				return -1, 0
			}
		}
	}
	o.bloom |= bit
	if n >= maxOpenNames {
		return -1, 0
	}
	s.names[n] = nameRef{int32(start), int32(end), h}
	s.nNames = n + 1

	// The colon and the value's first byte, quickly for the usual `": v`.
	i = end + 1
	if uint(i) >= uint(len(d)) || d[i] != ':' {
		if i = skipSpace(d, i); uint(i) >= uint(len(d)) || d[i] != ':' {
			return -1, 0
		}
	}
	i++
	if uint(i) < uint(len(d)) && d[i] == ' ' {
		i++
	}
	if uint(i) >= uint(len(d)) || d[i] <= ' ' {
		if i = skipSpace(d, i); uint(i) >= uint(len(d)) {
			return -1, 0
		}
	}
	return i, end
}

// nameHash hashes the name d[start:end]: wordHash of the name's bytes
// for a name shorter than eight bytes, of its first and last eight bytes
// mixed for a longer one. Cheap, and collisions only cost a comparison.
func nameHash(d []byte, start, end int) uint32 {
	n := end - start
	var w uint64
	switch {
	case n >= 8 && start >= 0 && end <= len(d):
		w = load64(d, start) ^ bits.RotateLeft64(load64(d, end-8), 29)
	case end >= 8 && end <= len(d):
		w = load64(d, end-8) >> (64 - 8*n) // the name's bytes only, as member reads them
	default: // a short name within eight bytes of the start of the input
		for k, c := range d[start:end] {
			w |= uint64(c) << (8 * k)
		}
	}
	return wordHash(w, n)
}

// wordHash hashes a name of length n from w, its bytes (little endian).
func wordHash(w uint64, n int) uint32 {
	return uint32(((w ^ uint64(n)<<59) * 0x9E3779B97F4A7C15) >> 32)
}

// name returns the name of the member more read last.
func (s *scanner) name() []byte { return s.data[s.nameStart+1 : s.nameEnd] }

// beginArray begins the array whose '[' is at s.pos.
func (s *scanner) beginArray() array {
	s.pos++
	if s.depth++; s.depth > maxDepth {
		s.fail()
	}
	return array{}
}

// elem reads up to a's next element. It returns false after the array's
// closing bracket, and on failure.
func (s *scanner) elem(a *array) bool {
	if s.bad {
		return false
	}
	d := s.data
	i := skipSpace(d, s.pos)
	if uint(i) >= uint(len(d)) {
		s.fail()
		return false
	}
	if d[i] == ']' {
		s.pos = i + 1
		s.depth--
		return false
	}
	if a.n > 0 {
		if d[i] != ',' {
			s.fail()
			return false
		}
		i = skipSpace(d, i+1)
		if uint(i) >= uint(len(d)) {
			s.fail()
			return false
		}
	}
	s.pos = i
	a.n++
	return true
}

// skipValue validates and skips the value at s.pos: one loop over
// the bytes, the open objects in s.frames and which of the containers
// open are objects in a bit set.
func (s *scanner) skipValue() {
	if s.bad {
		return
	}
	d := s.data
	i := s.pos
	top := s.depth  // skipping ends when back at this depth
	var objs uint64 // bit depth-top-1: that container is an object
	var o *object
	var next int

value: // d[i] is a value's first byte
	switch d[i] {
	case '"':
		// One comparison for both: a failed scan (-1) is a huge length.
		next = i
		if i, _ = scanString(d, i); uint(i-next-2) > uint(s.stringLimit) {
			goto fail
		}
	case '{':
		if s.depth++; s.depth > maxDepth {
			goto fail
		}
		objs |= 1 << (s.depth - top - 1)
		o = &s.frames[s.depth]
		*o = object{base: int32(s.nNames)}
		if i = skipSpace(d, i+1); uint(i) >= uint(len(d)) {
			goto fail
		}
		if d[i] != '}' {
			goto member
		}
		i++
		s.depth--
	case '[':
		if s.depth++; s.depth > maxDepth {
			goto fail
		}
		objs &^= 1 << (s.depth - top - 1)
		if i = skipSpace(d, i+1); uint(i) >= uint(len(d)) {
			goto fail
		}
		if d[i] != ']' {
			goto value
		}
		i++
		s.depth--
	case 't':
		if next = i + 4; next > len(d) || string(d[i:next]) != "true" {
			goto fail
		}
		i = next
	case 'f':
		if next = i + 5; next > len(d) || string(d[i:next]) != "false" {
			goto fail
		}
		i = next
	case 'n':
		if next = i + 4; next > len(d) || string(d[i:next]) != "null" {
			goto fail
		}
		i = next
	default:
		if i = scanNumber(d, i); i < 0 {
			goto fail
		}
	}

after: // a value ended at i
	if s.depth == top {
		s.pos = i
		return
	}
	if uint(i) >= uint(len(d)) || d[i] <= ' ' {
		if i = skipSpace(d, i); uint(i) >= uint(len(d)) {
			goto fail
		}
	}
	if objs&(1<<(s.depth-top-1)) != 0 {
		o = &s.frames[s.depth]
		switch d[i] {
		case ',':
			if i = skipSpace(d, i+1); uint(i) >= uint(len(d)) {
				goto fail
			}
			goto member
		case '}':
			i++
			s.nNames = int(o.base)
			s.depth--
			goto after
		}
		goto fail
	}
	switch d[i] {
	case ',':
		if i = skipSpace(d, i+1); uint(i) >= uint(len(d)) {
			goto fail
		}
		goto value
	case ']':
		i++
		s.depth--
		goto after
	}
	goto fail

member: // d[i] should be the opening quote of a member name of o
	if d[i] != '"' {
		goto fail
	}
	if i, _ = s.member(o, d, i); i < 0 {
		goto fail
	}
	goto value

fail:
	s.fail()
}

// literal reads the literal lit (true, false, null) at s.pos.
func (s *scanner) literal(lit string) {
	if len(s.data)-s.pos >= len(lit) && string(s.data[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return
	}
	s.fail()
}

// escapeLen returns the length of the escape sequence at the start of b
// (b[0] is a backslash), or 0 if it is not one the fast path accepts: an
// invalid escape, or a lone surrogate.
func escapeLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		r, ok := hex4(b[2:])
		switch {
		case !ok:
			return 0
		case 0xD800 <= r && r < 0xDC00: // a high surrogate: a low one must follow
			if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
				return 0
			}
			if r2, ok := hex4(b[8:]); !ok || r2 < 0xDC00 || r2 > 0xDFFF {
				return 0
			}
			return 12
		case 0xDC00 <= r && r <= 0xDFFF:
			return 0
		}
		return 6
	}
	return 0
}

// hex4 decodes the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// scanNumber validates the number at d[i] (RFC 8259: -?(0|[1-9][0-9]*)
// (\.[0-9]+)?([eE][+-]?[0-9]+)?) and returns the offset just past it, or
// -1. What follows a number is the caller's to check (a delimiter).
func scanNumber(d []byte, i int) int {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return -1
	case d[i] == '0':
		i++
	case '1' <= d[i] && d[i] <= '9':
		i++
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := i
		for i < len(d) && isDigit(d[i]) {
			i++
		}
		if i == j {
			return -1
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && isDigit(d[i]) {
			i++
		}
		if i == j {
			return -1
		}
	}
	return i
}

// number reads the number at s.pos, returning its text.
func (s *scanner) number() []byte {
	start := s.pos
	end := scanNumber(s.data, start)
	if end < 0 {
		s.fail()
		return nil
	}
	s.pos = end
	return s.data[start:end]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// intern returns b as a string, the one made before for the same bytes
// if it is in s.made.
func (s *scanner) intern(b []byte) string {
	n := len(b)
	if n < 2 || n > 64 {
		return string(b)
	}
	var w uint64
	if n >= 8 {
		w = binary.LittleEndian.Uint64(b) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 31)
	} else {
		w = uint64(b[0]) | uint64(b[n/2])<<8 | uint64(b[n-1])<<16
	}
	k := ((w ^ uint64(n)) * 0x9E3779B97F4A7C15) >> 58
	if m := s.made[k]; m == string(b) {
		return m
	}
	m := string(b)
	s.made[k] = m
	return m
}

// key returns the member name b as a string to key a map with: a
// constant for the names Okta sends in every request (standard claims,
// links, scopes), s.intern's otherwise.
func (s *scanner) key(b []byte) string {
	if k, ok := knownKeys[string(b)]; ok {
		return k
	}
	return s.intern(b)
}

// knownKeys are the names key returns without making a string.
var knownKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range strings.Fields(`sub iss aud exp iat jti ver uid cid scp amr idp acr azp
		auth_time nonce at_hash c_hash name given_name family_name middle_name
		nickname preferred_username profile picture website email email_verified
		gender birthdate zoneinfo locale phone_number phone_number_verified address
		updated_at groups openid phone offline_access self href factors`) {
		m[k] = k
	}
	return m
}()

// str reads a string, or null as "" (what json/v2 sets a string to).
func (s *scanner) str() string {
	if s.bad {
		return ""
	}
	start := s.pos
	switch s.data[start] {
	case '"':
	case 'n':
		s.literal("null")
		return ""
	default:
		s.fail()
		return ""
	}
	next, escaped := scanString(s.data, start)
	if uint(next-start-2) > uint(s.stringLimit) { // next < 0 included
		s.fail()
		return ""
	}
	s.pos = next
	if !escaped {
		return s.intern(s.data[start+1 : next-1])
	}
	b, err := jsontext.AppendUnquote(nil, s.data[start:next])
	if err != nil {
		s.fail()
		return ""
	}
	return string(b)
}

// strField reads a string, or null, into the string field *dst of the
// object b collects the string fields of.
func (s *scanner) strField(b *fields, dst *string) {
	if s.bad {
		return
	}
	start := s.pos
	if s.data[start] != '"' || b.n == len(b.dst) {
		*dst = s.str()
		return
	}
	next, escaped := scanString(s.data, start)
	if escaped || uint(next-start-2) > uint(s.stringLimit) { // next < 0 included
		*dst = s.str() // fails, or unescapes
		return
	}
	s.pos = next
	b.dst[b.n], b.start[b.n], b.end[b.n] = dst, int32(start+1), int32(next-1)
	b.n++
	b.size += next - 1 - (start + 1)
}

// fields collects the plain string fields of an object, to make them
// with one allocation when the object is read: the fields then share
// their bytes, so that holding one holds all (tens of bytes, a hundred or
// two), never the body.
type fields struct {
	n, size    int
	dst        [8]*string
	start, end [8]int32
}

// set sets the fields collected from d, the input.
func (b *fields) set(d []byte) {
	switch b.n {
	case 0:
		return
	case 1:
		*b.dst[0] = string(d[b.start[0]:b.end[0]])
		return
	}
	var all string
	if b.size <= 256 {
		var buf [256]byte // on the stack: the string is the one allocation
		p := buf[:0]
		for k := range b.n {
			p = append(p, d[b.start[k]:b.end[k]]...)
		}
		all = string(p)
	} else {
		var sb strings.Builder
		sb.Grow(b.size)
		for k := range b.n {
			sb.Write(d[b.start[k]:b.end[k]])
		}
		all = sb.String()
	}
	for k := range b.n {
		n := int(b.end[k] - b.start[k])
		*b.dst[k], all = all[:n], all[n:]
	}
}

// stringSlice reads an array of strings; null is nil.
func (s *scanner) stringSlice() []string {
	if s.bad {
		return nil
	}
	switch s.data[s.pos] {
	case '[':
	case 'n':
		s.literal("null")
		return nil
	default:
		s.fail()
		return nil
	}
	a := s.beginArray()
	v := []string{}
	for s.elem(&a) {
		v = append(v, s.str())
	}
	return v
}

// maxIntDigits is the number of decimal digits any int holds.
const maxIntDigits = 9 + 9*(strconv.IntSize/64)

// integer reads a number into an int, or null as 0. A fraction, an
// exponent or a value that may overflow fails (json/v2 rejects the first
// two, and the rest are too rare to be worth reading here).
func (s *scanner) integer() int {
	if s.bad {
		return 0
	}
	if s.data[s.pos] == 'n' {
		s.literal("null")
		return 0
	}
	b := s.number()
	if s.bad {
		return 0
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > maxIntDigits {
		s.fail()
		return 0
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			s.fail() // a fraction or an exponent
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n
}

// boolPtr reads a boolean into a new *bool; null is nil.
func (s *scanner) boolPtr() *bool {
	if s.bad {
		return nil
	}
	switch s.data[s.pos] {
	case 't':
		s.literal("true")
		v := true
		return &v
	case 'f':
		s.literal("false")
		return new(bool)
	case 'n':
		s.literal("null")
		return nil
	}
	s.fail()
	return nil
}

// anyValue reads a value as json/v2 decodes it into an any: string,
// float64, bool, nil, []any, map[string]any.
func (s *scanner) anyValue() any {
	if s.bad {
		return nil
	}
	switch s.data[s.pos] {
	case '{':
		return s.anyObject()
	case '[':
		a := s.beginArray()
		v := []any{}
		for s.elem(&a) {
			v = append(v, s.anyValue())
		}
		return v
	case '"':
		return s.str()
	case 't':
		s.literal("true")
		return true
	case 'f':
		s.literal("false")
		return false
	case 'n':
		s.literal("null")
		return nil
	}
	b := s.number()
	if s.bad {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		s.fail() // out of range: json/v2 rejects it
		return nil
	}
	return f
}

// anyObject reads an object into a map[string]any; null is nil.
func (s *scanner) anyObject() map[string]any {
	var o object
	if !s.open(&o) {
		return nil
	}
	m := map[string]any{}
	for s.more(&o) {
		name := s.key(s.name())
		m[name] = s.anyValue()
	}
	return m
}

// unknown validates the value of the member more read last and adds the
// member to u, a struct's Unknown, as json/v2 does: name and value
// verbatim, in the order read.
func (s *scanner) unknown(u jsontext.Value) jsontext.Value {
	name := s.data[s.nameStart : s.nameEnd+1]
	start := s.pos
	s.skipValue()
	if s.bad {
		return u
	}
	if len(u) == 0 {
		u = append(u, '{')
	} else {
		u[len(u)-1] = ','
	}
	u = append(u, name...)
	u = append(u, ':')
	u = append(u, s.data[start:s.pos]...)
	return append(u, '}')
}
