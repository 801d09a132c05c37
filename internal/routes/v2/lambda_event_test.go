package v2

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The event's path and query are the request target's text as the client sent it, which the
// ALB passes on: a raw "{" and a raw byte over 0x7f stay raw, escapes stay escapes, and only
// the last value of a repeated query parameter is kept.
func TestEventKeepsThePathAsSent(t *testing.T) {
	got := make(chan LambdaEvent, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- eventFromRequest(r, nil)
	}))
	defer srv.Close()
	for target, want := range map[string]struct{ path, query string }{
		"/v2/stamps/1/score/0x{abc}?a=1&a=%zz": {"/v2/stamps/1/score/0x{abc}", `{"a":"%zz"}`},
		"/v2/stamps/\xd9\xa1/score/0xab":       {"/v2/stamps/\xd9\xa1/score/0xab", `{}`},
		"/v2/stamps/1/score/0x%61b?x=%2F":      {"/v2/stamps/1/score/0x%61b", `{"x":"%2F"}`},
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n"))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%q: %v %v", target, resp, err)
		}
		ev := <-got
		query, _ := json.Marshal(ev.QueryStringParameters)
		if *ev.Path != want.path || string(query) != want.query || ev.Headers["host"] != "api.example" {
			t.Errorf("%q: path %q query %s host %q, want %q %s", target, *ev.Path, query, ev.Headers["host"], want.path, want.query)
		}
	}
}
