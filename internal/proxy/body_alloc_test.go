package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"shadowproxy/internal/route"
)

// allocatedBy is the number of bytes the heap allocated while f ran.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A body of known length is read into one buffer of its length: the bytes allocated are the
// bytes the body budget reserved, not the twice as many io.ReadAll's growth allocated
// (2.1 MiB for a 1 MiB body).
func TestBodyReadAllocatesItsReservation(t *testing.T) {
	h := &Handler{Routes: []route.Route{{Method: http.MethodPost}}, BodyBudget: NewBodyBudget(DefaultBodyBudget)}
	payload := bytes.Repeat([]byte("x"), DefaultMaxBody)
	var body []byte
	allocated := allocatedBy(func() {
		r := httptest.NewRequest(http.MethodPost, "/toy/0xabc", bytes.NewReader(payload))
		var unread bodyUnread
		var release func()
		body, unread, _, release = h.readBody(httptest.NewRecorder(), r)
		release()
		if unread != bodyRead {
			t.Errorf("unread %v", unread)
		}
	})
	if !bytes.Equal(body, payload) {
		t.Fatalf("read %d bytes", len(body))
	}
	if slack := uint64(16 << 10); allocated > uint64(len(payload))+slack {
		t.Fatalf("reading a %d-byte body allocated %d bytes", len(payload), allocated)
	}
}

// readUpTo reads to the end or to its bound, whichever comes first, through short reads, and
// never holds a buffer larger than its bound.
func TestReadUpToStopsAtItsBound(t *testing.T) {
	for _, c := range []struct {
		body  string
		n     int64
		known bool
		want  string
	}{
		{"", 10, false, ""},
		{"abc", 10, false, "abc"},
		{"abc", 3, true, "abc"},
		{strings.Repeat("y", 1500), 1501, false, strings.Repeat("y", 1500)},
		{strings.Repeat("y", 1500), 1000, false, strings.Repeat("y", 1000)},
	} {
		got, err := readUpTo(iotest.OneByteReader(strings.NewReader(c.body)), c.n, c.known, func(int64) bool { return true })
		if err != nil || string(got) != c.want || int64(cap(got)) > c.n {
			t.Errorf("readUpTo(%d bytes, %d, %v) = %d bytes (cap %d), %v", len(c.body), c.n, c.known, len(got), cap(got), err)
		}
	}
	if _, err := readUpTo(iotest.ErrReader(io.ErrUnexpectedEOF), 10, true, func(int64) bool { return true }); err != io.ErrUnexpectedEOF {
		t.Errorf("a failed read: %v", err)
	}
}
