package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// bodyUnread says why readBody left a request's body to Django unread (or read in part).
type bodyUnread int

const (
	bodyRead       bodyUnread = iota // read whole (or there is none to read)
	bodyOverLimit                    // larger than the bound: counted under the route's label
	bodyBudgetFull                   // the body budget could not take it: counted likewise
	bodyBroken                       // the client's body ended early or failed: not counted
	bodyTimedOut                     // not whole within BodyTimeout: answered 408, counted
)

// readBody reads the body of a request that a table route may take, once and bounded by
// MaxBody, so that Go parses the same bytes Django gets on fallback or in shadow. A request
// whose method no route has keeps its body as it is (streamed to Django). Any other outcome
// than bodyRead leaves the request to Django with every byte of its body (what was read, then
// the rest as it comes), except bodyTimedOut, which the proxy answers itself; label names the
// route it is counted under (the route that would take the request without its body, or
// "other").
//
// The bytes it reads are taken from the process's body budget as the buffer holding them is
// allocated (readUpTo), and held until release is called: when the budget cannot give them
// (clients sending bodies slowly, or many large ones at once), reading stops, so memory stays
// bounded whatever clients do. A client that announces a large body and stalls holds the first
// chunk only, and the whole read must end within BodyTimeout.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (body []byte, unread bodyUnread, label string, release func()) {
	release = func() {}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || !h.hasMethod(r.Method) {
		return nil, bodyRead, "", release
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	limit = min(limit, DjangoMaxBody)
	if r.ContentLength > limit {
		return nil, bodyOverLimit, h.overLabel(r), release
	}
	bound := limit + 1
	if r.ContentLength > 0 {
		bound = r.ContentLength
	}
	held := int64(0)
	take := func(n int64) bool {
		if !h.BodyBudget.take(n) {
			return false
		}
		held += n
		return true
	}
	release = func() { h.BodyBudget.give(held) }
	timeout := h.BodyTimeout
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	rc := http.NewResponseController(w)
	deadlineSet := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	read, err := readUpTo(r.Body, bound, r.ContentLength > 0, take)
	if deadlineSet {
		_ = rc.SetReadDeadline(time.Time{}) // the rest, if any, streams to Django at its pace
	}
	unread = bodyRead
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, bodyTimedOut, h.overLabel(r), release
	case errors.Is(err, errBodyBudget):
		unread = bodyBudgetFull
	case int64(len(read)) > limit:
		unread = bodyOverLimit
	case err != nil:
		unread = bodyBroken // a client that hung up mid-body is no body over the limit
	}
	if unread != bodyRead {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(read), r.Body), r.Body}
		return nil, unread, h.overLabel(r), release
	}
	replayBody(r, read)
	return read, bodyRead, "", release
}

// DefaultBodyTimeout is the default of SHADOWPROXY_BODY_TIMEOUT: the time a table route's body
// has to arrive whole (nginx's client_body_timeout is 60 s between two reads; Django's own
// bodies here are a few KB).
const DefaultBodyTimeout = 30 * time.Second

// firstBodyChunk is the buffer a body of known length starts in: a larger body grows to its
// length once this much of it arrived, so a client announcing a large body and sending little
// holds little of the budget, and a body's bytes are allocated at most once more than its
// length.
const firstBodyChunk = 8 << 10

// errBodyBudget is readUpTo's error when the budget cannot take the next buffer.
var errBodyBudget = errors.New("the body budget is taken")

// readUpTo reads body to its end, or to n bytes, into one buffer that never grows past n,
// taking each allocation from the budget through take first (errBodyBudget when it cannot):
// a body of known length n starts in min(n, firstBodyChunk) bytes and grows to n at once,
// one of unknown length doubles from 512 bytes (so the bytes held are the bytes taken, where
// io.ReadAll's growth could hold about twice as many). A body of known length has no bytes
// past it: net/http ends it there.
func readUpTo(body io.Reader, n int64, known bool, take func(int64) bool) ([]byte, error) {
	size := min(n, 512)
	if known {
		size = min(n, firstBodyChunk)
	}
	if !take(size) {
		return nil, errBodyBudget
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) == n {
				return buf, nil
			}
			next := min(2*int64(cap(buf)), n)
			if known {
				next = n
			}
			if !take(next - int64(cap(buf))) {
				return buf, errBodyBudget
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		m, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// DefaultBodyBudget is the default of SHADOWPROXY_BODY_BUDGET_BYTES: 8 MiB, room for three
// bodies of Django's largest and for thousands of the Passport app's (a few KB each).
const DefaultBodyBudget = 8 << 20

// BodyBudget bounds the bytes of the request bodies the proxy reads and holds at once, across
// its requests (SHADOWPROXY_BODY_BUDGET_BYTES). A nil budget bounds nothing.
type BodyBudget struct {
	max  int64
	used atomic.Int64
}

// NewBodyBudget returns a budget of max bytes.
func NewBodyBudget(max int64) *BodyBudget { return &BodyBudget{max: max} }

// Used is the number of bytes taken now.
func (b *BodyBudget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

func (b *BodyBudget) take(n int64) bool {
	if b == nil {
		return true
	}
	for {
		used := b.used.Load()
		if used+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

func (b *BodyBudget) give(n int64) {
	if b != nil {
		b.used.Add(-n)
	}
}

func (h *Handler) hasMethod(method string) bool {
	for i := range h.Routes {
		if h.Routes[i].Method == method {
			return true
		}
	}
	return false
}

func (h *Handler) overLabel(r *http.Request) string {
	if rt, _, ok := h.match(r, nil, h.Rollout.Load()); ok {
		return rt.Name
	}
	return OtherRoute
}

// replayBody gives r a fresh reader of body (nil: r keeps its own).
func replayBody(r *http.Request, body []byte) {
	if body == nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}
