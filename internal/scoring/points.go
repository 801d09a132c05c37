package scoring

// Points are the points_data and possible_points_data objects of the response, as Django
// filled them before it stopped (spec 8.6). Returning them is a deliberate extension, off unless
// SHADOWPROXY_POINTS_IN_RESPONSE is on (with HUMAN_POINTS_ENABLED and the community in the
// program).
type Points struct {
	Points, Possible PointsData
}

// PointsData is one points object: get_user_points_data's or get_possible_points_data's.
type PointsData struct {
	Total      int64
	Eligible   bool
	Multiplier int64
	Breakdown  []ProviderPoints // in Django's order
}

// ProviderPoints is one breakdown entry: an action (with "_<chain>" for a chain) and its points.
type ProviderPoints struct {
	Key    string
	Points int64
}
