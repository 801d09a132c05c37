package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"shadowproxy/internal/route"
)

// CaptureRecord is one captured request of a table route with Django's answer: one JSON line. No
// secret is recorded: the API key is reduced to its prefix (the public part Django stores in
// clear), of the request's headers only Origin is kept, and of Django's answer's headers each
// Set-Cookie is reduced to its cookie's name (diff.RedactHeader).
type CaptureRecord struct {
	At    time.Time `json:"at"`
	Route string    `json:"route,omitempty"`
	// Dialect is the dialect the request was parsed, answered and is replayed in (the
	// route's dialect setting when it arrived).
	Dialect   route.Dialect `json:"dialect,omitempty"`
	RequestID string        `json:"request_id"`
	ScorerID  string        `json:"scorer_id"`
	Address   string        `json:"address"`
	// Path is the request's path; its query string is not kept (it can carry an api_key
	// parameter or a token, and replay does not read it).
	Path         string `json:"path"`
	APIKeyPrefix string `json:"api_key_prefix,omitempty"`
	// Origin is the request's Origin header ("" none): Go's answer gets Django's middleware
	// headers for it when it is replayed.
	Origin string `json:"origin,omitempty"`
	// Structlog records that the proxy's LOGGING_STRATEGY (route.Middleware) put
	// django_structlog's RequestMiddleware in Django's MIDDLEWARE: Go's answer gets Vary: Cookie
	// when it is replayed.
	Structlog bool           `json:"structlog,omitempty"`
	Django    CapturedAnswer `json:"django"`
}

// CapturedAnswer is Django's answer to a captured request.
type CapturedAnswer struct {
	Status int `json:"status"`
	// Header is Django's headers as the proxy received them, but the request id and backend
	// marker the proxy sets (statusRecorder.djangoHeader), Set-Cookie values removed.
	Header    http.Header     `json:"header,omitempty"`
	Body      json.RawMessage `json:"body"`
	LatencyMS float64         `json:"latency_ms"`
}

// Capture appends records to a JSONL file until it holds MaxBytes; later records are counted
// as dropped.
type Capture struct {
	mu       sync.Mutex
	f        *os.File
	w        *bufio.Writer
	written  int64
	MaxBytes int64
	Dropped  int64
}

// OpenCapture opens (appends to) a capture file bounded to maxBytes.
func OpenCapture(path string, maxBytes int64) (*Capture, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open capture file: %w", err)
	}
	st, _ := f.Stat()
	return &Capture{f: f, w: bufio.NewWriter(f), written: st.Size(), MaxBytes: maxBytes}, nil
}

// Record writes one record (and flushes it).
func (c *Capture) Record(r CaptureRecord) {
	line, err := json.Marshal(r)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.MaxBytes > 0 && c.written+int64(len(line))+1 > c.MaxBytes {
		c.Dropped++
		return
	}
	c.w.Write(line)
	c.w.WriteByte('\n')
	c.w.Flush()
	c.written += int64(len(line)) + 1
}

// Close flushes and closes the file.
func (c *Capture) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.w.Flush()
	return c.f.Close()
}
