package routes

import (
	"slices"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
)

// The configuration knows exactly the table's routes, in its order, and every route is fully
// declared.
func TestTableMatchesTheConfigurationsRouteNames(t *testing.T) {
	table := Table(Handlers{Score: &v2.Score{}})
	var names []string
	for _, rt := range table {
		names = append(names, rt.Name)
		if !route.ValidName(rt.Name) || rt.Method == "" || rt.Pattern == "" || rt.Key == "" || rt.Handler == nil {
			t.Errorf("route %+v is not fully declared", rt)
		}
	}
	if !slices.Equal(names, config.RouteNames) {
		t.Fatalf("table %v, config.RouteNames %v", names, config.RouteNames)
	}
}
