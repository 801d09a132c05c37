package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/scoring"
)

// sqlOf is each round trip's statements' text.
func sqlOf(trips []roundTrip) [][]string {
	out := make([][]string, len(trips))
	for i, t := range trips {
		for _, s := range t.statements {
			out[i] = append(out[i], s.sql)
		}
	}
	return out
}

// TestIOFloorReplaysTheScorersRoundTrips records a warm request's round trips, replays them
// through a recording pool, and finds the same round trips with the same statements, the write
// transaction committed (the replay's own recording holds it whole, without an error).
func TestIOFloorReplaysTheScorersRoundTrips(t *testing.T) {
	ctx := context.Background()
	dbURL, ds := seededDB(t)
	settings := scoring.Settings{TrustedIssuers: []string{ds.Issuer}, MultiNullifier: true}
	in := []scoring.Request{v2.NinjaRequest(&settings, strconv.FormatInt(ds.Community, 10), ds.Warm[0], http.Header{"X-Api-Key": {ds.APIKey}}, "", nil, "")}
	if _, err := recordTrips(ctx, dbURL, 1, scoreRecorded(settings, in)); err != nil { // the warm-up
		t.Fatal(err)
	}
	recorded, err := recordTrips(ctx, dbURL, 1, scoreRecorded(settings, in))
	if err != nil {
		t.Fatal(err)
	}
	if len(recorded[0]) != 3 {
		t.Fatalf("recorded %d round trips, want 3: %q", len(recorded[0]), sqlOf(recorded[0]))
	}
	for range 2 { // again: the replay leaves the rows as the request left them
		replayed, err := recordTrips(ctx, dbURL, 1, func(ctx context.Context, pool *pgxpool.Pool, _ int) error {
			return replayTrips(ctx, pool, recorded[0])
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sqlOf(replayed[0]), sqlOf(recorded[0]); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("replayed %q\nwant %q", got, want)
		}
	}
}

// TestIOFloorServesShadowproxysAnswer runs `bench -io-floor`'s server on a spec: an address of
// the spec gets its answer after the replay, any other path a 404.
func TestIOFloorServesShadowproxysAnswer(t *testing.T) {
	dbURL, ds := seededDB(t)
	settings := scoring.Settings{TrustedIssuers: []string{ds.Issuer}, MultiNullifier: true}
	in := []scoring.Request{v2.NinjaRequest(&settings, strconv.FormatInt(ds.Community, 10), ds.Warm[0], http.Header{"X-Api-Key": {ds.APIKey}}, "", nil, "")}
	if _, err := recordTrips(context.Background(), dbURL, 1, scoreRecorded(settings, in)); err != nil { // the warm-up
		t.Fatal(err)
	}
	answer := []byte(`{"address": "` + ds.Warm[0] + `", "score": "1"}`)
	spec, _ := json.Marshal(ioFloorSpec{Database: dbURL, Issuer: ds.Issuer, Community: ds.Community, APIKey: ds.APIKey, Answers: map[string][]byte{ds.Warm[0]: answer}})
	specPath := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specPath, spec, 0o600); err != nil {
		t.Fatal(err)
	}
	listen := FreeAddr()
	failed := make(chan error, 1)
	go func() { failed <- ServeIOFloor(listen, specPath) }()
	url := fmt.Sprintf("http://%s/v2/stamps/%d/score/%s", listen, ds.Community, ds.Warm[0])
	WaitReady(url)
	select {
	case err := <-failed:
		t.Fatalf("the I/O floor stopped: %v", err)
	default:
	}
	for _, c := range []struct {
		url    string
		status int
		body   string
	}{
		{url, http.StatusOK, string(answer)},
		{fmt.Sprintf("http://%s/v2/stamps/%d/score/%s", listen, ds.Community, ds.Warm[1]), http.StatusNotFound, "404 page not found\n"},
	} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || string(body) != c.body {
			t.Errorf("GET %s: %d %q, want %d %q", c.url, resp.StatusCode, body, c.status, c.body)
		}
	}
}
