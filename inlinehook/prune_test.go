package inlinehook_test

import (
	"reflect"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// TestPrune pins the response guard: every operation Okta would reject goes,
// the rest stays in order, and what remains validates clean.
func TestPrune(t *testing.T) {
	tests := []struct {
		name    string
		req     func(*inlinehook.TokenRequest)
		resp    string
		want    string   // the pruned response, as JSON
		dropped []string // messages, in order
	}{
		{name: "valid response untouched",
			resp: ops(idp, `{"op":"add","path":"/claims/a","value":1}`),
			want: ops(idp, `{"op":"add","path":"/claims/a","value":1}`)},
		{name: "bad op dropped, good ones kept",
			resp:    ops(idp, `{"op":"add","path":"/claims/a","value":1}`, `{"op":"replace","path":"/claims/iss","value":"x"}`, `{"op":"add","path":"/claims/b","value":2}`),
			want:    ops(idp, `{"op":"add","path":"/claims/a","value":1}`, `{"op":"add","path":"/claims/b","value":2}`),
			dropped: []string{"Claim is reserved(op=replace, path=/claims/iss)"}},
		{name: "command for a token not minted dropped", req: withoutAccess,
			resp: `{"commands":[{"type":"com.okta.access.patch","value":[{"op":"add","path":"/claims/a","value":1}]},
				{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/a","value":1}]}]}`,
			want:    ops(idp, `{"op":"add","path":"/claims/a","value":1}`),
			dropped: []string{"Access Token not present"}},
		{name: "unknown command type dropped",
			resp:    `{"commands":[{"type":"bogus","value":[]},{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/a","value":1}]}]}`,
			want:    ops(idp, `{"op":"add","path":"/claims/a","value":1}`),
			dropped: []string{"Invalid command type(type=bogus)"}},
		{name: "command left empty dropped",
			resp: `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"move","path":"/claims/a"}]},
				{"type":"com.okta.access.patch","value":[{"op":"add","path":"/claims/a","value":1}]}]}`,
			want:    ops(atp, `{"op":"add","path":"/claims/a","value":1}`),
			dropped: []string{"Invalid operation(op=move, path=/claims/a)"}},
		{name: "empty commands dropped, nothing reported",
			resp: `{"commands":[{"type":"com.okta.identity.patch","value":[]}]}`,
			want: `{}`},
		{name: "everything dropped",
			resp:    ops(idp, `{"op":"remove","path":"/claims/nope"}`),
			want:    `{}`,
			dropped: []string{"Path not found(op=remove, path=/claims/nope)"}},
		// Dependent operations: a dropped add leaves the ops that relied on
		// it invalid; they are dropped too, and reported once.
		{name: "dependent ops dropped with the op they rely on",
			resp: ops(idp,
				`{"op":"add","path":"/claims/groups","value":{"x":[]}}`,
				`{"op":"add","path":"/claims/groups/x/-","value":1}`,
				`{"op":"add","path":"/claims/p","value":{}}`,
				`{"op":"add","path":"/claims/p/x","value":1}`),
			want:    ops(idp, `{"op":"add","path":"/claims/p","value":{}}`, `{"op":"add","path":"/claims/p/x","value":1}`),
			dropped: []string{"Claim is reserved(op=add, path=/claims/groups)", "Claim is reserved(op=add, path=/claims/groups/x/-)"}},
		{name: "an op valid only after a dropped remove stays dropped",
			resp: ops(idp,
				`{"op":"remove","path":"/claims/name","value":"x"}`,
				`{"op":"add","path":"/claims/name/first","value":"J"}`),
			want:    `{}`,
			dropped: []string{"Value must be null for remove operation(op=remove, path=/claims/name)", "Path not found(op=add, path=/claims/name/first)"}},
		{name: "indexes refer to the original response",
			resp: `{"commands":[{"type":"bogus"},{"type":"com.okta.identity.patch","value":[
				{"op":"add","path":"/claims/a","value":1},{"op":"remove","path":"/claims/zz"}]}]}`,
			want:    ops(idp, `{"op":"add","path":"/claims/a","value":1}`),
			dropped: []string{"Invalid command type(type=bogus)", "Path not found(op=remove, path=/claims/zz)"}},
		{name: "error object: left alone",
			resp: `{"error":{"errorSummary":"no"},"commands":[{"type":"bogus"}]}`,
			want: `{"error":{"errorSummary":"no"},"commands":[{"type":"bogus","value":[]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := richRequest(t)
			if tt.req != nil {
				tt.req(req)
			}
			before := mustJSON(t, req)
			resp := mustResponse(t, tt.resp)
			orig := mustResponse(t, tt.resp)
			dropped := inlinehook.Prune(req, resp)
			var got []string
			for _, v := range dropped {
				got = append(got, v.Message)
			}
			if !reflect.DeepEqual(got, tt.dropped) {
				t.Errorf("dropped:\n got %q\nwant %q", got, tt.dropped)
			}
			if out := mustJSON(t, resp); !jsonEqual(t, out, []byte(tt.want)) {
				t.Errorf("pruned response:\n got %s\nwant %s", out, tt.want)
			}
			if vs := inlinehook.Validate(req, resp); vs != nil {
				t.Errorf("pruned response still has violations: %v", vs)
			}
			if string(mustJSON(t, req)) != string(before) {
				t.Error("Prune changed the request")
			}
			// Dropped violations index the original response.
			for _, v := range dropped {
				if v.Command < 0 || v.Command >= len(orig.Commands) || orig.Commands[v.Command].Type != v.Type {
					t.Errorf("violation %+v does not index the original commands", v)
					continue
				}
				if v.Op >= 0 && orig.Commands[v.Command].Value[v.Op].Path != v.Path {
					t.Errorf("violation %+v does not index the original operations", v)
				}
			}
		})
	}
}

// TestPruneDoesNotWriteIntoCallerSlices: the caller's command and operation
// slices are replaced, never overwritten.
func TestPruneDoesNotWriteIntoCallerSlices(t *testing.T) {
	req := richRequest(t)
	shared := []inlinehook.Operation{
		inlinehook.ReplaceClaim("iss", "x"),
		inlinehook.AddClaim("a", 1),
	}
	resp := &inlinehook.Response{Commands: []inlinehook.Command{inlinehook.PatchIdentity(shared...)}}
	cmds := resp.Commands
	inlinehook.Prune(req, resp)
	if shared[0].Path != "/claims/iss" || shared[1].Path != "/claims/a" {
		t.Errorf("operations slice overwritten: %+v", shared)
	}
	if len(cmds[0].Value) != 2 {
		t.Errorf("commands slice overwritten: %+v", cmds)
	}
	if len(resp.Commands) != 1 || len(resp.Commands[0].Value) != 1 {
		t.Errorf("pruned = %+v", resp.Commands)
	}
	if inlinehook.Prune(req, nil) != nil {
		t.Error("Prune(nil) dropped something")
	}
}

func TestRulesPrune(t *testing.T) {
	resp := mustResponse(t, ops(atp, `{"op":"add","path":"/claims/cnf","value":{}}`, `{"op":"add","path":"/claims/amr","value":[]}`))
	dropped := inlinehook.Rules{DPoP: true, ReservedClaims: inlinehook.ReservedUnion}.Prune(richRequest(t), resp)
	if len(dropped) != 2 || !resp.IsEmpty() {
		t.Errorf("dropped %v, left %+v", dropped, resp)
	}
}
