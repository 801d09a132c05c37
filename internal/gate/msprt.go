// Package gate judges Go against Django from the evidence of live traffic and shadow runs,
// drops Go's share to 0 on its own when a gate turns red, and optionally ramps the share up a
// ladder while every gate passes. Evidence and decisions live in PostgreSQL (the proxy's own
// tables), so every replica decides alike.
package gate

import "math"

// Sequential test used by every gate: a discrete mixture of Bernoulli likelihood ratios.
//
// Each gate reduces to "the share θ of bad outcomes is at most θ0" (H0) against "it is larger".
// For an alternative θ1 > θ0 the likelihood ratio of n outcomes with s bad ones is
// (θ1/θ0)^s ((1-θ1)/(1-θ0))^(n-s); when the true θ ≤ θ0 its expectation per outcome,
// θ·θ1/θ0 + (1-θ)(1-θ1)/(1-θ0), is at most 1, so it is a non-negative supermartingale. An
// average of such ratios over a grid of alternatives is one too, and Ville's inequality gives
// P(the average ever reaches 1/α) ≤ α under H0, however often it is looked at. A gate is red
// when it does. Nothing about the data's timing or the number of looks enters the guarantee.

// mixtureGrid is the set of alternatives: θ0 multiplied by 1.25^k (k = 1..) up to 1, each
// with equal weight. Small effects get as much prior weight as large ones.
func mixtureGrid(theta0 float64) []float64 {
	var grid []float64
	for t := theta0 * 1.25; t < 1; t *= 1.25 {
		grid = append(grid, t)
		if len(grid) == 64 {
			break
		}
	}
	if len(grid) == 0 {
		grid = append(grid, (theta0+1)/2)
	}
	return grid
}

// LogEvidence is log of the mixture likelihood ratio for s bad outcomes out of n under the
// null share theta0 (0 < theta0 < 1). It is 0 without data.
func LogEvidence(n, s int64, theta0 float64) float64 {
	if n <= 0 || theta0 <= 0 || theta0 >= 1 {
		return 0
	}
	grid := mixtureGrid(theta0)
	logs := make([]float64, len(grid))
	maxLog := math.Inf(-1)
	for i, t := range grid {
		l := float64(s)*math.Log(t/theta0) + float64(n-s)*math.Log((1-t)/(1-theta0))
		logs[i] = l
		maxLog = math.Max(maxLog, l)
	}
	sum := 0.0
	for _, l := range logs {
		sum += math.Exp(l - maxLog)
	}
	return maxLog + math.Log(sum/float64(len(grid)))
}

// rejectsAt reports whether log evidence (LogEvidence's) rejects H0 at level alpha.
func rejectsAt(logEvidence, alpha float64) bool { return logEvidence >= math.Log(1/alpha) }
