package v2

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
