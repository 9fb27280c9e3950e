// Command fixed is the load benchmark's baseline peer: the cheapest Go
// net/http handler that still answers like a token inline hook.
//
// It replies 200 with the same JSON bytes the tokenhook server answers for the
// benchmark request, without reading, parsing or authenticating the request
// body. Its requests/s and latency are the ceiling that bench/loadbench
// compares the real hook against: whatever the hook spends beyond this is the
// cost of its own work (auth, decoding, lookup, encoding, logging, metrics).
//
// Usage:
//
//	fixed -listen 127.0.0.1:8081
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

// reply is the hook's answer for the benchmark user jessie.smith@example.com.
const reply = `{"commands":[{"type":"com.okta.identity.patch","value":[{"op":"add","path":"/claims/patientId","value":"1235"}]}]}`

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	if err := run(*listen); err != nil {
		fmt.Fprintln(os.Stderr, "fixed:", err)
		os.Exit(1)
	}
}

func run(listen string) error {
	srv := &http.Server{
		Addr:              listen,
		Handler:           fixedHandler([]byte(reply)),
		ReadHeaderTimeout: 5 * time.Second,
	}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fixedHandler answers every request with body, never touching the request.
func fixedHandler(body []byte) http.Handler {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}
