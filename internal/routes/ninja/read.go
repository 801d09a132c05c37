package ninja

import (
	"context"
	"net/http"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/route"
	"shadowproxy/internal/store"
)

// Request is what a route's Parse keeps for Serve: the answer Django gives before its handler
// runs (auth, parser and validation errors), or the parsed parameters for the handler.
type Request struct {
	Early  *route.Answer
	Params any
}

// Early is a call answered before the handler runs.
func Early(key string, sub route.Subject, a route.Answer) route.Call {
	return route.Call{Key: key, Subject: sub, Request: Request{Early: &a}}
}

// Call is a call whose parameters the handler reads.
func Call(key string, sub route.Subject, params any) route.Call {
	return route.Call{Key: key, Subject: sub, Request: Request{Params: params}}
}

// ReadFunc answers a call's parameters with reads through q only: a read route never writes.
type ReadFunc func(ctx context.Context, q store.Querier, params any) (route.Answer, error)

// Read is the Go side of a route that only reads. Go-served requests read through DB; a shadow
// run reads the same statements on the snapshot taken as the request arrived and compares its
// answer with Django's (there are no writes to compare).
type Read struct {
	// DB returns the Django database, read when a request is served (the process may connect
	// after the table is built); the proxy keeps Go off while there is none.
	DB func() store.Querier
	// ParseFunc takes a request exactly as Django routes and parses it (Handler.Parse).
	ParseFunc func(r *http.Request, body []byte) (route.Call, bool)
	// ReadFunc answers a parsed call.
	ReadFunc ReadFunc
	// Failure is, for the error a read failed with, the answer of a Django handler that catches
	// the exceptions of its reads; nil: Django's HTML 500 page, for an exception no handler
	// takes.
	Failure func(err error) route.Answer
}

// Parse implements route.Handler: the internal API is Django-Ninja's only, so a route set to
// another dialect leaves its requests to Django.
func (h *Read) Parse(r *http.Request, body []byte, d route.Dialect) (route.Call, bool) {
	if !NinjaDialect(d) {
		return route.Call{}, false
	}
	return h.ParseFunc(r, body)
}

// NinjaDialect reports whether a route set to d answers as Django-Ninja (the internal API has
// no Lambda handler).
func NinjaDialect(d route.Dialect) bool { return d == route.Ninja || d == "" }

// Serve implements route.Handler.
func (h *Read) Serve(ctx context.Context, c route.Call) (route.Answer, error) {
	return h.answer(ctx, h.DB(), c)
}

func (h *Read) answer(ctx context.Context, q store.Querier, c route.Call) (route.Answer, error) {
	req := c.Request.(Request)
	if req.Early != nil {
		return *req.Early, nil
	}
	return h.ReadFunc(ctx, q, req.Params)
}

// Failed implements route.Handler: the handler's own answer to the failure (Failure), else
// Django's page for an exception no handler takes.
func (h *Read) Failed(_ route.Call, err error) route.Answer {
	if h.Failure != nil {
		return h.Failure(err)
	}
	return ServerError()
}

// Compare implements route.Shadower: the same reads on the snapshot, answers compared.
func (h *Read) Compare(ctx context.Context, in route.ShadowInput) ([]diff.Field, error) {
	defer in.Snapshot.Close(context.Background())
	start := time.Now()
	a, err := h.answer(ctx, in.Snapshot.DB(), in.Call)
	in.Run.GoLatency = time.Since(start)
	if err != nil {
		return nil, err
	}
	in.Run.SetGoAnswer(a.Status, a.Header, a.Body)
	return diff.CompareResponses(in.Django, diff.Response{Status: a.Status, Body: a.Body}, in.Rules), nil
}
