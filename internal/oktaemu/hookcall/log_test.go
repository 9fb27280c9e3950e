package hookcall_test

import (
	"bytes"
	"encoding/json/v2"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenhook/tokenhook/inlinehook/inlinehooktest"
	"github.com/tokenhook/tokenhook/internal/oktaemu/hookcall"
)

func eventN(n int) hookcall.Event {
	return hookcall.Event{UUID: strconv.Itoa(n), EventType: hookcall.EventExecuted}
}

func uuids(events []hookcall.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.UUID)
	}
	return out
}

func TestLogKeepsTheLastEvents(t *testing.T) {
	var buf bytes.Buffer
	log := hookcall.NewLog(&buf, 3)
	if got := log.Events(); len(got) != 0 {
		t.Fatalf("new log has %d events", len(got))
	}
	for i := 1; i <= 2; i++ {
		log.Record(eventN(i))
	}
	if diff := cmp.Diff([]string{"1", "2"}, uuids(log.Events())); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for i := 3; i <= 7; i++ {
		log.Record(eventN(i))
	}
	if diff := cmp.Diff([]string{"5", "6", "7"}, uuids(log.Events())); diff != "" {
		t.Errorf("newest last (-want +got):\n%s", diff)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d lines written, want 7", len(lines))
	}
	var e hookcall.Event
	if err := json.Unmarshal([]byte(lines[6]), &e); err != nil || e.UUID != "7" {
		t.Errorf("last line %q: %v", lines[6], err)
	}
}

func TestLogDefaultsAndNilWriter(t *testing.T) {
	log := hookcall.NewLog(nil, 0)
	for i := range hookcall.DefaultLogCapacity + 5 {
		log.Record(eventN(i))
	}
	got := log.Events()
	if len(got) != hookcall.DefaultLogCapacity || got[0].UUID != "5" {
		t.Errorf("%d events, first %q", len(got), got[0].UUID)
	}
	if log.Err() != nil {
		t.Error(log.Err())
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("disk full")
}

func TestLogWriteError(t *testing.T) {
	w := &failingWriter{}
	log := hookcall.NewLog(w, 2)
	log.Record(eventN(1))
	log.Record(eventN(2))
	if log.Err() == nil || w.n != 1 {
		t.Errorf("err %v, writes %d: want the first error kept and no more writes", log.Err(), w.n)
	}
	if len(log.Events()) != 2 {
		t.Error("events not kept after a write error")
	}
}

// Record is safe for concurrent use: lines never interleave (run with -race).
func TestLogConcurrent(t *testing.T) {
	var buf bytes.Buffer
	log := hookcall.NewLog(&buf, 10)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			log.Record(eventN(i))
			_ = log.Events()
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		var e hookcall.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	if len(log.Events()) != 10 {
		t.Errorf("%d events kept", len(log.Events()))
	}
}

// A Log plugs into a Caller, and its JSON lines are Okta-shaped.
func TestLogWithCaller(t *testing.T) {
	hook := newTestHook(t, answer(200, `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/iss","value":"x"}]}]}`))
	var buf bytes.Buffer
	log := hookcall.NewLog(&buf, 10)
	caller := &hookcall.Caller{
		Hook:   hookcall.Hook{ID: "calhook1", Name: "Patient token hook", URL: hook.URL + "/tokenHook?key=secret-in-query", AllowHTTP: true},
		Record: log.Record,
	}
	req := inlinehooktest.NewRequest(inlinehooktest.AuthorizationCode)
	caller.Call(t.Context(), req)
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"eventType":      "inline_hook.response.processed",
		"version":        "0",
		"severity":       "WARN",
		"displayMessage": "Inline hook response processed",
		"outcome": map[string]any{
			"result": "FAILURE",
			"reason": "Invalid response: every command was discarded, tokens minted unmodified",
		},
		"debugContext": map[string]any{"debugData": map[string]any{
			"inline_hook_type": "com.okta.oauth2.tokens.transform",
			"error_message":    "Claim is reserved(op=add, path=/claims/iss)",
			"eventId":          req.EventID,
			"http_status":      float64(200),
		}},
		"target": []any{map[string]any{
			"id": "calhook1", "type": "InlineHook", "displayName": "Patient token hook",
			"alternateId": hook.URL + "/tokenHook",
		}},
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		s := p.GoString()
		return strings.Contains(s, `["uuid"]`) || strings.Contains(s, `["published"]`) || strings.Contains(s, `["duration_ms"]`)
	}, cmp.Ignore())
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if strings.Contains(buf.String(), "secret-in-query") {
		t.Error("the URL's query reached the log")
	}
}
