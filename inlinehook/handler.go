package inlinehook

import (
	"bytes"
	"context"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"mime"
	"net/http"
	"reflect"
	"strconv"
)

// MaxRequestSize caps the request body a [HandlerFunc] reads. Okta's token
// hook requests are a few KB; 1 MiB leaves room for large profiles and
// custom claims while bounding what a stray client can make the hook buffer.
const MaxRequestSize = 1 << 20

// HandlerFunc adapts a function to an [http.Handler] that answers Okta's
// token inline hook calls:
//
//   - only POST (405 with an Allow header otherwise);
//   - Content-Type application/json, any parameters (415 otherwise);
//   - a body of at most MaxRequestSize bytes (413 otherwise);
//   - a body [DecodeTokenRequest] accepts (400 otherwise, saying where the
//     JSON is wrong).
//
// It then calls the function with the request's context. A nil or empty
// response (no error object, no operation, no debugContext) is answered 204
// No Content, Okta's "no changes"; anything else 200 with the response as
// JSON. A response that does not encode, or encodes to MaxResponseSize bytes
// or more, and an error from the function are answered 500 with a generic
// message: Okta then mints the tokens unmodified. The function's error is
// never shown to the caller; log it in the function.
//
// Error bodies are JSON objects {"error": "..."}. To deny a token, return
// [Deny] rather than an error: Okta ignores the body of any non-200 answer.
// The handler does not authenticate the caller and does not check the
// response against Okta's rules: wrap it for the former, and use [Prune] in
// the function for the latter.
type HandlerFunc func(ctx context.Context, req *TokenRequest) (*Response, error)

// ServeHTTP implements [http.Handler].
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use POST")
		return
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType,
			"Content-Type must be application/json, not "+strconv.Quote(ct))
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge,
				"request body larger than "+strconv.Itoa(MaxRequestSize)+" bytes")
			return
		}
		writeError(w, http.StatusBadRequest, "cannot read request body")
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, http.StatusBadRequest, "request body is empty")
		return
	}
	req, err := DecodeTokenRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := f(r.Context(), req)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	if resp.IsEmpty() && len(resp.debugContext()) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	out, err := EncodeResponse(resp)
	if err != nil || ValidateSize(len(out)) != nil {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

func (r *Response) debugContext() map[string]any {
	if r == nil {
		return nil
	}
	return r.DebugContext
}

// readBody reads at most MaxRequestSize bytes of r's body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= MaxRequestSize {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxRequestSize))
	return buf.Bytes(), err
}

// writeError answers with status and the JSON body {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// kindName names a JSON kind in words.
func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return ""
}

// jsonKindOf names the JSON kind a Go type decodes from, with an article.
func jsonKindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return ""
}
