package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"shadowproxy/internal/config"
	"shadowproxy/internal/proxy"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
)

// proxyFront is the proxy (serve's handler over the route table) in front of the scorer, every
// request to Go, the v2 score route in the lambda dialect by SHADOWPROXY_ROUTE_V2_SCORE_DIALECT,
// with a stand-in Django behind it.
type proxyFront struct {
	server  *httptest.Server
	client  *http.Client
	rollout *proxy.Rollout
	metrics *proxy.Metrics
}

// newProxyFront starts the proxy. django answers what falls back; nil: a Django that fails the
// test when it is asked (Go must answer everything).
func newProxyFront(t *testing.T, scorer *scoring.Scorer, sink scoring.Sink, django http.Handler) *proxyFront {
	t.Helper()
	if django == nil {
		django = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("Django was asked for %s", r.URL)
			w.WriteHeader(http.StatusTeapot)
		})
	}
	upstream := httptest.NewServer(django)
	t.Cleanup(upstream.Close)
	env := []string{"SHADOWPROXY_ROUTE_V2_SCORE_DIALECT=lambda", "SHADOWPROXY_GO_PERCENT=100", "SHADOWPROXY_DJANGO_URL=" + upstream.URL}
	cfg, err := config.Parse([]byte("salt: test\n"), "test.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if d := cfg.Route(v2.ScoreName).Dialect; d != route.Lambda {
		t.Fatalf("dialect %q", d)
	}
	p := &proxyFront{rollout: proxy.NewRollout(cfg, nil), metrics: proxy.NewMetrics(prometheus.NewRegistry())}
	table := routes.Table(routes.Handlers{Score: &v2.Score{Scorer: scorer, Sink: sink}})
	h := &proxy.Handler{Rollout: p.rollout, Routes: table, Django: proxy.NewDjangoProxy(p.rollout, proxy.DjangoOptions{}, p.metrics, nil), Metrics: p.metrics}
	p.server = httptest.NewServer(h)
	t.Cleanup(p.server.Close)
	// No Accept-Encoding of the client's own: the event's headers are exactly the recorded ones.
	p.client = &http.Client{Transport: &http.Transport{DisableCompression: true}}
	return p
}

// request is the HTTP request the ALB received for the recorded event raw: its method, path,
// query, headers (host as the Host) and body.
func (p *proxyFront) request(t *testing.T, raw json.RawMessage) *http.Request {
	t.Helper()
	var ev struct {
		HTTPMethod            string            `json:"httpMethod"`
		Path                  string            `json:"path"`
		QueryStringParameters map[string]string `json:"queryStringParameters"`
		Headers               map[string]string `json:"headers"`
		Body                  string            `json:"body"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	var query []string
	for k, v := range ev.QueryStringParameters {
		query = append(query, k+"="+v)
	}
	u, err := url.Parse(p.server.URL + ev.Path + "?" + strings.Join(query, "&"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(ev.HTTPMethod, u.String(), strings.NewReader(ev.Body))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range ev.Headers {
		if k == "host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return req
}

// send sends the request and reads the answer: Go's, with the headers it sent (the proxy's
// X-Request-Id and X-Shadowproxy-Backend checked and set aside, as are Date and
// Content-Length, which the HTTP server adds).
func (p *proxyFront) send(t *testing.T, raw json.RawMessage) answer {
	t.Helper()
	resp, body := p.do(t, p.request(t, raw))
	if resp.Header.Get(proxy.BackendHeader) != "go" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("not Go's answer: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	a := answer{overHTTP: true, StatusCode: resp.StatusCode, Body: string(body), Headers: map[string]string{}}
	for k, vs := range resp.Header {
		switch k {
		case proxy.BackendHeader, "X-Request-Id", "Date", "Content-Length":
			continue
		}
		if len(vs) != 1 {
			t.Fatalf("header %s sent %d times", k, len(vs))
		}
		a.Headers[k] = vs[0]
	}
	return a
}

// do sends req to the proxy and reads the whole answer.
func (p *proxyFront) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
