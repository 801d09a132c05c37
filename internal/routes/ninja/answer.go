// Package ninja holds what the Django-Ninja routes of the internal, embed and ceramic-cache
// families share on the HTTP side: answers in Ninja's shapes ({"detail": ...} errors, 422
// validation bodies, Python json.dumps text), the body parser's errors, the internal token, and
// the read-only route that serves from the pool and shadows from a snapshot.
package ninja

import (
	"net/http"
	"strconv"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/route"
)

// JSON is a Ninja answer with a body already rendered as Python's json.dumps does.
func JSON(status int, body []byte) route.Answer {
	return route.Answer{Status: status, Header: http.Header{"Content-Type": {ContentType}}, Body: body}
}

// Render builds a body with a Python json.dumps writer and answers it.
func Render(status int, f func(w *pycompat.JSONWriter)) route.Answer {
	var w pycompat.JSONWriter
	f(&w)
	return JSON(status, w.Bytes())
}

// Detail is Ninja's error answer {"detail": msg} (an APIException or HttpError).
func Detail(status int, msg string) route.Answer {
	return Render(status, func(w *pycompat.JSONWriter) {
		w.BeginObject()
		w.Key("detail")
		w.String(msg)
		w.EndObject()
	})
}

// Missing is Ninja's 422 for required parameters that are absent: one pydantic "missing" error
// per location, each location starting with its source ("body", "query").
func Missing(locs ...[]any) route.Answer {
	return Render(http.StatusUnprocessableEntity, func(w *pycompat.JSONWriter) {
		w.BeginObject()
		w.Key("detail")
		w.BeginArray()
		for _, loc := range locs {
			w.BeginObject()
			w.Key("type")
			w.String("missing")
			w.Key("loc")
			w.BeginArray()
			for _, part := range loc {
				switch p := part.(type) {
				case string:
					w.String(p)
				case int:
					w.Raw(strconv.Itoa(p))
				}
			}
			w.EndArray()
			w.Key("msg")
			w.String("Field required")
			w.EndObject()
		}
		w.EndArray()
		w.EndObject()
	})
}

// ServerError is Django's HTML 500 page: what an exception no Ninja handler takes becomes with
// DEBUG off.
func ServerError() route.Answer { return ServerErrorPage().Answer() }

// Answer is r as the proxy writes it: its status and body, with its Content-Type.
func (r Response) Answer() route.Answer {
	return route.Answer{Status: r.Status, Header: http.Header{"Content-Type": {r.MediaType()}}, Body: r.Body}
}

// Common answers of the internal API (api/internal, api/registry/exceptions.py,
// api/ceramic_cache/exceptions.py).
var (
	// Unauthorized is Ninja's answer when the auth callback refuses (AuthenticationError).
	Unauthorized = Detail(http.StatusUnauthorized, "Unauthorized")
	// InvalidAddress is InvalidAddressException.
	InvalidAddress = Detail(http.StatusBadRequest, "Invalid address.")
	// TooManyStamps is TooManyStampsException (MAX_BULK_CACHE_SIZE exceeded).
	TooManyStamps = Detail(http.StatusUnprocessableEntity, "You have submitted too many stamps.")
	// NotFound is Django-Ninja's answer to Http404 (get_object_or_404).
	NotFound = Detail(http.StatusNotFound, "Not Found")
)

// MaxBulkCacheSize is Django's MAX_BULK_CACHE_SIZE (a constant, not an environment variable).
const MaxBulkCacheSize = 100
