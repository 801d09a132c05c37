package scoring

import (
	"time"
)

// providerActions maps ceramic-cache providers to the human-points action they earn.
var providerActions = map[string]string{
	"SelfStakingBronze":          "ISB",
	"SelfStakingSilver":          "ISS",
	"SelfStakingGold":            "ISG",
	"BeginnerCommunityStaker":    "CSB",
	"ExperiencedCommunityStaker": "CSE",
	"TrustedCitizen":             "CST",
	"HolonymGovIdProvider":       "HGO",
	"HolonymPhone":               "HPH",
	"CleanHands":                 "HCH",
	"Biometrics":                 "HBI",
}

// Address lists that award points, and the MetaMask OG 2 cap.
const (
	listMetaMaskOG2   = "MetaMaskOG2"
	listSeasonedOGs   = "SeasonedPassportOGs"
	listChosenOnes    = "TheChosenOnes"
	metaMaskOG2Limit  = 5000
	qualifiedForBonus = 4
)

// humanPointsDue mirrors ascore_passport's gate: the write flag, the community's program, a
// passing binary score and the start time.
func humanPointsDue(s *Settings, program, passing bool, now time.Time) bool {
	return s.HumanPointsWrite && program && passing && float64(now.UnixNano())/1e9 >= float64(s.HumanPointsStart)
}

// awardHumanPoints mirrors arecord_passing_score, arecord_stamp_actions,
// acheck_and_award_scoring_bonus and acheck_and_award_misc_points for a passing score.
// kept indexes the kept stamps in stamps.
func awardHumanPoints(address string, community int64, stamps []validStamp, kept []int, st HumanPointsState, s *Settings) *HumanPointsWrites {
	w := &HumanPointsWrites{Address: address, BonusAt: qualifiedForBonus}
	if !st.Qualified[community] {
		w.QualifiedCommunity = community
	}
	for _, i := range kept {
		k := &stamps[i]
		// A human-keys stamp: credentialSubject.nullifiers is an array with a truthy item and
		// the (always truthy, validated) provider has no HKY action yet; the transaction hash is
		// the last non-empty string nullifier.
		if last := k.facts.LastNullifier(); last != "" && !st.HKYProviders[k.facts.Provider()] {
			w.Rows = append(w.Rows, HumanPointsRow{Action: "HKY", TxHash: last, Provider: k.facts.Provider()})
		}
		if action, ok := providerActions[k.provider]; ok {
			w.Rows = append(w.Rows, HumanPointsRow{Action: action})
		}
	}
	qualifiedCount := len(st.Qualified)
	if w.QualifiedCommunity != 0 {
		qualifiedCount++
	}
	if qualifiedCount >= qualifiedForBonus {
		w.Rows = append(w.Rows, HumanPointsRow{Action: "SCB", IfAbsent: true})
	}
	if s.HumanPointsMTA && st.Lists[listMetaMaskOG2] && st.MM2Count < metaMaskOG2Limit {
		w.Rows = append(w.Rows, HumanPointsRow{Action: "MM2", IfAbsent: true})
	}
	if st.Lists[listSeasonedOGs] {
		w.Rows = append(w.Rows, HumanPointsRow{Action: "SOG", IfAbsent: true})
	}
	if st.Lists[listChosenOnes] {
		w.Rows = append(w.Rows, HumanPointsRow{Action: "TCO", IfAbsent: true})
	}
	return w
}

// HumanPointsError is a failure of the human-points writes; Django turns it into an in-band
// ERROR score whose error is Message (the database's message, as psycopg's str() gives it).
type HumanPointsError struct {
	Err     error
	Message string
}

// Error is the database error's text.
func (e *HumanPointsError) Error() string { return e.Err.Error() }

// Unwrap is the database error.
func (e *HumanPointsError) Unwrap() error { return e.Err }
