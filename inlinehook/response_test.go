package inlinehook_test

import (
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// TestBuilders pins the JSON the builders produce.
func TestBuilders(t *testing.T) {
	tests := []struct {
		name string
		resp *inlinehook.Response
		want string
	}{
		{"guide", &inlinehook.Response{Commands: []inlinehook.Command{
			inlinehook.PatchIdentity(inlinehook.AddClaim("extPatientId", "1235"))}},
			`{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"}]}]}`},
		{"every builder", &inlinehook.Response{Commands: []inlinehook.Command{
			inlinehook.PatchAccess(
				inlinehook.ReplaceClaim("sub", "p-1"),
				inlinehook.RemoveClaim("https://x.example/c"),
				inlinehook.Add(inlinehook.ClaimPath("arr", "-"), 1),
				inlinehook.Replace(inlinehook.ClaimPath("o", "m"), map[string]any{"b": 2, "a": 1}),
				inlinehook.Remove(inlinehook.ClaimPath("o", "n")),
				inlinehook.SetLifetime(900))}},
			`{"commands":[{"type":"com.okta.access.patch","value":[
				{"op":"replace","path":"/claims/sub","value":"p-1"},
				{"op":"remove","path":"/claims/https:~1~1x.example~1c"},
				{"op":"add","path":"/claims/arr/-","value":1},
				{"op":"replace","path":"/claims/o/m","value":{"a":1,"b":2}},
				{"op":"remove","path":"/claims/o/n"},
				{"op":"replace","path":"/token/lifetime/expiration","value":900}]}]}`},
		{"falsy values are kept", &inlinehook.Response{Commands: []inlinehook.Command{
			inlinehook.PatchIdentity(inlinehook.AddClaim("f", false), inlinehook.AddClaim("z", 0), inlinehook.AddClaim("e", ""))}},
			`{"commands":[{"type":"com.okta.identity.patch","value":[
				{"op":"add","path":"/claims/f","value":false},
				{"op":"add","path":"/claims/z","value":0},
				{"op":"add","path":"/claims/e","value":""}]}]}`},
		{"deny", inlinehook.Deny("Patient record is locked"), `{"error":{"errorSummary":"Patient record is locked"}}`},
		{"nil", nil, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := inlinehook.EncodeResponse(tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, b, []byte(tt.want)) {
				t.Errorf("got  %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestEncodeResponseDeterministic(t *testing.T) {
	resp := &inlinehook.Response{DebugContext: map[string]any{"z": 1, "a": 2, "m": map[string]any{"y": 1, "b": 2}}}
	b, err := inlinehook.EncodeResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"debugContext":{"a":2,"m":{"b":2,"y":1},"z":1}}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	if _, err := inlinehook.EncodeResponse(&inlinehook.Response{DebugContext: map[string]any{"c": make(chan int)}}); err == nil {
		t.Error("no error for an unencodable value")
	}
}

func TestIsEmpty(t *testing.T) {
	tests := []struct {
		name string
		resp *inlinehook.Response
		want bool
	}{
		{"nil", nil, true},
		{"zero", &inlinehook.Response{}, true},
		{"empty commands", &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity()}}, true},
		{"one op", &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity(inlinehook.AddClaim("a", 1))}}, false},
		{"error", inlinehook.Deny(""), false},
	}
	for _, tt := range tests {
		if got := tt.resp.IsEmpty(); got != tt.want {
			t.Errorf("%s: IsEmpty() = %v", tt.name, got)
		}
	}
}
