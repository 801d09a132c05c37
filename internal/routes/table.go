// Package routes is the route table: one declaration per migrated route, each served by the
// handlers of its family's package (v2/ today; ceramic cache, embed and internal next).
// internal/proxy runs every route of the table through one generic flow.
package routes

import (
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
)

// Handlers are the Go sides the table's routes are served by.
type Handlers struct {
	Score *v2.Score // GET /v2/stamps/{scorer_id}/score/{address}
}

// Table is the route table, in the order requests are matched. Its names are
// config.RouteNames (a test keeps them equal).
func Table(h Handlers) []route.Route {
	return []route.Route{
		v2.ScoreRoute(h.Score),
	}
}
