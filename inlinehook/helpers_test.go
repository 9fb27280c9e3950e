package inlinehook_test

import (
	"encoding/json/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// requestFixtures are the files of testdata/requests, by name.
var requestFixtures = []string{
	"authorization_code", "client_credentials", "implicit", "password",
	"refresh_token", "unknown_members",
}

// mustReadFile returns the contents of a file under testdata.
func mustReadFile(tb testing.TB, elem ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, elem...)...))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// mustRequest decodes testdata/requests/<name>.json.
func mustRequest(tb testing.TB, name string) *inlinehook.TokenRequest {
	tb.Helper()
	req, err := inlinehook.DecodeTokenRequest(mustReadFile(tb, "requests", name+".json"))
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return req
}

// mustResponse decodes a response from JSON text.
func mustResponse(tb testing.TB, s string) *inlinehook.Response {
	tb.Helper()
	resp, err := inlinehook.ParseResponse([]byte(s))
	if err != nil {
		tb.Fatalf("ParseResponse(%s): %v", s, err)
	}
	return resp
}

// jsonEqual reports whether a and b hold the same JSON value, whatever the
// member order and spacing.
func jsonEqual(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		tb.Fatalf("jsonEqual: first: %v", err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		tb.Fatalf("jsonEqual: second: %v", err)
	}
	return reflect.DeepEqual(va, vb)
}

// mustJSON encodes v deterministically.
func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
