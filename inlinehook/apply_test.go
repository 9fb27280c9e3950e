package inlinehook_test

import (
	"encoding/json/v2"
	"errors"
	"reflect"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// decodeJSON decodes a JSON text into any.
func decodeJSON(tb testing.TB, s string) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestApply pins the semantics of each op (contract §3.3) on the rich
// request's ID token. want maps claim names to their JSON after Apply; a
// "null" entry means the claim is gone.
func TestApply(t *testing.T) {
	tests := []struct {
		name     string
		ops      []string
		want     map[string]string
		lifetime int // the ID token's, 0: unchanged (3600)
	}{
		{"add new claim", []string{`{"op":"add","path":"/claims/extPatientId","value":"1235"}`},
			map[string]string{"extPatientId": `"1235"`}, 0},
		{"add overwrites existing claim", []string{`{"op":"add","path":"/claims/name","value":"J"}`},
			map[string]string{"name": `"J"`}, 0},
		{"replace claim", []string{`{"op":"replace","path":"/claims/email","value":"j@x"}`},
			map[string]string{"email": `"j@x"`}, 0},
		{"replace with another type", []string{`{"op":"replace","path":"/claims/email","value":{"home":"j@x"}}`},
			map[string]string{"email": `{"home":"j@x"}`}, 0},
		{"remove claim", []string{`{"op":"remove","path":"/claims/email"}`},
			map[string]string{"email": `null`}, 0},
		{"add object member (doc sample)", []string{`{"op":"add","path":"/claims/employee_profile/department_id","value":"4947"}`},
			map[string]string{"employee_profile": `{"employee_id":"1234","name":"Anna","email":"anna.v@company.com","department_id":"4947"}`}, 0},
		{"add overwrites object member", []string{`{"op":"add","path":"/claims/employee_profile/name","value":"Anne"}`},
			map[string]string{"employee_profile": `{"employee_id":"1234","name":"Anne","email":"anna.v@company.com"}`}, 0},
		{"replace object member (doc sample)", []string{`{"op":"replace","path":"/claims/employee_profile/email","value":"anna@company.com"}`},
			map[string]string{"employee_profile": `{"employee_id":"1234","name":"Anna","email":"anna@company.com"}`}, 0},
		{"remove object member (doc sample)", []string{`{"op":"remove","path":"/claims/employee_profile/email"}`},
			map[string]string{"employee_profile": `{"employee_id":"1234","name":"Anna"}`}, 0},
		{"add at len appends (doc sample)", []string{`{"op":"add","path":"/claims/preferred_airports/3","value":"lax"}`},
			map[string]string{"preferred_airports": `["sjc","sfo","oak","lax"]`}, 0},
		{"add - appends (doc sample)", []string{`{"op":"add","path":"/claims/preferred_airports/-","value":"lax"}`},
			map[string]string{"preferred_airports": `["sjc","sfo","oak","lax"]`}, 0},
		{"add inserts at index", []string{`{"op":"add","path":"/claims/preferred_airports/0","value":"lax"}`},
			map[string]string{"preferred_airports": `["lax","sjc","sfo","oak"]`}, 0},
		{"replace element", []string{`{"op":"replace","path":"/claims/preferred_airports/1","value":"lax"}`},
			map[string]string{"preferred_airports": `["sjc","lax","oak"]`}, 0},
		{"remove element (doc sample)", []string{`{"op":"remove","path":"/claims/preferred_airports/1"}`},
			map[string]string{"preferred_airports": `["sjc","oak"]`}, 0},
		{"deep patch", []string{`{"op":"add","path":"/claims/matrix/1/k/0","value":"v"}`, `{"op":"replace","path":"/claims/matrix/0/1","value":5}`},
			map[string]string{"matrix": `[[1,5],{"k":["v"]}]`}, 0},
		{"escaped names", []string{`{"op":"replace","path":"/claims/a~1b","value":"x"}`, `{"op":"remove","path":"/claims/m~0n"}`, `{"op":"add","path":"/claims/https:~1~1x.example~1c","value":1}`},
			map[string]string{"a/b": `"x"`, "m~n": `null`, "https://x.example/c": `1`}, 0},
		{"ops in order", []string{
			`{"op":"add","path":"/claims/p","value":{"ids":["a","c"]}}`,
			`{"op":"add","path":"/claims/p/ids/1","value":"b"}`,
			`{"op":"remove","path":"/claims/p/ids/0"}`,
			`{"op":"add","path":"/claims/p/n","value":2}`,
			`{"op":"replace","path":"/claims/p/n","value":3}`},
			map[string]string{"p": `{"ids":["b","c"],"n":3}`}, 0},
		{"add the same object twice, patch one", []string{
			`{"op":"add","path":"/claims/p","value":{"ids":[]}}`,
			`{"op":"add","path":"/claims/q","value":{"ids":[]}}`,
			`{"op":"add","path":"/claims/p/ids/-","value":1}`},
			map[string]string{"p": `{"ids":[1]}`, "q": `{"ids":[]}`}, 0},
		{"lifetime", []string{`{"op":"replace","path":"/token/lifetime/expiration","value":900}`},
			map[string]string{}, 900},
		{"last lifetime wins", []string{`{"op":"replace","path":"/token/lifetime/expiration","value":900}`, `{"op":"replace","path":"/token/lifetime/expiration","value":1200}`},
			map[string]string{}, 1200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := richRequest(t)
			before := mustJSON(t, req)
			resp := mustResponse(t, ops(idp, tt.ops...))
			respBefore := mustJSON(t, resp)
			res, err := inlinehook.Apply(req, resp)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{}
			for k, v := range req.Data.Identity.Claims {
				want[k] = decodeJSON(t, string(mustJSON(t, v)))
			}
			for k, v := range tt.want {
				if v == "null" {
					delete(want, k)
				} else {
					want[k] = decodeJSON(t, v)
				}
			}
			if got := map[string]any(res.Identity.Claims); !reflect.DeepEqual(got, want) {
				t.Errorf("claims:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, want))
			}
			wantLifetime := 3600
			if tt.lifetime != 0 {
				wantLifetime = tt.lifetime
			}
			if res.Identity.Lifetime != wantLifetime {
				t.Errorf("lifetime = %d, want %d", res.Identity.Lifetime, wantLifetime)
			}
			if !reflect.DeepEqual(res.Access.Claims, req.Data.Access.Claims) || res.Access.Lifetime != 3600 {
				t.Errorf("the access token changed")
			}
			if string(mustJSON(t, req)) != string(before) {
				t.Errorf("Apply changed the request")
			}
			if string(mustJSON(t, resp)) != string(respBefore) {
				t.Errorf("Apply changed the response")
			}
		})
	}
}

// TestApplySharesNothing: changing the result changes neither the request
// nor the response (Apply works on deep copies).
func TestApplySharesNothing(t *testing.T) {
	req := richRequest(t)
	before := mustJSON(t, req)
	resp := mustResponse(t, ops(idp, `{"op":"add","path":"/claims/p","value":{"ids":["a"]}}`))
	respBefore := mustJSON(t, resp)
	res, err := inlinehook.Apply(req, resp)
	if err != nil {
		t.Fatal(err)
	}
	res.Identity.Claims["employee_profile"].(map[string]any)["name"] = "changed"
	res.Identity.Claims["preferred_airports"].([]any)[0] = "changed"
	res.Identity.Claims["matrix"].([]any)[0].([]any)[0] = "changed"
	res.Identity.Claims["p"].(map[string]any)["ids"].([]any)[0] = "changed"
	res.Access.Claims["clinics"].([]any)[0] = "changed"
	if string(mustJSON(t, req)) != string(before) {
		t.Error("the result shares values with the request")
	}
	if string(mustJSON(t, resp)) != string(respBefore) {
		t.Error("the result shares values with the response")
	}
}

func TestApplyOutcomes(t *testing.T) {
	t.Run("nil response: tokens unmodified", func(t *testing.T) {
		req := mustRequest(t, "client_credentials")
		res, err := inlinehook.Apply(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Identity != nil {
			t.Error("an ID token appeared")
		}
		if !reflect.DeepEqual(res.Access.Claims, req.Data.Access.Claims) || res.Access.Lifetime != 3600 {
			t.Errorf("access = %+v", res.Access)
		}
	})
	t.Run("nil request: nothing minted", func(t *testing.T) {
		res, err := inlinehook.Apply(nil, &inlinehook.Response{})
		if err != nil || res.Identity != nil || res.Access != nil {
			t.Errorf("Apply(nil) = %+v, %v", res, err)
		}
	})
	t.Run("error object: denied with its summary", func(t *testing.T) {
		_, err := inlinehook.Apply(richRequest(t), inlinehook.Deny("Patient record is locked"))
		var d *inlinehook.DeniedError
		if !errors.As(err, &d) || d.Summary != "Patient record is locked" {
			t.Fatalf("err = %v", err)
		}
		if err.Error() != "inlinehook: token denied by the hook: Patient record is locked" {
			t.Errorf("Error() = %q", err.Error())
		}
	})
	t.Run("error object without summary: Okta's default", func(t *testing.T) {
		_, err := inlinehook.Apply(richRequest(t), mustResponse(t, `{"error":{}}`))
		var d *inlinehook.DeniedError
		if !errors.As(err, &d) || d.Summary != inlinehook.DefaultErrorSummary {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("error wins over invalid commands", func(t *testing.T) {
		_, err := inlinehook.Apply(richRequest(t), mustResponse(t, `{"error":{"errorSummary":"x"},"commands":[{"type":"bogus"}]}`))
		var d *inlinehook.DeniedError
		if !errors.As(err, &d) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("one bad op: nothing applied", func(t *testing.T) {
		req := richRequest(t)
		res, err := inlinehook.Apply(req, mustResponse(t, ops(idp,
			`{"op":"add","path":"/claims/good","value":1}`, `{"op":"remove","path":"/claims/missing"}`)))
		var ve *inlinehook.ValidationError
		if res != nil || !errors.As(err, &ve) || len(ve.Violations) != 1 {
			t.Fatalf("Apply = %v, %v", res, err)
		}
		if _, ok := req.Data.Identity.Claims["good"]; ok {
			t.Error("the request was changed")
		}
	})
	t.Run("unencodable claim in the request", func(t *testing.T) {
		req := richRequest(t)
		req.Data.Identity.Claims["bad"] = make(chan int)
		if _, err := inlinehook.Apply(req, nil); err == nil {
			t.Error("no error")
		}
	})
	t.Run("rules apply", func(t *testing.T) {
		resp := mustResponse(t, ops(atp, `{"op":"add","path":"/claims/cnf","value":{"jkt":"x"}}`))
		if _, err := (inlinehook.Rules{}).Apply(richRequest(t), resp); err != nil {
			t.Errorf("no DPoP: %v", err)
		}
		if _, err := (inlinehook.Rules{DPoP: true}).Apply(richRequest(t), resp); err == nil {
			t.Error("DPoP: cnf applied")
		}
	})
}
