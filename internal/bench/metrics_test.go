package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The round trips per scoring request are read from the v2-score series of the
// route-labelled histogram, not from an unlabelled series that no longer exists.
func TestRoundTripsAreReadFromTheScoringRoute(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `shadowproxy_scoring_db_round_trips_sum{route="cc-weights"} 40
shadowproxy_scoring_db_round_trips_count{route="cc-weights"} 40
shadowproxy_scoring_db_round_trips_sum{route="v2-score"} 30
shadowproxy_scoring_db_round_trips_count{route="v2-score"} 10
`)
	}))
	defer srv.Close()
	sum, count := metricSumCount(srv.URL, "shadowproxy_scoring_db_round_trips")
	if sum != 30 || count != 10 {
		t.Fatalf("sum %v count %v, want 30 and 10", sum, count)
	}
}
