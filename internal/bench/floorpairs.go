package bench

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// floorPairs is how many alternating floor/Go pairs a concurrency's ratio is the median of: on
// the shared two cores, single 10 s pairs put the 8-client throughput ratio anywhere between
// 0.59 and 0.84 in one afternoon.
const floorPairs = 3

// medianPair runs side (the floor, then the Go side, each on a vacuumed database) floorPairs
// times at clients and returns the pair whose ratio is the median, with every pair's ratio in
// the order run.
func medianPair(clients int, side func(clients int) (goSide, floorSide Result, err error), ratio func(goSide, floorSide Result) float64) (goSide, floorSide Result, ratios []float64, err error) {
	type pair struct {
		goSide, floorSide Result
		ratio             float64
	}
	var pairs []pair
	for range floorPairs {
		g, f, err := side(clients)
		if err != nil {
			return Result{}, Result{}, nil, err
		}
		pairs = append(pairs, pair{g, f, ratio(g, f)})
		ratios = append(ratios, ratio(g, f))
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.ratio, b.ratio) })
	m := pairs[len(pairs)/2]
	return m.goSide, m.floorSide, ratios, nil
}

// throughputRatio is the Go side's throughput over the floor's.
func throughputRatio(goSide, floorSide Result) float64 {
	return goSide.Throughput / floorSide.Throughput
}

// p50Ratio is the Go side's p50 over the floor's.
func p50Ratio(goSide, floorSide Result) float64 { return goSide.P50 / floorSide.P50 }

// floorNote lists the pairs' ratios (nil: that concurrency was not run).
func floorNote(p50At1, throughputAt8 []float64) string {
	list := func(xs []float64) string {
		texts := make([]string, len(xs))
		for i, x := range xs {
			texts[i] = fmt.Sprintf("%.3f", x)
		}
		return strings.Join(texts, ", ")
	}
	var parts []string
	if p50At1 != nil {
		parts = append(parts, "p50 ratios at 1 client "+list(p50At1))
	}
	parts = append(parts, "throughput ratios at 8 clients "+list(throughputAt8))
	return fmt.Sprintf("%d alternating pairs per concurrency (floor, then Go, each on a vacuumed database): %s; each figure is its median pair's",
		floorPairs, strings.Join(parts, "; "))
}
