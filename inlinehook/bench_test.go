package inlinehook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

func BenchmarkDecodeTokenRequest(b *testing.B) {
	for _, name := range []string{"authorization_code", "client_credentials", "unknown_members"} {
		b.Run(name, func(b *testing.B) {
			body := mustReadFile(b, "requests", name+".json")
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := inlinehook.DecodeTokenRequest(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchResponses are typical answers: the guide's one claim, a few ops on
// both tokens, nested work that copies along paths.
var benchResponses = []struct{ name, body string }{
	{"guide", ops(idp, `{"op":"add","path":"/claims/extPatientId","value":"1235"}`)},
	{"both_tokens", `{"commands":[
		{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/extPatientId","value":"1235"},{"op":"replace","path":"/token/lifetime/expiration","value":900}]},
		{"type":"com.okta.access.patch","value":[{"op":"add","path":"/claims/patient","value":{"id":"1235","clinics":["north","east"]}},{"op":"replace","path":"/claims/sub","value":"p-1235"}]}]}`},
	{"nested", ops(idp,
		`{"op":"add","path":"/claims/employee_profile/department_id","value":"4947"}`,
		`{"op":"add","path":"/claims/preferred_airports/-","value":"lax"}`,
		`{"op":"replace","path":"/claims/matrix/1/k","value":[1,2,3]}`,
		`{"op":"remove","path":"/claims/preferred_airports/0"}`)},
	{"invalid", ops(idp, `{"op":"replace","path":"/claims/iss","value":"x"}`, `{"op":"remove","path":"/claims/zz"}`)},
}

func BenchmarkValidate(b *testing.B) {
	req := richRequest(b)
	for _, br := range benchResponses {
		b.Run(br.name, func(b *testing.B) {
			resp := mustResponse(b, br.body)
			b.ReportAllocs()
			for b.Loop() {
				inlinehook.Validate(req, resp)
			}
		})
	}
}

func BenchmarkPrune(b *testing.B) {
	req := richRequest(b)
	for _, br := range benchResponses {
		b.Run(br.name, func(b *testing.B) {
			orig := mustResponse(b, br.body)
			b.ReportAllocs()
			for b.Loop() {
				resp := *orig
				inlinehook.Prune(req, &resp)
			}
		})
	}
}

func BenchmarkApply(b *testing.B) {
	req := richRequest(b)
	for _, br := range benchResponses[:3] {
		b.Run(br.name, func(b *testing.B) {
			resp := mustResponse(b, br.body)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := inlinehook.Apply(req, resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	for _, br := range benchResponses[:3] {
		b.Run(br.name, func(b *testing.B) {
			resp := mustResponse(b, br.body)
			out, _ := inlinehook.EncodeResponse(resp)
			b.ReportAllocs()
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				if _, err := inlinehook.EncodeResponse(resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHandlerFunc is the whole hot path without sockets: HTTP checks,
// decode, a lookup, Prune, encode.
func BenchmarkHandlerFunc(b *testing.B) {
	body := string(mustReadFile(b, "requests", "authorization_code.json"))
	patients := map[string]string{"jessie.smith@example.com": "1235"}
	h := inlinehook.HandlerFunc(func(_ context.Context, req *inlinehook.TokenRequest) (*inlinehook.Response, error) {
		resp := &inlinehook.Response{Commands: []inlinehook.Command{
			inlinehook.PatchIdentity(inlinehook.AddClaim("extPatientId", patients[req.Login()])),
		}}
		inlinehook.Prune(req, resp)
		return resp, nil
	})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/tokenHook", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// benchRequest is a request body the decode benchmarks read.
type benchRequest struct {
	name string
	body []byte
}

// benchRequests are this package's request fixtures and the load
// benchmark's 4.4 KB request.
func benchRequests(b *testing.B) []benchRequest {
	var out []benchRequest
	for _, name := range requestFixtures {
		out = append(out, benchRequest{name, mustReadFile(b, "requests", name+".json")})
	}
	body, err := os.ReadFile(filepath.Join("..", "bench", "testdata", "request.json"))
	if err != nil {
		b.Fatal(err)
	}
	return append(out, benchRequest{"bench_request", body})
}

// BenchmarkPartialDecoderFixtures is BenchmarkPartialDecoder over every
// fixture: the default mapping's parts (user, preferred_username), and
// every part; and both under the configuration's default limits, which
// must cost nothing.
func BenchmarkPartialDecoderFixtures(b *testing.B) {
	defaultLimits := inlinehook.Limits{MaxDepth: 32, MaxStringBytes: 64 << 10}
	for _, sel := range []struct {
		name   string
		parts  inlinehook.Parts
		limits inlinehook.Limits
	}{
		{"default", inlinehook.Parts{User: true, Claims: []string{"preferred_username"}}, inlinehook.Limits{}},
		{"all", inlinehook.Parts{Request: true, Protocol: true, Session: true, User: true, UserLinks: true, Policy: true,
			RefreshToken: true, Scopes: true, Claims: inlinehook.AllClaims}, inlinehook.Limits{}},
		{"default_limits", inlinehook.Parts{User: true, Claims: []string{"preferred_username"}}, defaultLimits},
		{"all_limits", inlinehook.Parts{Request: true, Protocol: true, Session: true, User: true, UserLinks: true, Policy: true,
			RefreshToken: true, Scopes: true, Claims: inlinehook.AllClaims}, defaultLimits},
	} {
		d := inlinehook.NewPartialDecoder(sel.parts)
		if sel.limits != (inlinehook.Limits{}) {
			d = d.WithLimits(sel.limits)
		}
		for _, req := range benchRequests(b) {
			b.Run(sel.name+"/"+req.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(req.body)))
				for b.Loop() {
					if _, err := d.Decode(req.body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
