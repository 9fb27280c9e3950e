package inlinehook_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// TestParseResponse pins how a response body is read (contract §3.1–3.2):
// tolerant of unknown members, Okta's message for bodies it cannot read.
func TestParseResponse(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		line, col int // of the DeserializeError; 0: no error
	}{
		{name: "empty object", body: `{}`},
		{name: "unknown members at every level", body: `{"x":1,"commands":[{"type":"com.okta.identity.patch","y":[],"value":[{"op":"add","path":"/claims/a","value":1,"z":{}}]}],"error":null}`},
		{name: "debugContext", body: `{"debugContext":{"a":[1,{"b":null}]}}`},
		{name: "duplicate member names", body: `{"commands":[],"commands":[{"type":"com.okta.identity.patch","value":[]}]}`},
		{name: "leading whitespace", body: " \r\n\t{}"},
		{name: "empty body", body: ``, line: 1, col: 1},
		{name: "whitespace only", body: "\n\n  ", line: 3, col: 3},
		{name: "null", body: `null`, line: 1, col: 1},
		{name: "null after newline", body: "\nnull", line: 2, col: 1},
		{name: "array", body: `[]`, line: 1, col: 1},
		{name: "string", body: `"ok"`, line: 1, col: 1},
		{name: "missing comma", body: "{\n  \"commands\": [\n    {\"type\": \"a\" \"value\": []}\n  ]\n}", line: 3, col: 18},
		{name: "truncated", body: `{"commands":[`, line: 1, col: 14},
		{name: "trailing garbage", body: `{} x`, line: 1, col: 4},
		{name: "wrong type", body: `{"commands":{}}`, line: 1, col: 13},
		{name: "wrong type deep", body: "{\"commands\":[{\"type\":\"a\",\"value\":[{\"op\":1}]}]}", line: 1, col: 41},
		{name: "CRLF lines", body: "{\r\n\"commands\": 5\r\n}", line: 2, col: 13},
		{name: "invalid UTF-8", body: "{\"debugContext\":{\"a\":\"\xff\"}}", line: 1, col: 23},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := inlinehook.ParseResponse([]byte(tt.body))
			if tt.line == 0 {
				if err != nil || resp == nil {
					t.Fatalf("ParseResponse: %v", err)
				}
				return
			}
			var de *inlinehook.DeserializeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want a DeserializeError", err)
			}
			if de.Line != tt.line || de.Column != tt.col {
				t.Errorf("at line %d column %d, want line %d column %d (%v)", de.Line, de.Column, tt.line, tt.col, de.Err)
			}
			if !strings.HasPrefix(err.Error(), "Could not deserialize inline hook response due to error at Line ") {
				t.Errorf("Error() = %q", err.Error())
			}
			if de.Unwrap() == nil {
				t.Error("no underlying error")
			}
		})
	}
}

func TestParseResponseUnknownMembersIgnored(t *testing.T) {
	resp, err := inlinehook.ParseResponse(mustReadFile(t, "responses", "unknown_members.json"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil || len(resp.Commands) != 1 || resp.Commands[0].Value[0].Value != "1235" || resp.DebugContext["store"] != "sqlite" {
		t.Errorf("resp = %+v", resp)
	}
}

// TestResponseSize: Okta refuses bodies of 256 KB or more (contract §3.1).
func TestResponseSize(t *testing.T) {
	if v := inlinehook.ValidateSize(inlinehook.MaxResponseSize - 1); v != nil {
		t.Errorf("MaxResponseSize-1: %v", v)
	}
	v := inlinehook.ValidateSize(inlinehook.MaxResponseSize)
	if v == nil || v.Reason != inlinehook.ReasonResponseTooLarge || v.Command != -1 || v.Op != -1 {
		t.Fatalf("MaxResponseSize: %+v", v)
	}
	if v.Message != "Response too large(size=262144, limit=262144)" {
		t.Errorf("Message = %q", v.Message)
	}

	// A valid body just under the limit parses; one byte more does not.
	pad := func(n int) []byte {
		const head, tail = `{"debugContext":{"pad":"`, `"}}`
		return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
	}
	if _, err := inlinehook.ParseResponse(pad(inlinehook.MaxResponseSize - 1)); err != nil {
		t.Errorf("just under the limit: %v", err)
	}
	_, err := inlinehook.ParseResponse(pad(inlinehook.MaxResponseSize))
	var tooBig *inlinehook.Violation
	if !errors.As(err, &tooBig) || tooBig.Reason != inlinehook.ReasonResponseTooLarge {
		t.Errorf("at the limit: err = %v", err)
	}
}
