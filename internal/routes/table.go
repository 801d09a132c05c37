// Package routes is the route table: one declaration per migrated route, each served by the
// handlers of its family's package (v2/, internalapi/, embed/). internal/proxy runs every route
// of the table through one generic flow.
package routes

import (
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ceramiccache"
	"shadowproxy/internal/routes/embed"
	"shadowproxy/internal/routes/internalapi"
	v2 "shadowproxy/internal/routes/v2"
)

// Handlers are the Go sides the table's routes are served by.
type Handlers struct {
	Score *v2.Score // GET /v2/stamps/{scorer_id}/score/{address}
	// CeramicCache serves the Passport app's /ceramic-cache/* routes; nil (or a nil Scorer)
	// leaves every request of theirs to Django.
	CeramicCache *ceramiccache.Family
	// Internal serves the internal API's reads (/internal/check-bans, ...); nil: parse-only
	// handlers that leave every request to Django.
	Internal *internalapi.Reads
	// Embed serves the internal score and the embed routes; nil: parse-only handlers that
	// leave every request to Django.
	Embed *embed.Embed
}

// Table is the route table, in the order requests are matched. Its names are
// config.RouteNames (a test keeps them equal).
func Table(h Handlers) []route.Route {
	if h.CeramicCache == nil {
		h.CeramicCache = &ceramiccache.Family{}
	}
	if h.Internal == nil {
		h.Internal = &internalapi.Reads{}
	}
	if h.Embed == nil {
		h.Embed = &embed.Embed{}
	}
	table := []route.Route{v2.ScoreRoute(h.Score)}
	table = append(table, ceramiccache.Routes(h.CeramicCache)...)
	table = append(table, h.Embed.Routes()...)
	return append(table, h.Internal.Routes()...)
}
