package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
)

// handler answers ALB events with the Go scorer, in the dialect it is set to.
type handler struct {
	dialect route.Dialect
	lambda  *v2.LambdaHandler
	scorer  *scoring.Scorer
	sink    scoring.Sink
}

// handle decodes the event for the dialect and answers it.
func (h *handler) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if h.dialect == route.Lambda {
		var ev v2.LambdaEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decode ALB event: %w", err)
		}
		return h.lambda.Handle(ctx, ev), nil
	}
	var ev events.ALBTargetGroupRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decode ALB event: %w", err)
	}
	return h.handleNinja(ctx, ev), nil
}

var notFound = scoring.Response{Status: http.StatusNotFound, Body: []byte(`{"detail": "Not Found"}`)}

// handleNinja answers as the Django-Ninja route behind ASGI does.
func (h *handler) handleNinja(ctx context.Context, req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	path, err := url.PathUnescape(req.Path)
	if err != nil {
		return albResponse(notFound)
	}
	scorerID, address, ok := scoring.ParseRoute(path)
	if !ok || req.HTTPMethod != http.MethodGet {
		return albResponse(notFound)
	}
	header := http.Header{}
	for k, v := range req.Headers {
		header.Set(k, v)
	}
	for k, vs := range req.MultiValueHeaders {
		header[http.CanonicalHeaderKey(k)] = vs
	}
	query := url.Values{}
	for k, v := range req.QueryStringParameters {
		query.Set(k, v)
	}
	for k, vs := range req.MultiValueQueryStringParameters {
		query[k] = vs
	}
	in := scoring.Input{ScorerID: scorerID, Address: address, Header: header, Path: path, Query: query, Host: header.Get("Host")}
	res, err := h.scorer.Score(ctx, in, h.sink)
	if err != nil {
		return albResponse(scoring.InternalError())
	}
	return albResponse(res.Response)
}

func albResponse(r scoring.Response) events.ALBTargetGroupResponse {
	return events.ALBTargetGroupResponse{
		StatusCode:        r.Status,
		StatusDescription: strconv.Itoa(r.Status) + " " + http.StatusText(r.Status),
		Headers:           map[string]string{"Content-Type": r.MediaType()},
		Body:              string(r.Body),
	}
}
