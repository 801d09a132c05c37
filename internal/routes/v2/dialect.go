package v2

import (
	"fmt"
	"strings"

	"shadowproxy/internal/route"
)

// Dialect is which of Django's two front ends a route answers as (route.Dialect).
type Dialect = route.Dialect

// The dialects of the v2 score route.
const (
	// Ninja is the Django-Ninja route behind ASGI (api/v2/api/api_stamps.py): what a sidecar
	// in front of the ASGI app must answer.
	Ninja = route.Ninja
	// Lambda is the Python Lambda the ALB sends /v2/stamps/*/score/* to in production.
	Lambda = route.Lambda
)

// ParseDialect reads a dialect setting; "" is def.
func ParseDialect(s string, def Dialect) (Dialect, error) {
	switch d := Dialect(strings.ToLower(strings.TrimSpace(s))); d {
	case "":
		return def, nil
	case Ninja, Lambda:
		return d, nil
	}
	return "", fmt.Errorf("dialect %q: want ninja or lambda", s)
}

// MatchesLambdaRoute reports whether the ALB sends path to Django's score Lambda: its listener
// rule /v2/stamps/*/score/* (priority 2112) matches and the more specific
// /v2/stamps/*/score/*/history (priority 2111, the ASGI app) does not
// (infra/lib/scorer/routing-rules.ts). Whatever text stands in the scorer id's place.
func MatchesLambdaRoute(path string) bool {
	return albPathMatch("/v2/stamps/*/score/*", path) && !albPathMatch("/v2/stamps/*/score/*/history", path)
}

// albPathMatch is an ALB path-pattern condition: case-sensitive, "*" matches any run of
// characters ("/" included, possibly none) and "?" exactly one.
func albPathMatch(pattern, path string) bool {
	p, s := 0, 0
	star, mark := -1, 0
	for s < len(path) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == path[s]):
			p++
			s++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, s
			p++
		case star >= 0:
			mark++
			p, s = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
