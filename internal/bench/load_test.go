package bench

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// Drive reports the CPU its own process spent per request: here a handler in the same process
// that spins until the process's CPU clock has moved by a tick (10 ms) on each request, so
// twenty requests cost at least 200 ms of it.
func TestDriveReportsTheClientsCPU(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for start := processCPU(os.Getpid()); processCPU(os.Getpid()) == start; {
		}
	}))
	defer srv.Close()
	r := Drive(Load{Name: "spinning handler", Clients: 1, Count: 20}, func(int64) string { return srv.URL })
	if r.Requests != 20 || r.Errors != 0 {
		t.Fatalf("%d requests, %d errors, want 20 and 0", r.Requests, r.Errors)
	}
	if r.ClientCPUPerReq < 9.99 { // 20 ticks of 10 ms over 20 requests, less float rounding
		t.Fatalf("client CPU %.3f ms a request, want at least one 10 ms tick each", r.ClientCPUPerReq)
	}
	if r.CPUPerReq != 0 || r.PGCPUPerReq != 0 {
		t.Fatalf("no process or database was named, yet CPU %.3f and %.3f ms", r.CPUPerReq, r.PGCPUPerReq)
	}
}
