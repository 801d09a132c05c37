package proxy

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.uber.org/zap"
)

// djangoDownBody is the 502 body when Django cannot be reached.
const djangoDownBody = `{"detail": "shadowproxy could not reach Django"}`

// NewDjangoProxy returns the reverse proxy to Django. The target comes from the current
// snapshot on every request, so a reloaded django_url takes effect at once. The original Host
// header is kept (Django's ALLOWED_HOSTS sees the public host) and X-Forwarded-* are set.
func NewDjangoProxy(rollout *Rollout, log *zap.Logger) *httputil.ReverseProxy {
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	}
	var targets sync.Map // django_url → *url.URL, parsed once per distinct value
	target := func() *url.URL {
		raw := rollout.Load().Config.DjangoURL
		if u, ok := targets.Load(raw); ok {
			return u.(*url.URL)
		}
		u, _ := url.Parse(raw) // validated by config.Validate
		targets.Store(raw, u)
		return u
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target())
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			// Django's own spans join the trace of the request (W3C traceparent).
			otel.GetTextMapPropagator().Inject(pr.In.Context(), propagation.HeaderCarrier(pr.Out.Header))
		},
		Transport:  transport,
		BufferPool: bufferPool{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if log != nil {
				log.Warn("django unreachable", zap.String("request_id", r.Header.Get(requestIDHeader)), zap.Error(err))
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(djangoDownBody))
		},
	}
}

// bufferPool recycles the 32 KiB copy buffers of the reverse proxy.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
