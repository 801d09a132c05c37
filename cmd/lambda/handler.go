package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"shadowproxy/internal/scoring"
)

// handler answers ALB events with the Go scorer.
type handler struct {
	scorer *scoring.Scorer
	sink   scoring.Sink
}

var notFound = scoring.Response{Status: http.StatusNotFound, Body: []byte(`{"detail": "Not Found"}`)}

func (h *handler) handle(ctx context.Context, req events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
	path, err := url.PathUnescape(req.Path)
	if err != nil {
		return albResponse(notFound), nil
	}
	scorerID, address, ok := scoring.ParseRoute(path)
	if !ok || req.HTTPMethod != http.MethodGet {
		return albResponse(notFound), nil
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
		return albResponse(scoring.InternalError()), nil
	}
	return albResponse(res.Response), nil
}

func albResponse(r scoring.Response) events.ALBTargetGroupResponse {
	return events.ALBTargetGroupResponse{
		StatusCode:        r.Status,
		StatusDescription: strconv.Itoa(r.Status) + " " + http.StatusText(r.Status),
		Headers:           map[string]string{"Content-Type": r.MediaType()},
		Body:              string(r.Body),
	}
}
