package inlinehook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// The patient hook of Okta's token inline hook guide: add the patient id to
// the ID token of known users.
func ExamplePatchIdentity() {
	resp := &inlinehook.Response{Commands: []inlinehook.Command{
		inlinehook.PatchIdentity(
			inlinehook.AddClaim("extPatientId", "1235"),
			inlinehook.SetLifetime(900),
		),
	}}
	b, _ := inlinehook.EncodeResponse(resp)
	fmt.Println(string(b))
	// Output:
	// {"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"},{"op":"replace","path":"/token/lifetime/expiration","value":900}]}]}
}

func ExampleClaimPath() {
	fmt.Println(inlinehook.ClaimPath("https://example.com/patient"))
	fmt.Println(inlinehook.ClaimPath("preferred_airports", "-"))
	// Output:
	// /claims/https:~1~1example.com~1patient
	// /claims/preferred_airports/-
}

func ExampleValidate() {
	body, _ := os.ReadFile("testdata/requests/client_credentials.json")
	req, _ := inlinehook.DecodeTokenRequest(body)

	resp := &inlinehook.Response{Commands: []inlinehook.Command{
		inlinehook.PatchIdentity(inlinehook.AddClaim("extPatientId", "1235")),
		inlinehook.PatchAccess(
			inlinehook.ReplaceClaim("sub", "patient-sync"), // writable in access tokens
			inlinehook.ReplaceClaim("scp", []string{"admin"}),
			inlinehook.RemoveClaim("department"),
			inlinehook.SetLifetime(60),
		),
	}}
	for _, v := range inlinehook.Validate(req, resp) {
		fmt.Println(v)
	}
	// Output:
	// ID Token not present
	// Claim is reserved(op=replace, path=/claims/scp)
	// Path not found(op=remove, path=/claims/department)
	// Lifetime must be between 300 and 86400 seconds(op=replace, path=/token/lifetime/expiration)
}

func ExamplePrune() {
	body, _ := os.ReadFile("testdata/requests/authorization_code.json")
	req, _ := inlinehook.DecodeTokenRequest(body)

	resp := &inlinehook.Response{Commands: []inlinehook.Command{
		inlinehook.PatchIdentity(
			inlinehook.AddClaim("extPatientId", "1235"),
			inlinehook.ReplaceClaim("iss", "https://evil.example"),
		),
	}}
	// Okta would discard the whole response; the guard keeps what is valid.
	for _, v := range inlinehook.Prune(req, resp) {
		fmt.Println("dropped:", v)
	}
	b, _ := inlinehook.EncodeResponse(resp)
	fmt.Println(string(b))
	// Output:
	// dropped: Claim is reserved(op=replace, path=/claims/iss)
	// {"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"}]}]}
}

func ExampleApply() {
	body, _ := os.ReadFile("testdata/requests/implicit.json")
	req, _ := inlinehook.DecodeTokenRequest(body)

	resp, _ := inlinehook.ParseResponse([]byte(`{"commands":[{"type":"com.okta.identity.patch","value":[
		{"op":"add","path":"/claims/patient","value":{"id":"1235","clinics":["north"]}},
		{"op":"add","path":"/claims/patient/clinics/-","value":"east"},
		{"op":"remove","path":"/claims/email"}]}]}`))
	res, err := inlinehook.Apply(req, resp)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Identity.Claims["patient"], res.Identity.Claims["email"], res.Identity.Lifetime)

	_, err = inlinehook.Apply(req, inlinehook.Deny(""))
	var denied *inlinehook.DeniedError
	if errors.As(err, &denied) {
		fmt.Println("server_error:", denied.Summary)
	}
	// Output:
	// map[clinics:[north east] id:1235] <nil> 3600
	// server_error: The callback service returned an error
}

func ExampleParseResponse() {
	_, err := inlinehook.ParseResponse([]byte("{\n  \"commands\": [,]\n}"))
	fmt.Println(err)
	// Output:
	// Could not deserialize inline hook response due to error at Line 2 Column 16
}

func ExampleHandlerFunc() {
	patients := map[string]string{"jessie.smith@example.com": "1235", "kim.sato@example.com": "6789"}
	hook := inlinehook.HandlerFunc(func(ctx context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		id, ok := patients[req.Login()]
		if !ok || req.Data.Identity == nil {
			return nil, nil // 204: mint the tokens unchanged
		}
		resp := &inlinehook.Response{Commands: []inlinehook.Command{
			inlinehook.PatchIdentity(inlinehook.AddClaim("extPatientId", id)),
		}}
		inlinehook.Prune(req, resp) // never send what Okta would reject
		return resp, nil
	})
	// In a server: http.Handle("POST /tokenHook", hook)

	body, _ := os.ReadFile("testdata/requests/authorization_code.json")
	r := httptest.NewRequest(http.MethodPost, "/tokenHook", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	hook.ServeHTTP(w, r)
	out, _ := io.ReadAll(w.Result().Body)
	fmt.Println(w.Code, string(out))
	// Output:
	// 200 {"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"}]}]}
}
