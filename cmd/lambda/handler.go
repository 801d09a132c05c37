package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.uber.org/zap"

	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
)

// handler answers ALB events with the Go scorer, in the dialect it is set to.
type handler struct {
	dialect route.Dialect
	// middleware is the Django MIDDLEWARE (LOGGING_STRATEGY) whose headers the ninja dialect's
	// answers get, as behind ASGI.
	middleware route.Middleware
	lambda     *v2.LambdaHandler
	ninja      *v2.Handler
	// log receives one line per invocation (CloudWatch Logs); nil logs nothing.
	log *zap.Logger
	// connecting, when set, is closed once the database connection opened during init is
	// ready (or failed); invocations wait for it.
	connecting <-chan struct{}
}

// handle decodes the event for the dialect, answers it and logs the invocation. A panic is
// answered as Django's wrapper answers an exception it does not name (its except Exception):
// the Lambda dialect's 500 "An error has occurred", the Ninja route's 500; the runtime would
// otherwise report the invocation failed, the ALB answer 502 and the sandbox restart.
func (h *handler) handle(ctx context.Context, raw json.RawMessage) (out any, err error) {
	start := time.Now()
	ctx, cancel := withAnswerMargin(ctx)
	defer cancel()
	if h.connecting != nil {
		select {
		case <-h.connecting:
		case <-ctx.Done():
		}
	}
	status, path := 0, ""
	defer func() {
		if p := recover(); p != nil {
			out, status, err = h.panicAnswer()
			if h.log != nil {
				h.log.Error("invocation panicked", zap.String("dialect", string(h.dialect)), zap.String("path", path),
					zap.Any("panic", p), zap.Stack("stack"))
			}
		}
	}()
	out, status, path, err = h.answer(ctx, raw)
	if h.log != nil {
		fields := []zap.Field{zap.String("dialect", string(h.dialect)), zap.String("path", path),
			zap.Int("status", status), zap.Duration("duration", time.Since(start))}
		if r, ok := out.(v2.LambdaResponse); ok && status >= 500 {
			// The wrapper's statusDescription: the database error's class, or the exception's text.
			fields = append(fields, zap.String("cause", r.StatusDescription))
		}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			fields = append(fields, zap.String("aws_request_id", lc.AwsRequestID))
		}
		if err != nil {
			h.log.Error("invocation refused", append(fields, zap.Error(err))...)
		} else {
			h.log.Info("invocation", fields...)
		}
	}
	return out, err
}

// answerMargin is the part of an invocation's time the scoring leaves for what follows its
// failure at the deadline: the write pipeline's grace, the check of an unknown commit outcome
// on another connection (up to 5 s) and the answer. Lambda ends the invocation at its deadline
// (the ALB answers 502) and may stop the sandbox, so all of that must be over by then; a
// shorter invocation keeps a quarter of its time.
const answerMargin = 7 * time.Second

// withAnswerMargin is ctx ending answerMargin before the invocation's deadline (none: ctx).
func withAnswerMargin(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	margin := min(answerMargin, time.Until(deadline)/4)
	return context.WithDeadline(ctx, deadline.Add(-margin))
}

// panicAnswer is the dialect's answer to a panic.
func (h *handler) panicAnswer() (any, int, error) {
	if h.dialect == route.Lambda {
		resp := v2.PanicResponse()
		return resp, resp.StatusCode, nil
	}
	resp := albResponse(h.ninja.Score.Failed(route.Call{Dialect: route.Ninja}, route.ErrPanic))
	return resp, resp.StatusCode, nil
}

// answer decodes the event for the dialect and answers it; status and path are what the log
// line says of it (never a header: the API key travels in one).
func (h *handler) answer(ctx context.Context, raw json.RawMessage) (out any, status int, path string, err error) {
	if h.dialect == route.Lambda {
		var ev v2.LambdaEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, 0, "", fmt.Errorf("decode ALB event: %w", err)
		}
		resp := h.lambda.Handle(ctx, ev)
		if ev.Path != nil {
			path = *ev.Path
		}
		return resp, resp.StatusCode, path, nil
	}
	var ev events.ALBTargetGroupRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, 0, "", fmt.Errorf("decode ALB event: %w", err)
	}
	resp := h.handleNinja(ctx, ev)
	return resp, resp.StatusCode, ev.Path, nil
}

// handleNinja answers as the Django-Ninja route behind ASGI does: the event becomes the HTTP
// request the ALB received, answered by the v2 route in the ninja dialect.
func (h *handler) handleNinja(ctx context.Context, req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	header := http.Header{}
	for k, v := range req.Headers {
		header.Set(k, v)
	}
	for k, vs := range req.MultiValueHeaders {
		header[http.CanonicalHeaderKey(k)] = vs
	}
	path, err := url.PathUnescape(req.Path)
	if err != nil { // Django's URL resolver never sees such a path: Ninja's 404
		path = ""
	}
	u := &url.URL{Path: path, RawPath: req.Path, RawQuery: rawQuery(req.QueryStringParameters, req.MultiValueQueryStringParameters)}
	r := (&http.Request{Method: req.HTTPMethod, URL: u, Header: header, Host: header.Get("Host"), Body: http.NoBody}).WithContext(ctx)
	a := h.ninja.Answer(ctx, r)
	a.Header = a.Header.Clone()
	if a.Header == nil {
		a.Header = http.Header{}
	}
	route.AddMiddlewareHeaders(h.middleware, route.Ninja, route.RequestCORS(r), a.Header) // Django's middleware, as behind ASGI
	resp := albResponse(a)
	if req.MultiValueHeaders != nil {
		// A target group with multi-value headers takes the answer's in multiValueHeaders only.
		resp.MultiValueHeaders, resp.Headers = a.Header, nil
	}
	return resp
}

// albResponse is the ALB answer to a: its status with the reason phrase and its headers (the
// last value of a repeated one in the single-value form).
func albResponse(a route.Answer) events.ALBTargetGroupResponse {
	headers := make(map[string]string, len(a.Header))
	for k, vs := range a.Header {
		if len(vs) > 0 {
			headers[k] = vs[len(vs)-1]
		}
	}
	return events.ALBTargetGroupResponse{
		StatusCode:        a.Status,
		StatusDescription: strconv.Itoa(a.Status) + " " + http.StatusText(a.Status),
		Headers:           headers,
		Body:              string(a.Body),
	}
}

// rawQuery is the query string the ALB received, rebuilt from its parameters: the ALB passes
// them as the client sent them, not percent-decoded, so they are joined as they are (encoding
// them again made "a%20b" read "a%20b", where Django's request.GET reads "a b"). The
// multi-value parameters, when the target group sends them, hold every value. The parameters'
// order is lost in the event: they come sorted by name.
func rawQuery(single map[string]string, multi map[string][]string) string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	if len(multi) > 0 {
		for _, k := range slices.Sorted(maps.Keys(multi)) {
			for _, v := range multi[k] {
				add(k, v)
			}
		}
		return b.String()
	}
	for _, k := range slices.Sorted(maps.Keys(single)) {
		add(k, single[k])
	}
	return b.String()
}
