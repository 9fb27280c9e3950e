package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"time"
)

// expectedReply is what every target must answer for the benchmark request
// (user jessie.smith@example.com, patient 1235). Targets are compared as
// JSON, so spacing and key order may differ.
const expectedReply = `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/patientId","value":"1235"}]}]}`

// checkReply sends spec's request once and verifies that the target answers
// 200 with expectedReply. Generators only see status codes (wrk not even
// those below 400), so this is what catches a target that is fast because it
// answers 204 or the wrong patch.
func checkReply(ctx context.Context, spec loadSpec) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, spec.url, bytes.NewReader(spec.body))
	if err != nil {
		return err
	}
	for _, h := range spec.headers {
		req.Header.Set(h.name, h.value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	return compareReply(resp.StatusCode, body)
}

// compareReply checks a response's status and body against expectedReply.
func compareReply(status int, body []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("status %d (want 200), body %.200q", status, body)
	}
	var got, want any
	if err := json.Unmarshal(body, &got); err != nil {
		return fmt.Errorf("reply is not JSON: %v: %.200q", err, body)
	}
	if err := json.Unmarshal([]byte(expectedReply), &want); err != nil {
		return err
	}
	// tokenhook's debugContext goes to Okta's System Log, not into the
	// token: the peers send none, and the commands are what must agree.
	if m, ok := got.(map[string]any); ok {
		delete(m, "debugContext")
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("reply %.300s, want %s", body, expectedReply)
	}
	return nil
}
