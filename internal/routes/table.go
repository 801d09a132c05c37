// Package routes is the route table: one declaration per migrated route, each served by the
// handlers of its family's package (v2/ today; ceramic cache, embed and internal next).
// internal/proxy runs every route of the table through one generic flow.
package routes

import (
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ceramiccache"
	v2 "shadowproxy/internal/routes/v2"
)

// Handlers are the Go sides the table's routes are served by.
type Handlers struct {
	Score *v2.Score // GET /v2/stamps/{scorer_id}/score/{address}
	// CeramicCache serves the Passport app's /ceramic-cache/* routes; nil (or a nil Scorer)
	// leaves every request of theirs to Django.
	CeramicCache *ceramiccache.Family
}

// Table is the route table, in the order requests are matched. Its names are
// config.RouteNames (a test keeps them equal).
func Table(h Handlers) []route.Route {
	cc := h.CeramicCache
	if cc == nil {
		cc = &ceramiccache.Family{}
	}
	return append([]route.Route{v2.ScoreRoute(h.Score)}, ceramiccache.Routes(cc)...)
}
