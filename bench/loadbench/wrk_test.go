package main

import (
	"strings"
	"testing"
	"time"
)

// wrkOutput is wrk 4.1.0's standard output for a run with wrkScript, as
// captured on the benchmark machine.
const wrkOutput = `Running 1s test @ http://127.0.0.1:18099/hooks/okta/token
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   456.88us  276.00us   3.38ms   69.56%
    Req/Sec    35.84k     2.67k   37.75k    81.82%
  Latency Distribution
     50%  447.00us
     75%  636.00us
     90%  771.00us
     99%    1.19ms
  39101 requests in 1.10s, 8.32MB read
Requests/sec:  35530.63
Transfer/sec:      7.56MB
LOADBENCH {"requests":39101,"duration_us":1100487,"connect":0,"read":0,"write":0,"status":0,"timeout":0,"p50_us":447,"p99_us":1188}
`

// wrkOutputWithErrors is a run against a target that refused the
// credentials and dropped some connections.
const wrkOutputWithErrors = `Running 2s test @ http://127.0.0.1:40001/hooks/okta/token
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms  402.11us  12.01ms   88.10%
    Req/Sec    41.20k     1.02k   43.00k    75.00%
  Latency Distribution
     50%    1.48ms
     75%    1.71ms
     90%    1.93ms
     99%    2.80ms
  82391 requests in 2.00s, 10.61MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 82391
Requests/sec:  41195.50
Transfer/sec:      5.30MB
LOADBENCH {"requests":82391,"duration_us":2000012,"connect":0,"read":3,"write":1,"status":82391,"timeout":2,"p50_us":1480,"p99_us":2800}
`

func TestParseWrkOutput(t *testing.T) {
	got, err := parseWrkOutput(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := loadResult{
		requests: 39101,
		elapsed:  1100487 * time.Microsecond,
		p50:      447 * time.Microsecond,
		p99:      1188 * time.Microsecond,
	}
	if got != want {
		t.Errorf("parseWrkOutput = %+v, want %+v", got, want)
	}
	if rps := got.rps(); rps < 35530 || rps > 35531 {
		t.Errorf("rps = %.2f, want wrk's own 35530.63", rps)
	}
}

func TestParseWrkOutputCountsErrors(t *testing.T) {
	got, err := parseWrkOutput(wrkOutputWithErrors)
	if err != nil {
		t.Fatal(err)
	}
	if got.statusErrors != 82391 || got.socketErrors != 6 || got.errors() != 82397 {
		t.Errorf("errors: status %d socket %d total %d, want 82391, 6, 82397",
			got.statusErrors, got.socketErrors, got.errors())
	}
}

func TestParseWrkOutputRejects(t *testing.T) {
	tests := map[string]string{
		"no summary line": strings.Split(wrkOutput, "LOADBENCH")[0],
		"bad json":        "LOADBENCH {requests:1}\n",
		"zero duration":   `LOADBENCH {"requests":1,"duration_us":0}` + "\n",
		"disagreement":    strings.Replace(wrkOutput, "39101 requests in", "39000 requests in", 1),
	}
	for name, out := range tests {
		if _, err := parseWrkOutput(out); err == nil {
			t.Errorf("%s: parseWrkOutput succeeded, want an error", name)
		}
	}
}

func TestWrkScript(t *testing.T) {
	spec := loadSpec{
		bodyFile: `/tmp/a "quoted"\dir/request.json`,
		headers:  []header{{"Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ="}},
	}
	script := wrkScript(spec)
	for _, want := range []string{
		`wrk.method = "POST"`,
		`wrk.headers["Authorization"] = "Basic YWRtaW46c3VwZXJzZWNyZXQ="`,
		`io.open("/tmp/a \"quoted\"\\dir/request.json", "rb")`,
		"function done(summary, latency, requests)",
		wrkMarker,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	for _, slow := range []string{"function request(", "function response("} {
		if strings.Contains(script, slow) {
			t.Errorf("script defines %q, which slows wrk down", slow)
		}
	}
}

func TestLuaStringEscapes(t *testing.T) {
	if got, want := luaString("a\nb\xffc"), `"a\010b\255c"`; got != want {
		t.Errorf("luaString = %s, want %s", got, want)
	}
}
