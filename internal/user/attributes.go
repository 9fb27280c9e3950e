package user

import (
	"bytes"
	"encoding/json"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"errors"
	"fmt"
	"strings"
)

// EncodeAttributes returns the JSON text a store keeps for attrs: an object
// whose members are sorted by name, so equal attributes are stored as equal
// bytes. Nil encodes as {}.
//
// attrs may hold any value encoding/json/v2 encodes; an attribute it cannot
// encode (a channel, NaN, a string that is not valid UTF-8...) is an error
// wrapping [ErrInvalid] that names where the attribute is but not its value.
func EncodeAttributes(attrs map[string]any) ([]byte, error) {
	if attrs == nil {
		return []byte("{}"), nil
	}
	b, err := jsonv2.Marshal(attrs, jsonv2.Deterministic(true))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, describeEncodeError(err))
	}
	return b, nil
}

// describeEncodeError says where and why attributes failed to encode, without
// the value: encoding/json's own messages may quote it, and attribute values
// can be personal data that must not reach logs.
func describeEncodeError(err error) string {
	var semErr *jsonv2.SemanticError
	var synErr *jsontext.SyntacticError
	switch {
	case errors.As(err, &semErr):
		if semErr.GoType != nil {
			return fmt.Sprintf("%s: a value of Go type %v cannot be encoded as JSON", where(semErr.JSONPointer), semErr.GoType)
		}
		return where(semErr.JSONPointer) + ": a value cannot be encoded as JSON"
	case errors.As(err, &synErr):
		// Encoding a Go value meets only one syntactic problem: text
		// (a string or a member name) that is not valid UTF-8, which JSON
		// cannot carry without changing it.
		return where(synErr.JSONPointer) + ": text is not valid UTF-8"
	}
	return "attributes cannot be encoded as JSON"
}

// where names the attribute a JSON pointer leads to. The pointer holds
// attribute names and array indexes only, never values.
func where(p jsontext.Pointer) string {
	if p == "" {
		return "attributes"
	}
	return fmt.Sprintf("attribute %q", string(p))
}

// decodeOptions make numbers decode as json.Number, keeping their exact
// text, where encoding/json/v2 would otherwise produce a float64.
var decodeOptions = jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(
	func(dec *jsontext.Decoder, v *any) error {
		if dec.PeekKind() != '0' {
			return errors.ErrUnsupported // not a number: decode as usual
		}
		val, err := dec.ReadValue()
		if err != nil {
			return err
		}
		*v = json.Number(val) // the conversion copies the decoder's buffer
		return nil
	}))

// DecodeAttributes decodes JSON text that holds an object into attributes
// in the canonical form the package documentation describes. Stores use it
// to read back what [EncodeAttributes] wrote, so an error means the stored
// text is damaged; its message locates the problem without quoting values.
func DecodeAttributes(data []byte) (map[string]any, error) {
	if v := bytes.TrimLeft(data, " \t\r\n"); len(v) == 0 || v[0] != '{' {
		return nil, errors.New("attributes are not a JSON object")
	}
	var attrs map[string]any
	if err := jsonv2.Unmarshal(data, &attrs, decodeOptions); err != nil {
		var synErr *jsontext.SyntacticError
		if errors.As(err, &synErr) {
			return nil, fmt.Errorf("attributes are not valid JSON: byte %d: %s", synErr.ByteOffset, syntaxMessage(synErr))
		}
		return nil, errors.New("attributes are not a JSON object")
	}
	return attrs, nil
}

// CloneAttributes returns a deep copy of attrs in the canonical form: maps
// and slices are copied at every depth, other values (strings, numbers,
// booleans, nil) are immutable and shared. Stores that keep decoded
// attributes in memory use it so callers cannot reach stored state. It
// copies other mutable types (a []string, say) only shallowly; Put's
// encoding never leaves such types behind.
func CloneAttributes(attrs map[string]any) map[string]any {
	if attrs == nil {
		return nil
	}
	m := make(map[string]any, len(attrs))
	for k, v := range attrs {
		m[k] = cloneValue(v)
	}
	return m
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return CloneAttributes(v)
	case []any:
		if v == nil {
			return v
		}
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = cloneValue(e)
		}
		return s
	}
	return v
}

// syntaxMessage describes a JSON syntax error without quoting more than one
// character of the input: jsontext's messages can show several bytes of a
// string around a bad escape, and the string may be an attribute value.
// (Package userfile has the same rule for the files it reads.)
func syntaxMessage(err *jsontext.SyntacticError) string {
	if err.Err == nil {
		return "syntax error"
	}
	msg := err.Err.Error()
	for _, label := range []string{"invalid escape sequence", "invalid surrogate pair"} {
		if strings.HasPrefix(msg, label) {
			return label + " in string"
		}
	}
	return msg
}
