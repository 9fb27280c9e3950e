package inlinehook

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of [ParseClaimPath] and [UnescapePointerToken]; test with
// [errors.Is].
var (
	// ErrNotClaimPath: the path does not start with "/claims/".
	ErrNotClaimPath = errors.New("inlinehook: path is not under /claims/")
	// ErrEmptyClaimName: the path is "/claims/" or "/claims//...".
	ErrEmptyClaimName = errors.New("inlinehook: empty claim name")
	// ErrBadEscape: a "~" not followed by "0" or "1".
	ErrBadEscape = errors.New("inlinehook: bad escape in pointer token")
)

const claimsPrefix = "/claims/"

// ClaimPath returns the JSON pointer of a claim, or of a member or element
// inside it: ClaimPath("a/b", "0") is "/claims/a~1b/0". Each segment is
// escaped per RFC 6901, so claim names that are URIs are safe.
func ClaimPath(claim string, inside ...string) string {
	var b strings.Builder
	b.WriteString(claimsPrefix)
	b.WriteString(EscapePointerToken(claim))
	for _, s := range inside {
		b.WriteByte('/')
		b.WriteString(EscapePointerToken(s))
	}
	return b.String()
}

// ParseClaimPath splits a claim path into the unescaped claim name and the
// unescaped reference tokens that lead inside the claim (object member names
// or array indexes, "-" included), so that
//
//	ClaimPath(ParseClaimPath(p)) == p
//
// for every path it accepts. ParseClaimPath("/claims/a~1b/0") is "a/b",
// ["0"]. It fails with [ErrNotClaimPath] for paths outside "/claims/" (the
// lifetime path included: compare it with [LifetimePath]), with
// [ErrEmptyClaimName] when the claim name is empty, and with [ErrBadEscape]
// for a "~" not followed by "0" or "1". It says nothing about whether the
// path exists in a token; [Validate] checks that.
func ParseClaimPath(path string) (claim string, inside []string, err error) {
	rest, ok := strings.CutPrefix(path, claimsPrefix)
	if !ok {
		return "", nil, fmt.Errorf("%w: %q", ErrNotClaimPath, path)
	}
	name, rest, nested := strings.Cut(rest, "/")
	if name == "" {
		return "", nil, fmt.Errorf("%w: %q", ErrEmptyClaimName, path)
	}
	if claim, err = UnescapePointerToken(name); err != nil {
		return "", nil, err
	}
	if !nested {
		return claim, nil, nil
	}
	inside = strings.Split(rest, "/")
	for i, s := range inside {
		if inside[i], err = UnescapePointerToken(s); err != nil {
			return "", nil, err
		}
	}
	return claim, inside, nil
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// EscapePointerToken escapes one JSON pointer reference token: "~" becomes
// "~0" and "/" becomes "~1".
func EscapePointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return pointerEscaper.Replace(s)
}

// UnescapePointerToken reverses [EscapePointerToken]. It fails with
// [ErrBadEscape] on a "~" not followed by "0" or "1". Per RFC 6901 "~01" is
// "~1", not "/".
func UnescapePointerToken(s string) (string, error) {
	if !strings.Contains(s, "~") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '~' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) || (s[i+1] != '0' && s[i+1] != '1') {
			return "", fmt.Errorf("%w %q", ErrBadEscape, s)
		}
		if s[i+1] == '0' {
			b.WriteByte('~')
		} else {
			b.WriteByte('/')
		}
		i++
	}
	return b.String(), nil
}
