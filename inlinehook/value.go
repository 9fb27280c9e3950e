package inlinehook

import (
	"encoding/json/v2"
	"math"
)

// normalize returns v as the JSON value Okta would see once v is encoded:
// nil, bool, float64, string, []any or map[string]any. Values that already
// have that form are returned as they are, without copying; anything else
// (Go ints, structs, []string, jsontext.Value, ...) is encoded and decoded
// again. It fails for values that cannot be encoded as JSON (NaN, channels,
// functions, ...).
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return v, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			break // let json report it
		}
		return v, nil
	case int:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case map[string]any, []any:
		if canonical(v, 0) {
			return v, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// maxCanonicalDepth bounds the recursion of canonical; deeper values take the
// (iterative, depth-limited) encode/decode path of normalize instead.
const maxCanonicalDepth = 64

// canonical reports whether v is made of the types normalize returns only.
func canonical(v any, depth int) bool {
	if depth > maxCanonicalDepth {
		return false
	}
	switch x := v.(type) {
	case nil, bool, string:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case []any:
		for _, e := range x {
			if !canonical(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !canonical(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// deepCopy returns a copy of v that shares no map or slice with it, in the
// form normalize returns.
func deepCopy(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, float64:
		return normalize(v)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := deepCopy(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := deepCopy(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	// normalize encodes and decodes anything else: the result is fresh.
	return normalize(v)
}

// asContainer returns v as a JSON object or array, normalizing Go values such
// as []string or structs first. ok is false for scalars and for values that
// cannot be encoded.
func asContainer(v any) (c any, ok bool) {
	switch v.(type) {
	case map[string]any, []any:
		return v, true
	case nil, bool, string, float64, int, int32, int64:
		return nil, false
	}
	n, err := normalize(v)
	if err != nil {
		return nil, false
	}
	switch n.(type) {
	case map[string]any, []any:
		return n, true
	}
	return nil, false
}
