package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// readBody reads the body of a request that a table route may take, once and bounded by
// MaxBody, so that Go parses the same bytes Django gets on fallback or in shadow. A request
// whose method no route has keeps its body as it is (streamed to Django). over names the route
// label a body over the bound is counted under (the route that would take the request without
// it, or "other"); such a request keeps its whole body, untouched, for Django.
func (h *Handler) readBody(r *http.Request, snap *Snapshot) (body []byte, over string) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || !h.hasMethod(r.Method) {
		return nil, ""
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	limit = min(limit, DjangoMaxBody)
	if r.ContentLength > limit {
		return nil, h.overLabel(r, snap)
	}
	read, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if int64(len(read)) > limit || (err != nil && !errors.Is(err, io.EOF)) {
		// Django gets every byte: what was read, then the rest as it comes.
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(read), r.Body), r.Body}
		return nil, h.overLabel(r, snap)
	}
	replayBody(r, read)
	return read, ""
}

func (h *Handler) hasMethod(method string) bool {
	for i := range h.Routes {
		if h.Routes[i].Method == method {
			return true
		}
	}
	return false
}

func (h *Handler) overLabel(r *http.Request, snap *Snapshot) string {
	if rt, _, ok := h.match(r, nil, snap); ok {
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
