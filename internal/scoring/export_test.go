package scoring

// Test hooks: the scenario tests live in scoring_test and reach these through scoring.
var (
	SHA256KeyHash = sha256KeyHash
)
