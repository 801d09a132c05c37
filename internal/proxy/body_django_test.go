package proxy

import (
	"strings"
	"testing"
)

// A body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE goes to Django (its 400 page, which Go does
// not answer) even when SHADOWPROXY_MAX_BODY_BYTES is set higher: Go parsed it and answered.
func TestBodiesOverDjangosUploadLimitAreDjangos(t *testing.T) {
	h := toyGoHarness(t)
	h.handler.MaxBody = 4 << 20
	for size, want := range map[int]string{DjangoMaxBody: "go", DjangoMaxBody + 1: "django"} {
		resp, body := h.do("POST", "/toy/0xabc", strings.NewReader(strings.Repeat("x", size)))
		if served, _, _ := strings.Cut(body, ":"); served != want || len(body) != len(want)+1+size {
			t.Errorf("%d bytes: served by %q (%s), want %s with every byte", size, served, resp.Header.Get(BackendHeader), want)
		}
	}
}
