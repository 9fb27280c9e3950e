package cli

import (
	"net"
	"testing"
)

func TestBaseURLMismatch(t *testing.T) {
	tests := []struct {
		baseURL, listen string
		mismatch        bool
	}{
		{"http://localhost:8080", "127.0.0.1:8080", false},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", false},
		{"http://[::1]:8080", "127.0.0.1:8080", false},
		{"http://app.example:8080", "0.0.0.0:8080", false},
		{"http://app.example", "0.0.0.0:80", false},
		{"https://app.example", "0.0.0.0:443", false},
		{"http://localhost:8080", "127.0.0.1:9090", true},
		{"http://app.example:8080", "127.0.0.1:8080", true},
		{"http://192.0.2.1:8080", "127.0.0.1:8080", true},
		{"https://app.example", "0.0.0.0:8080", true},
	}
	for _, tt := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tt.listen)
		if err != nil {
			t.Fatal(err)
		}
		if got := baseURLMismatch(tt.baseURL, addr) != ""; got != tt.mismatch {
			t.Errorf("baseURLMismatch(%q, %s) = %v, want %v", tt.baseURL, tt.listen, got, tt.mismatch)
		}
	}
}
