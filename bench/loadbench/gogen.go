package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// workerCommand is the hidden first argument that makes loadbench run as the
// Go generator's worker process.
const workerCommand = "gen-worker"

// goGenerator is the built-in closed-loop load generator, used when wrk is
// not installed (or with -gen=go). Like wrk it runs as a separate process
// pinned to the generator CPU: loadbench re-executes itself as a worker, hands
// it the spec on standard input and reads the result from standard output.
// Each of spec.conns goroutines owns one keep-alive connection, sends a
// pre-encoded request, reads the whole response, records its latency and
// sends the next one. Any status other than 200 counts as a status error.
type goGenerator struct {
	cpu      int    // CPU the worker is pinned to
	niceness int    // scheduling priority of the worker
	exe      string // this program, to run as the worker
}

func (goGenerator) name() string { return "go" }

// workerSpec is loadSpec as the worker receives it.
type workerSpec struct {
	URL      string        `json:"url"`
	BodyFile string        `json:"body_file"`
	Headers  [][2]string   `json:"headers"`
	Conns    int           `json:"conns"`
	Duration time.Duration `json:"duration"`
}

// workerResult is loadResult as the worker sends it back.
type workerResult struct {
	Requests     int64         `json:"requests"`
	Elapsed      time.Duration `json:"elapsed"`
	P50          time.Duration `json:"p50"`
	P99          time.Duration `json:"p99"`
	StatusErrors int64         `json:"status_errors"`
	SocketErrors int64         `json:"socket_errors"`
}

func (g goGenerator) run(ctx context.Context, spec loadSpec) (loadResult, error) {
	ws := workerSpec{URL: spec.url, BodyFile: spec.bodyFile, Conns: spec.conns, Duration: spec.duration}
	for _, h := range spec.headers {
		ws.Headers = append(ws.Headers, [2]string{h.name, h.value})
	}
	in, err := json.Marshal(ws)
	if err != nil {
		return loadResult{}, err
	}
	var stdout, stderr bytes.Buffer
	p, err := startPrioritized(ctx, command{
		argv: []string{g.exe, workerCommand},
		env:  []string{"GOMAXPROCS=1"},
	}, g.cpu, g.niceness, bytes.NewReader(in), &stdout, &stderr)
	if err != nil {
		return loadResult{}, err
	}
	if err := p.Wait(); err != nil {
		return loadResult{}, fmt.Errorf("go generator worker: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var wr workerResult
	if err := json.Unmarshal(stdout.Bytes(), &wr); err != nil {
		return loadResult{}, fmt.Errorf("go generator worker output %q: %w", stdout.String(), err)
	}
	return loadResult{
		requests: wr.Requests, elapsed: wr.Elapsed, p50: wr.P50, p99: wr.P99,
		statusErrors: wr.StatusErrors, socketErrors: wr.SocketErrors,
		genCPU: childCPU(p.ProcessState),
	}, nil
}

// runGoWorker is the worker process: it reads a workerSpec from in, applies
// the load and writes a workerResult to out.
func runGoWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	var ws workerSpec
	if err := json.NewDecoder(in).Decode(&ws); err != nil {
		return fmt.Errorf("worker spec: %w", err)
	}
	body, err := os.ReadFile(ws.BodyFile)
	if err != nil {
		return err
	}
	spec := loadSpec{url: ws.URL, bodyFile: ws.BodyFile, body: body, conns: ws.Conns, duration: ws.Duration}
	for _, h := range ws.Headers {
		spec.headers = append(spec.headers, header{h[0], h[1]})
	}
	res, err := goLoad(ctx, spec)
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(workerResult{
		Requests: res.requests, Elapsed: res.elapsed, P50: res.p50, P99: res.p99,
		StatusErrors: res.statusErrors, SocketErrors: res.socketErrors,
	})
}

// connTally is what one connection measured.
type connTally struct {
	samples      []time.Duration
	statusErrors int64
	socketErrors int64
}

// goLoad applies spec's load from this process and measures it.
func goLoad(ctx context.Context, spec loadSpec) (loadResult, error) {
	u, err := url.Parse(spec.url)
	if err != nil {
		return loadResult{}, err
	}
	raw := rawRequest(u, spec)
	deadline := time.Now().Add(spec.duration)
	tallies := make([]connTally, spec.conns)
	var wg sync.WaitGroup
	for i := range tallies {
		wg.Go(func() { tallies[i] = runConnection(ctx, u.Host, raw, deadline) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return loadResult{}, err
	}
	return mergeTallies(tallies, spec.duration), nil
}

// mergeTallies adds up the connections' counts and computes the percentiles
// over all their samples.
func mergeTallies(tallies []connTally, elapsed time.Duration) loadResult {
	res := loadResult{elapsed: elapsed}
	var all []time.Duration
	for _, t := range tallies {
		all = append(all, t.samples...)
		res.statusErrors += t.statusErrors
		res.socketErrors += t.socketErrors
	}
	res.requests = int64(len(all))
	res.p50, res.p99 = latencySummary(all)
	return res
}

// rawRequest encodes spec's request once, as HTTP/1.1 bytes.
func rawRequest(u *url.URL, spec loadSpec) []byte {
	b := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	for _, h := range spec.headers {
		b = fmt.Appendf(b, "%s: %s\r\n", h.name, h.value)
	}
	b = fmt.Appendf(b, "Content-Length: %d\r\n\r\n", len(spec.body))
	return append(b, spec.body...)
}

// runConnection sends requests back to back on one connection until
// deadline, reconnecting after an error or a "Connection: close". Responses
// that complete after the deadline are not counted.
func runConnection(ctx context.Context, addr string, raw []byte, deadline time.Time) connTally {
	var t connTally
	t.samples = make([]time.Duration, 0, 4096)
	var c *clientConn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if c == nil {
			var err error
			if c, err = dialConn(ctx, addr, deadline); err != nil {
				t.socketErrors++
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		began := time.Now()
		status, keepAlive, err := c.roundTrip(raw)
		took := time.Since(began)
		if !began.Add(took).Before(deadline) {
			break
		}
		switch {
		case err != nil:
			t.socketErrors++
		case status != http.StatusOK:
			t.statusErrors++
			t.samples = append(t.samples, took)
		default:
			t.samples = append(t.samples, took)
		}
		if err != nil || !keepAlive {
			c.close()
			c = nil
		}
	}
	return t
}

// clientConn is one keep-alive HTTP/1.1 connection of the Go generator.
type clientConn struct {
	conn net.Conn
	r    *bufio.Reader
	stop func() bool // unregisters the context watcher
}

// dialConn connects to addr. The connection is closed when ctx ends, and its
// I/O fails a few seconds after deadline so that no connection can hang.
func dialConn(ctx context.Context, addr string, deadline time.Time) (*clientConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(deadline.Add(5 * time.Second)); err != nil {
		conn.Close()
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return &clientConn{conn: conn, r: bufio.NewReaderSize(conn, 16<<10), stop: stop}, nil
}

// roundTrip writes one request and reads its whole response.
func (c *clientConn) roundTrip(raw []byte) (status int, keepAlive bool, err error) {
	if _, err := c.conn.Write(raw); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, false, err
	}
	return resp.StatusCode, !resp.Close, nil
}

func (c *clientConn) close() {
	c.stop()
	c.conn.Close()
}
