package proxy

import (
	"context"
	"errors"
	"io"
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

// Answers the proxy gives itself when Django does not answer.
const (
	djangoDownBody    = `{"detail": "shadowproxy could not reach Django"}`
	djangoTimeoutBody = `{"detail": "Django did not answer in time"}`
)

const defaultDjangoTimeout = 60 * time.Second

// Reasons the proxy answered itself (label of shadowproxy_django_failures_total).
const (
	djangoUnreachable = "unreachable" // 502
	djangoTimeout     = "timeout"     // 504: no headers within the timeout
	djangoStalled     = "stalled"     // the body stayed silent as long: the client's connection is aborted
)

// DjangoOptions bound the calls to Django.
type DjangoOptions struct {
	// Timeout (SHADOWPROXY_DJANGO_TIMEOUT) is the longest Django may stay silent: from the
	// request sent to its response headers (then 504), and while the proxy waits for the next
	// piece of its body (then the client's connection is aborted, as the status is already
	// sent). Zero means 60 s.
	Timeout time.Duration
	// TrustForwarded (SHADOWPROXY_TRUST_FORWARDED) appends the peer to an incoming
	// X-Forwarded-For and keeps the load balancer's X-Forwarded-Proto and X-Forwarded-Host;
	// false replaces all three with what the proxy sees.
	TrustForwarded bool
}

// djangoFailureMarker is implemented by response writers that want to know the answer was
// made by the proxy because Django failed (the shadow comparison and the capture skip it).
type djangoFailureMarker interface{ markDjangoFailed() }

// clientGoneMarker is implemented by response writers that want to know the client went away
// before Django answered: the proxy's 502 then reaches nobody and says nothing of Django.
type clientGoneMarker interface{ markClientGone() }

// NewDjangoProxy returns the reverse proxy to Django. The target comes from the current
// snapshot on every request, so a reloaded django_url takes effect at once. The original Host
// header is kept (Django's ALLOWED_HOSTS sees the public host) and X-Forwarded-* are set as
// o.TrustForwarded says. Failures are counted on m (shadowproxy_django_failures_total).
func NewDjangoProxy(rollout *Rollout, o DjangoOptions, m *Metrics, log *zap.Logger) http.Handler {
	if o.Timeout == 0 {
		o.Timeout = defaultDjangoTimeout
	}
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
		// The client's Accept-Encoding, or none, reaches Django as sent: the transport would
		// otherwise ask for gzip itself and hand the client a decompressed answer.
		DisableCompression: true,
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
	d := &djangoProxy{timeout: o.Timeout, metrics: m}
	d.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The query as the client sent it (SetURL joins django_url's to it): ReverseProxy
			// drops the pairs url.ParseQuery refuses (a ";", a malformed "%") before Rewrite
			// runs, and Django reads them.
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			pr.SetURL(target())
			// The proxy has answered the client's Expect itself (net/http's 100 Continue when the
			// body is read); passed on, uvicorn sends one more, whose 1xx hook in ReverseProxy
			// clears the answer's headers (the request id, the backend marker).
			pr.Out.Header.Del("Expect")
			pr.Out.Host = pr.In.Host
			setForwarded(pr, o.TrustForwarded)
			// Django's own spans join the trace of the request (W3C traceparent).
			otel.GetTextMapPropagator().Inject(pr.In.Context(), propagation.HeaderCarrier(pr.Out.Header))
		},
		Transport:      transport,
		BufferPool:     bufferPool{},
		ModifyResponse: d.boundBody,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if mark, ok := w.(djangoFailureMarker); ok {
				mark.markDjangoFailed()
			}
			status, body, reason := http.StatusBadGateway, djangoDownBody, djangoUnreachable
			if isHeaderTimeout(err) {
				status, body, reason = http.StatusGatewayTimeout, djangoTimeoutBody, djangoTimeout
			}
			if r.Context().Err() != nil { // a client that went away is not Django's failure
				if mark, ok := w.(clientGoneMarker); ok {
					mark.markClientGone()
				}
			} else {
				name := routeLabel(r.Context())
				m.djangoFailures.WithLabelValues(name, reason).Inc()
				if log != nil {
					log.Warn("django failed", zap.String("route", name), zap.String("reason", reason), zap.String("request_id", r.Header.Get(requestIDHeader)), zap.Error(err))
				}
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		},
	}
	if log != nil {
		d.proxy.ErrorLog = zap.NewStdLog(log)
	}
	return d
}

// setForwarded sets X-Forwarded-For, -Host and -Proto on the request to Django. Trusted, the
// incoming X-Forwarded-For is kept with the peer appended (SetXForwarded appends to what the
// outbound request holds) and the load balancer's -Host and -Proto are kept.
func setForwarded(pr *httputil.ProxyRequest, trusted bool) {
	if !trusted {
		pr.SetXForwarded()
		return
	}
	pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
	pr.SetXForwarded()
	for _, name := range []string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v := pr.In.Header[name]; len(v) > 0 {
			pr.Out.Header[name] = v
		}
	}
}

// isHeaderTimeout tells Django's silence before its response headers from a failure to
// connect (whose dial timeout is a timeout too).
func isHeaderTimeout(err error) bool {
	var ne net.Error
	var op *net.OpError
	return errors.As(err, &ne) && ne.Timeout() && !(errors.As(err, &op) && op.Op == "dial")
}

// djangoProxy bounds Django's silence while its body is copied: the transport bounds the wait
// for the headers, a timer armed during each read of the body the wait for the rest.
type djangoProxy struct {
	proxy   *httputil.ReverseProxy
	timeout time.Duration
	metrics *Metrics
}

type abortKey struct{}

type routeLabelKey struct{}

// withRouteLabel names the table route a request to Django is made for, so that its failures
// are counted under that route.
func withRouteLabel(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, routeLabelKey{}, name)
}

// routeLabel is the route withRouteLabel named, or OtherRoute (a pass-through).
func routeLabel(ctx context.Context) string {
	if name, ok := ctx.Value(routeLabelKey{}).(string); ok {
		return name
	}
	return OtherRoute
}

var errDjangoStalled = errors.New("django stopped sending its answer")

// ServeHTTP implements http.Handler.
func (d *djangoProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, abort := context.WithCancelCause(r.Context())
	defer abort(nil)
	call := &djangoCall{Context: ctx, abort: abort, metrics: d.metrics}
	call.body.timeout = d.timeout
	d.proxy.ServeHTTP(w, r.WithContext(call))
}

// djangoCall is the context of one request to Django: the request's own, cancelled by abort
// when Django's body stays silent too long. It carries in one value what bounding the body
// needs, found back through Value(abortKey{}).
type djangoCall struct {
	context.Context
	abort   context.CancelCauseFunc
	metrics *Metrics
	body    silenceBound
}

// Value implements context.Context.
func (c *djangoCall) Value(key any) any {
	if key == (abortKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// stalled counts Django's silent body and aborts the copy to the client.
func (c *djangoCall) stalled() {
	c.metrics.djangoFailures.WithLabelValues(routeLabel(c), djangoStalled).Inc()
	c.abort(errDjangoStalled) // the copy fails and net/http aborts the client's connection
}

func (d *djangoProxy) boundBody(resp *http.Response) error {
	call, ok := resp.Request.Context().Value(abortKey{}).(*djangoCall)
	if !ok || resp.Body == nil || resp.Body == http.NoBody {
		return nil
	}
	b := &call.body
	b.body = resp.Body
	b.timer = time.AfterFunc(time.Hour, call.stalled)
	b.timer.Stop()
	resp.Body = b
	return nil
}

// silenceBound is Django's response body with each read bounded by timeout.
type silenceBound struct {
	body    io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
}

func (b *silenceBound) Read(p []byte) (int, error) {
	b.timer.Reset(b.timeout)
	n, err := b.body.Read(p)
	b.timer.Stop()
	return n, err
}

func (b *silenceBound) Close() error {
	b.timer.Stop()
	return b.body.Close()
}

// bufferPool recycles the 32 KiB copy buffers of the reverse proxy.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

func (bufferPool) Get() []byte  { return *(buffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
