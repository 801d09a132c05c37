package bench

import (
	"context"
	"strings"
	"testing"

	"shadowproxy/internal/pgtest"
)

// The floor figures come from the pair whose ratio is the median of the alternating pairs, and
// the note lists every pair's ratio in the order run.
func TestMedianPairTakesTheMedianRatiosPair(t *testing.T) {
	throughputs := [][2]float64{{500, 800}, {700, 800}, {600, 800}} // Go, floor per pair: 0.625, 0.875, 0.75
	runs := 0
	side := func(clients int) (Result, Result, error) {
		if clients != 8 {
			t.Fatalf("side ran at %d clients", clients)
		}
		p := throughputs[runs]
		runs++
		return Result{Scenario: "go", Throughput: p[0]}, Result{Scenario: "floor", Throughput: p[1]}, nil
	}
	goSide, floorSide, ratios, err := medianPair(8, side, throughputRatio)
	if err != nil {
		t.Fatal(err)
	}
	if runs != floorPairs || len(ratios) != floorPairs {
		t.Fatalf("%d pairs run, %d ratios; want %d", runs, len(ratios), floorPairs)
	}
	if goSide.Throughput != 600 || floorSide.Throughput != 800 {
		t.Errorf("median pair %v/%v, want 600/800", goSide.Throughput, floorSide.Throughput)
	}
	note := floorNote([]float64{1.1, 1.3, 1.2}, ratios)
	for _, want := range []string{"p50 ratios at 1 client 1.100, 1.300, 1.200", "throughput ratios at 8 clients 0.625, 0.875, 0.750"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
}

// The start-up figure is the median of the samples, which the note lists in order.
func TestStartupNoteListsEverySample(t *testing.T) {
	samples := []float64{54.9, 41.4, 28.7, 27.1, 30.5}
	if m := median(samples); m != 30.5 {
		t.Errorf("median %v, want 30.5", m)
	}
	if note := startupNote(samples); !strings.Contains(note, "54.9, 41.4, 28.7, 27.1, 30.5 ms") || !strings.Contains(note, "median 30.5 ms") {
		t.Errorf("note %q", note)
	}
}

// The host's start-up parts are measured for real: a binary that runs and exits, and sessions
// on a real server; a binary that fails is an error, not a figure.
func TestStartupHostMeasuresExecAndASession(t *testing.T) {
	ctx := context.Background()
	server := pgtest.ServerURL(t)
	execMS, connectMS, err := startupHost(ctx, server, "/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if execMS <= 0 || connectMS <= 0 {
		t.Errorf("exec %v ms, session %v ms: both must be measured", execMS, connectMS)
	}
	if _, _, err := startupHost(ctx, server, "/bin/false"); err == nil {
		t.Error("a binary that fails gave figures")
	}
}
