package inlinehook_test

import (
	"bytes"
	"encoding/json/v2"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tokenhook/tokenhook/inlinehook"
)

// FuzzDecodeTokenRequest: decoding never panics, and whatever decodes
// encodes to JSON that decodes and encodes to the same bytes again.
func FuzzDecodeTokenRequest(f *testing.F) {
	for _, name := range requestFixtures {
		f.Add(mustReadFile(f, "requests", name+".json"))
	}
	for _, s := range []string{``, `null`, `{}`, `[]`, `{"data":null}`, `{"data":{"identity":{"claims":{"a":[1,{"b":null}]}}}}`,
		`{"data":{"context":{"session":{"mfaActive":null,"amr":[]}}}}`, `{"x":{"y":[1e3,-0.0]},"data":{"access":{"scopes":{}}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := inlinehook.DecodeTokenRequest(in)
		if err != nil {
			return
		}
		enc1, err := json.Marshal(req, json.Deterministic(true))
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		req2, err := inlinehook.DecodeTokenRequest(enc1)
		if err != nil {
			t.Fatalf("decode of our own encoding %s: %v", enc1, err)
		}
		enc2, err := json.Marshal(req2, json.Deterministic(true))
		if err != nil {
			t.Fatalf("encode 2: %v", err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("encode→decode→encode is not stable:\n%s\n%s", enc1, enc2)
		}
		// The accessors never panic.
		_, _, _ = req.Login(), req.GrantType(), req.ClientID()
	})
}

// FuzzValidateApply runs random responses against the request fixtures:
// nothing panics, a response Validate accepts is one Apply applies, Prune
// always leaves a response Validate accepts, and none of them changes the
// request.
func FuzzValidateApply(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "responses", "*.json"))
	for i, file := range files {
		f.Add(uint8(i), mustReadFile(f, "responses", filepath.Base(file)))
	}
	for i, tt := range validateCases {
		f.Add(uint8(i), []byte(tt.resp))
	}
	fx := newFuzzFixtures(f)

	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		fx.check(t, which, body)
	})
}

// FuzzValidateApplyOps is FuzzValidateApply with the response built from
// fuzzed operations, so the fuzzer explores paths and values rather than
// JSON syntax.
func FuzzValidateApplyOps(f *testing.F) {
	fx := newFuzzFixtures(f)
	for i, tt := range validateCases {
		resp, err := inlinehook.ParseResponse([]byte(tt.resp))
		if err != nil || len(resp.Commands) == 0 || len(resp.Commands[0].Value) == 0 {
			continue
		}
		op := resp.Commands[0].Value[0]
		f.Add(uint8(i), resp.Commands[0].Type == idp, op.Op, op.Path, mustJSON(f, op.Value), "replace", op.Path+"/0", []byte(`1`))
	}
	f.Fuzz(func(t *testing.T, which uint8, identity bool, op1, path1 string, value1 []byte, op2, path2 string, value2 []byte) {
		typ := atp
		if identity {
			typ = idp
		}
		var ops []inlinehook.Operation
		for _, o := range []struct {
			op, path string
			value    []byte
		}{{op1, path1, value1}, {op2, path2, value2}} {
			var v any
			if json.Unmarshal(o.value, &v) != nil {
				v = string(o.value)
			}
			ops = append(ops, inlinehook.Operation{Op: o.op, Path: o.path, Value: v})
		}
		body, err := inlinehook.EncodeResponse(&inlinehook.Response{Commands: []inlinehook.Command{{Type: typ, Value: ops}}})
		if err != nil {
			return // e.g. invalid UTF-8 in a path
		}
		fx.check(t, which, body)
	})
}

// fuzzFixtures are the requests the Validate/Apply fuzzers run against.
type fuzzFixtures struct {
	reqs      []*inlinehook.TokenRequest
	snapshots [][]byte
	rulesets  []inlinehook.Rules
}

func newFuzzFixtures(tb testing.TB) *fuzzFixtures {
	fx := &fuzzFixtures{rulesets: []inlinehook.Rules{{}, {DPoP: true}, {ReservedClaims: inlinehook.ReservedUnion, DPoP: true}}}
	for _, name := range requestFixtures {
		fx.reqs = append(fx.reqs, mustRequest(tb, name))
	}
	fx.reqs = append(fx.reqs, richRequest(tb))
	for _, r := range fx.reqs {
		fx.snapshots = append(fx.snapshots, mustJSON(tb, r))
	}
	return fx
}

// check asserts the properties of FuzzValidateApply for one body.
func (fx *fuzzFixtures) check(t *testing.T, which uint8, body []byte) {
	i := int(which) % len(fx.reqs)
	req := fx.reqs[i]
	rules := fx.rulesets[int(which)/len(fx.reqs)%len(fx.rulesets)]
	snapshot := fx.snapshots[i]
	resp, err := inlinehook.ParseResponse(body)
	if err != nil {
		var de *inlinehook.DeserializeError
		var v *inlinehook.Violation
		if !errors.As(err, &de) && !errors.As(err, &v) {
			t.Fatalf("ParseResponse error of unexpected type %T: %v", err, err)
		}
		return
	}
	vs := rules.Validate(req, resp)
	if again := rules.Validate(req, resp); !reflect.DeepEqual(vs, again) {
		t.Fatalf("Validate is not deterministic:\n%v\n%v", vs, again)
	}
	_, err = rules.Apply(req, resp)
	var denied *inlinehook.DeniedError
	var invalid *inlinehook.ValidationError
	switch {
	case resp.Error != nil:
		if !errors.As(err, &denied) || vs != nil {
			t.Fatalf("error object: Apply err = %v, violations %v", err, vs)
		}
	case len(vs) == 0:
		if err != nil {
			t.Fatalf("Validate accepts, Apply fails: %v", err)
		}
	default:
		if !errors.As(err, &invalid) || !reflect.DeepEqual(invalid.Violations, vs) {
			t.Fatalf("Validate rejects (%v), Apply err = %v", vs, err)
		}
	}

	pruned, err := inlinehook.ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	dropped := rules.Prune(req, pruned)
	if left := rules.Validate(req, pruned); left != nil {
		t.Fatalf("Prune left violations: %v", left)
	}
	if resp.Error == nil {
		if len(dropped) != len(vs) {
			t.Fatalf("Prune dropped %d, Validate found %d", len(dropped), len(vs))
		}
		if _, err := rules.Apply(req, pruned); err != nil {
			t.Fatalf("Apply of the pruned response: %v", err)
		}
	}
	if !bytes.Equal(mustJSON(t, req), snapshot) {
		t.Fatalf("the request was changed")
	}
}
