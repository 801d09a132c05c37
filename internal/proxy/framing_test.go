package proxy

import (
	"strings"
	"testing"
)

// A Go answer carries Content-Length, as Django's do (CommonMiddleware sets it on every
// non-streaming response): never chunked, whatever its size (net/http chunks an answer over
// 2 KiB that says nothing of its length; a 20-stamp score is about that size).
func TestGoAnswerHasContentLength(t *testing.T) {
	h := toyGoHarness(t)
	for _, size := range []int{10, 2047, 2048, 5000, 70_000} {
		resp, body := h.do("POST", "/toy/0xabc", strings.NewReader(strings.Repeat("x", size)))
		if resp.Header.Get(BackendHeader) != "go" || body != "go:"+strings.Repeat("x", size) {
			t.Fatalf("%d bytes: not Go's answer: %v", size, resp.Header)
		}
		if len(resp.TransferEncoding) != 0 || resp.ContentLength != int64(len(body)) {
			t.Fatalf("%d-byte answer sent with Transfer-Encoding %v, Content-Length %d", len(body), resp.TransferEncoding, resp.ContentLength)
		}
	}
}
