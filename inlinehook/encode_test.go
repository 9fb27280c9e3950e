package inlinehook

import (
	"bytes"
	"encoding/json/v2"
	"math"
	"testing"
)

// encodeReference is what EncodeResponse was before its fast path, and
// still is for what the fast path does not handle.
func encodeReference(r *Response) ([]byte, error) {
	return json.Marshal(r, json.Deterministic(true))
}

func encodeCases() []*Response {
	return []*Response{
		{},
		{Commands: []Command{PatchIdentity(AddClaim("patientId", "1235"))}},
		{Commands: []Command{PatchIdentity(), {Type: AccessPatch}}},
		{Commands: []Command{
			PatchIdentity(AddClaim("a/b~c", "<&>\u2028\"\\\x01é"), ReplaceClaim("n", 42), RemoveClaim("x")),
			PatchAccess(SetLifetime(300), AddClaim("t", true), AddClaim("f", false), AddClaim("z", int64(-7)), AddClaim("e", "")),
		}},
		Deny("Your account is suspended"),
		Deny(""),
		{Error: &Error{ErrorSummary: "x"}, Commands: []Command{PatchIdentity(AddClaim("a", "b"))}},
		{DebugContext: map[string]any{"k": "v"}},
		{DebugContext: map[string]any{"rules": "a,b", "lookups": "user=found", "z": "", "\u2028": "<&>"}, Commands: []Command{PatchIdentity(AddClaim("a", "b"))}},
		{DebugContext: map[string]any{}, Error: &Error{ErrorSummary: "x"}},
		// Handled by json/v2:
		{Commands: []Command{PatchAccess(AddClaim("f", 1.5), AddClaim("l", []any{"a", 1.0}), AddClaim("m", map[string]any{"b": 1.0, "a": nil}))}},
		{DebugContext: map[string]any{"n": 1.0}},
		{DebugContext: map[string]any{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}},
		{Error: &Error{ErrorSummary: "x", ErrorCauses: []ErrorCause{{Reason: "r"}}}},
	}
}

func TestEncodeResponseMatchesReference(t *testing.T) {
	for i, r := range encodeCases() {
		got, err := EncodeResponse(r)
		want, werr := encodeReference(r)
		if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s (%v)\nwant %s (%v)", i, got, err, want, werr)
		}
	}
	// Values json cannot encode fail on both paths.
	bad := []*Response{
		{Commands: []Command{PatchIdentity(AddClaim("x", "\xff"))}},
		{Commands: []Command{PatchIdentity(AddClaim("x", math.NaN()))}},
	}
	for i, r := range bad {
		if _, err := EncodeResponse(r); err == nil {
			t.Errorf("bad case %d encoded", i)
		}
	}
}

func FuzzEncodeResponse(f *testing.F) {
	f.Add("patientId", "1235", int64(3), true, "Deny me")
	f.Add("a/b~c", "\u2028<>&\"", int64(-1), false, "")
	f.Fuzz(func(t *testing.T, claim, value string, n int64, flag bool, summary string) {
		for _, r := range []*Response{
			{Commands: []Command{PatchIdentity(AddClaim(claim, value), AddClaim(value, n), RemoveClaim(claim)), PatchAccess(AddClaim(claim, flag))}},
			Deny(summary),
			{Error: &Error{ErrorSummary: summary}, Commands: []Command{{Type: claim}}},
			{DebugContext: map[string]any{claim: value, summary: claim}, Commands: []Command{PatchIdentity(AddClaim(claim, value))}},
		} {
			got, err := EncodeResponse(r)
			want, werr := encodeReference(r)
			if (err != nil) != (werr != nil) || (err == nil && !bytes.Equal(got, want)) {
				t.Fatalf("got %q (%v), want %q (%v)", got, err, want, werr)
			}
		}
	})
}
