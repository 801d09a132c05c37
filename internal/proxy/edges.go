package proxy

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"shadowproxy/internal/config"
)

// EdgeOptions bound time and memory where the process meets clients and Django (process
// settings, read once).
type EdgeOptions struct {
	IdleTimeout       time.Duration // SHADOWPROXY_IDLE_TIMEOUT, default 75s (above an AWS ALB's 60 s: the ALB closes first)
	ReadHeaderTimeout time.Duration // SHADOWPROXY_READ_HEADER_TIMEOUT, default 10s
	BodyTimeout       time.Duration // SHADOWPROXY_BODY_TIMEOUT, default 30s: a table route's body arrives whole within it, or 408
	WriteTimeout      time.Duration // SHADOWPROXY_WRITE_TIMEOUT, default 30s: each write of an answer to a client completes within it
	MaxHeaderBytes    int           // SHADOWPROXY_MAX_HEADER_BYTES, default 64 KiB
	Django            DjangoOptions
	DrainDelay        time.Duration // SHADOWPROXY_DRAIN_DELAY, default 5s
	ShutdownGrace     time.Duration // SHADOWPROXY_SHUTDOWN_GRACE, default 20s
}

// DefaultEdgeOptions are the settings without any environment.
func DefaultEdgeOptions() EdgeOptions {
	return EdgeOptions{
		IdleTimeout: 75 * time.Second, ReadHeaderTimeout: 10 * time.Second, BodyTimeout: DefaultBodyTimeout, WriteTimeout: DefaultWriteTimeout,
		MaxHeaderBytes: 64 << 10,
		Django:         DjangoOptions{Timeout: defaultDjangoTimeout, TrustForwarded: true},
		DrainDelay:     5 * time.Second, ShutdownGrace: 20 * time.Second,
	}
}

// EdgeOptionsFromEnv reads the edge settings.
func EdgeOptionsFromEnv(getenv func(string) string) (EdgeOptions, error) {
	o := DefaultEdgeOptions()
	durations := map[string]*time.Duration{
		"SHADOWPROXY_IDLE_TIMEOUT": &o.IdleTimeout, "SHADOWPROXY_READ_HEADER_TIMEOUT": &o.ReadHeaderTimeout, "SHADOWPROXY_BODY_TIMEOUT": &o.BodyTimeout,
		"SHADOWPROXY_WRITE_TIMEOUT":  &o.WriteTimeout,
		"SHADOWPROXY_DJANGO_TIMEOUT": &o.Django.Timeout, "SHADOWPROXY_SHUTDOWN_GRACE": &o.ShutdownGrace,
	}
	for name, dst := range durations {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return o, fmt.Errorf("%s=%q must be a positive duration", name, v)
			}
			*dst = d
		}
	}
	if v := getenv("SHADOWPROXY_DRAIN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return o, fmt.Errorf("SHADOWPROXY_DRAIN_DELAY=%q must be a duration, 0 or more", v)
		}
		o.DrainDelay = d
	}
	if v := getenv("SHADOWPROXY_MAX_HEADER_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 4096 {
			return o, fmt.Errorf("SHADOWPROXY_MAX_HEADER_BYTES=%q must be a number of bytes, at least 4096", v)
		}
		o.MaxHeaderBytes = n
	}
	if v := getenv("SHADOWPROXY_TRUST_FORWARDED"); v != "" {
		o.Django.TrustForwarded = config.DjangoBool(v) // the one boolean rule of every setting
	}
	return o, nil
}

// Server returns an HTTP server for addr and h with the edge bounds: idle keep-alive
// connections closed after IdleTimeout, request headers read within ReadHeaderTimeout and at
// most MaxHeaderBytes long (431 beyond), each write of an answer complete within WriteTimeout
// (boundWrites; the server's WriteTimeout arms the same deadline as each request is read, for
// what net/http writes itself, such as a 400 for the next request on the connection).
func (o EdgeOptions) Server(addr string, h http.Handler) *http.Server {
	timeout := o.WriteTimeout
	if timeout <= 0 {
		timeout = DefaultWriteTimeout
	}
	return &http.Server{Addr: addr, Handler: boundWrites(h, timeout), IdleTimeout: o.IdleTimeout, ReadHeaderTimeout: o.ReadHeaderTimeout,
		WriteTimeout: timeout, MaxHeaderBytes: o.MaxHeaderBytes}
}
