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

// The whole process's allocation per request is the runtime counters' growth over the
// requests, in KB and objects; nothing is reported without requests or a scrape.
func TestProcessAllocsPerRequest(t *testing.T) {
	before := "go_memstats_alloc_bytes_total 1.048576e+06\ngo_memstats_mallocs_total 5000\ngo_memstats_alloc_bytes 99\n"
	after := "go_memstats_alloc_bytes_total 3.145728e+06\ngo_memstats_mallocs_total 25000\ngo_memstats_alloc_bytes 7\n"
	rep := &Report{Figures: map[string]float64{}}
	processAllocs(rep, Result{Requests: 100}, before, after)
	if kb, n := rep.Figures["process_alloc_kb_per_req_warm"], rep.Figures["process_allocs_per_req_warm"]; kb != 20.48 || n != 200 {
		t.Fatalf("%v KB and %v allocations per request, want 20.48 and 200", kb, n)
	}
	for _, c := range []struct {
		requests      int64
		before, after string
	}{{0, before, after}, {100, "", after}, {100, before, ""}} {
		rep := &Report{Figures: map[string]float64{}}
		processAllocs(rep, Result{Requests: c.requests}, c.before, c.after)
		if len(rep.Figures) != 0 {
			t.Errorf("requests %d, scrapes %q/%q: figures %v, want none", c.requests, c.before, c.after, rep.Figures)
		}
	}
}
