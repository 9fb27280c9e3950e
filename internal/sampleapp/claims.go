package sampleapp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"time"
)

// claimRow is one line of a claim table.
type claimRow struct {
	Name string
	// Value is a string claim as it is, anything else as JSON (objects and
	// arrays indented).
	Value string
	// Structured marks objects and arrays, shown preformatted.
	Structured bool
	// Note explains a value, e.g. a NumericDate as UTC time.
	Note string
}

// isTimeClaim reports whether a claim's number is seconds since the epoch.
func isTimeClaim(name string) bool {
	switch name {
	case "exp", "iat", "nbf", "auth_time", "updated_at":
		return true
	}
	return false
}

// decodeClaims decodes a JSON object of claims, keeping numbers exactly as
// written (a 64-bit id must not turn into a float).
func decodeClaims(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil {
		return nil, err
	}
	if claims == nil {
		return nil, errors.New("claims are not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("text after the claims object")
	}
	return claims, nil
}

// claimRows renders every claim, sorted by name.
func claimRows(claims map[string]any) []claimRow {
	rows := make([]claimRow, 0, len(claims))
	for name, v := range claims {
		row := claimRow{Name: name}
		switch v := v.(type) {
		case string:
			row.Value = v
		case map[string]any, []any:
			row.Value, row.Structured = renderJSON(v, "  "), true
		default:
			row.Value = renderJSON(v, "")
		}
		if n, ok := v.(json.Number); ok && isTimeClaim(name) {
			if secs, err := n.Int64(); err == nil {
				row.Note = time.Unix(secs, 0).UTC().Format(time.RFC3339)
			}
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b claimRow) int { return strings.Compare(a.Name, b.Name) })
	return rows
}

// renderJSON renders v as JSON without HTML escaping: the template escapes
// for HTML, and "<" should read as "<", not "\u003c".
func renderJSON(v any, indent string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return "?"
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// jwtClaims decodes a JWT's payload WITHOUT verifying its signature: the
// access token is for the resource server, which verifies it; the app only
// shows it. ok is false when token is not a JWS compact serialization with
// a JSON object payload (an opaque token).
func jwtClaims(token string) (claims map[string]any, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	claims, err = decodeClaims(payload)
	return claims, err == nil
}
