package proxy

import (
	"bufio"
	"net"
	"net/http"
	"time"
)

// DefaultWriteTimeout is the default of SHADOWPROXY_WRITE_TIMEOUT: the time each write of an
// answer to a client has to complete.
const DefaultWriteTimeout = 30 * time.Second

// boundWrites gives every write of an answer to the client (its header, each body write, each
// flush) at least half of timeout to complete, and at most timeout: a client that stops reading
// an answer larger than the sockets buffer holds its request's goroutines, buffers and Django
// connection for no longer. The deadline moves with the writes, never bounding the whole
// request, so that neither Django's thinking time nor a long streamed answer counts against
// it: before a write (and when the handler returns, for what net/http writes then: the buffer's
// rest, a chunked answer's end) it is set timeout ahead once half of it has passed. The
// server's own WriteTimeout (Server) sets it as each request is read, so a request answered
// within half of timeout, nearly all of them, moves no deadline itself.
func boundWrites(h http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := &boundedWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout, armed: time.Now()}
		h.ServeHTTP(bw, r)
		bw.arm()
	})
}

// boundedWriter moves the connection's write deadline ahead of its writes.
type boundedWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	armed   time.Time // when the deadline was last set timeout ahead (by the server, at first)
}

func (w *boundedWriter) arm() {
	if now := time.Now(); now.Sub(w.armed) >= w.timeout/2 {
		w.armed = now
		_ = w.rc.SetWriteDeadline(now.Add(w.timeout))
	}
}

// WriteHeader arms the deadline, then writes the header.
func (w *boundedWriter) WriteHeader(code int) {
	w.arm()
	w.ResponseWriter.WriteHeader(code)
}

// Write arms the deadline, then writes b.
func (w *boundedWriter) Write(b []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(b)
}

// FlushError arms the deadline, then flushes.
func (w *boundedWriter) FlushError() error {
	w.arm()
	return w.rc.Flush()
}

// Flush is FlushError for http.Flusher.
func (w *boundedWriter) Flush() { _ = w.FlushError() }

// Hijack clears the deadline (the connection is the caller's now: an upgraded stream has no
// answer to bound), then hijacks.
func (w *boundedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	_ = w.rc.SetWriteDeadline(time.Time{})
	return w.rc.Hijack()
}

// Unwrap is the wrapped writer, for http.ResponseController.
func (w *boundedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
