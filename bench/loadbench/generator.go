package main

import (
	"context"
	"time"
)

// loadSpec is one load run: which URL to hit, with what, how hard and how long.
type loadSpec struct {
	url      string        // e.g. http://127.0.0.1:40123/hooks/okta/token
	bodyFile string        // path of the request body (sent as is)
	body     []byte        // the same body, in memory
	headers  []header      // request headers besides Host and Content-Length
	conns    int           // concurrent keep-alive connections
	duration time.Duration // length of the run
}

// header is one HTTP request header.
type header struct{ name, value string }

// generator produces load against a target and measures it. Both
// implementations are closed-loop: each connection sends its next request as
// soon as the previous response has arrived.
type generator interface {
	// name identifies the generator in reports ("wrk", "go").
	name() string
	// run applies spec's load and returns what it measured. Failed requests
	// are counted in the result; an error means the run itself failed.
	run(ctx context.Context, spec loadSpec) (loadResult, error)
}
