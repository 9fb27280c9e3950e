package preview

import (
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// maxRequestSize caps a request file; Okta's requests are a few KB.
const maxRequestSize = 4 << 20

// ReadRequest decodes a token inline hook request, tolerant of members it
// does not know, as Okta sends it or as Okta's Admin Console preview shows
// it (the same wire format).
func ReadRequest(r io.Reader) (*inlinehook.TokenRequest, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRequestSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRequestSize {
		return nil, fmt.Errorf("the request is larger than %d bytes", maxRequestSize)
	}
	return inlinehook.DecodeTokenRequest(data)
}

// ReadRequestFile reads a request from the file name, or from stdin when
// name is "-".
func ReadRequestFile(name string, stdin io.Reader) (*inlinehook.TokenRequest, error) {
	if name == "-" {
		req, err := ReadRequest(stdin)
		if err != nil {
			return nil, fmt.Errorf("standard input: %w", err)
		}
		return req, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	req, err := ReadRequest(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return req, nil
}

// Edit sets the value at a JSON Pointer (RFC 6901) into the request, e.g.
// /data/identity/claims/preferred_username.
type Edit struct {
	Path  string
	Value jsontext.Value
}

// ParseEdit parses "PATH=VALUE", split at the first "=". VALUE is JSON; a
// VALUE that is not valid JSON is taken as a string, so
// /data/context/user/profile/login=kim.sato@example.com needs no quotes.
func ParseEdit(s string) (Edit, error) {
	path, value, ok := strings.Cut(s, "=")
	if !ok {
		return Edit{}, fmt.Errorf("--set %q: want PATH=VALUE, e.g. /data/identity/claims/name='\"Kim\"'", s)
	}
	if !strings.HasPrefix(path, "/") || !jsontext.Pointer(path).IsValid() {
		return Edit{}, fmt.Errorf("--set %q: %q is not a JSON Pointer (it starts with /, e.g. /data/identity/claims/name)", s, path)
	}
	v := jsontext.Value(value)
	if !v.IsValid() {
		b, err := json.Marshal(value)
		if err != nil {
			return Edit{}, fmt.Errorf("--set %q: the value is not valid UTF-8", s)
		}
		v = b
	}
	return Edit{Path: path, Value: v}, nil
}

// ApplyEdits returns a copy of req with every edit applied in order. An
// edit sets an object member (creating the objects on the way when they
// are missing, as when one adds data.identity by hand in Okta's preview),
// replaces an array element, or appends to an array with "-" or the
// array's length. The result must still be a token request.
func ApplyEdits(req *inlinehook.TokenRequest, edits []Edit) (*inlinehook.TokenRequest, error) {
	if len(edits) == 0 {
		return req, nil
	}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode the request: %w", err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode the request: %w", err)
	}
	for _, e := range edits {
		var v any
		if err := json.Unmarshal(e.Value, &v); err != nil {
			return nil, fmt.Errorf("--set %s: %w", e.Path, err)
		}
		var tokens []string
		for tok := range jsontext.Pointer(e.Path).Tokens() {
			tokens = append(tokens, tok)
		}
		if doc, err = setAt(doc, tokens, v, ""); err != nil {
			return nil, fmt.Errorf("--set %s: %w", e.Path, err)
		}
	}
	data, err = json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode the edited request: %w", err)
	}
	out, err := inlinehook.DecodeTokenRequest(data)
	if err != nil {
		var de *inlinehook.DecodeError
		if errors.As(err, &de) && de.Pointer != "" {
			return nil, fmt.Errorf("after --set, %s has the wrong type for a token request: %s", de.Pointer, de.Reason)
		}
		return nil, fmt.Errorf("after --set: %w", err)
	}
	return out, nil
}

// setAt sets the value at tokens inside node and returns the new node. at
// is the pointer to node, for messages.
func setAt(node any, tokens []string, v any, at string) (any, error) {
	if len(tokens) == 0 {
		return v, nil
	}
	tok, rest := tokens[0], tokens[1:]
	here := at + "/" + escapeToken(tok)
	switch n := node.(type) {
	case nil:
		// A missing object on the way: create it.
		child, err := setAt(nil, rest, v, here)
		if err != nil {
			return nil, err
		}
		return map[string]any{tok: child}, nil
	case map[string]any:
		child, err := setAt(n[tok], rest, v, here)
		if err != nil {
			return nil, err
		}
		n[tok] = child
		return n, nil
	case []any:
		if tok == "-" {
			if len(rest) > 0 {
				return nil, fmt.Errorf("%s: \"-\" can only be last", here)
			}
			return append(n, v), nil
		}
		i, err := strconv.Atoi(tok)
		if err != nil || i < 0 || i > len(n) || (i == len(n) && len(rest) > 0) ||
			(len(tok) > 1 && tok[0] == '0') {
			return nil, fmt.Errorf("%s: not an index of the array at %s (length %d)", here, orRoot(at), len(n))
		}
		if i == len(n) {
			return append(n, v), nil
		}
		child, err := setAt(n[i], rest, v, here)
		if err != nil {
			return nil, err
		}
		n[i] = child
		return n, nil
	}
	return nil, fmt.Errorf("%s: %s is neither an object nor an array", here, orRoot(at))
}

func orRoot(p string) string {
	if p == "" {
		return "the request"
	}
	return p
}

func escapeToken(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// SetLogin makes req about the user login: it sets
// data.context.user.profile.login and data.context.session.login when the
// request has a user and a session, the ID token's preferred_username when
// the token has that claim, and the access token's sub when it was the old
// login (Okta's default sub). Nothing else changes: ids and names stay.
func SetLogin(req *inlinehook.TokenRequest, login string) {
	old := req.Login()
	ctx := &req.Data.Context
	if ctx.User != nil {
		ctx.User.Profile.Login = login
	}
	if ctx.Session != nil {
		ctx.Session.Login = login
	}
	if id := req.Data.Identity; id != nil {
		if _, ok := id.Claims["preferred_username"]; ok {
			id.Claims["preferred_username"] = login
		}
	}
	if at := req.Data.Access; at != nil && old != "" {
		if sub, ok := at.Claims.String("sub"); ok && sub == old {
			at.Claims["sub"] = login
		}
	}
}
