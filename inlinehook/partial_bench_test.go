package inlinehook

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPartialDecoderReference is BenchmarkPartialDecoderFixtures
// (bench_test.go) by json/v2 alone, the decode before the fast path: run
// both in one go to compare them.
func BenchmarkPartialDecoderReference(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	files = append(files, filepath.Join("..", "bench", "testdata", "request.json"))
	for _, sel := range []struct {
		name  string
		parts Parts
	}{
		{"default", Parts{User: true, Claims: []string{"preferred_username"}}},
		{"all", Parts{Request: true, Protocol: true, Session: true, User: true, UserLinks: true, Policy: true,
			RefreshToken: true, Scopes: true, Claims: AllClaims}},
	} {
		d := NewPartialDecoder(sel.parts)
		for _, file := range files {
			body, err := os.ReadFile(file)
			if err != nil {
				b.Fatal(err)
			}
			name := filepath.Base(file[:len(file)-len(".json")])
			if name == "request" {
				name = "bench_request"
			}
			b.Run(sel.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					if _, err := d.decodeReference(body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
