package diff

import (
	"slices"
	"testing"
	"time"

	"shadowproxy/internal/scoring"
)

// Go's planned human points, against the rows the snapshot holds: an "if absent" row only when
// the address has no row of its action, another row only when that very row is not there, the
// qualified community only when it is not; nothing without a scored row.
func TestPlannedHumanPoints(t *testing.T) {
	at := time.Date(2026, 3, 4, 16, 35, 23, 0, time.UTC)
	ws := &scoring.WriteSet{Score: &scoring.ScoreRow{LastScoreTimestamp: &at}, HumanPoints: &scoring.HumanPointsWrites{
		QualifiedCommunity: 7,
		Rows: []scoring.HumanPointsRow{
			{Action: "HKY", TxHash: "v0:g", Provider: "Google"},
			{Action: "HKY", TxHash: "v0:e", Provider: "Ens"},
			{Action: "SCB", IfAbsent: true},
			{Action: "MM2", IfAbsent: true},
		},
	}}
	pre := &HumanPointsRows{Awarded: []string{"HKY|0|Google|v0:g", "SCB|0||"}, Qualified: []int64{3}}
	got := plannedHumanPoints(ws, pre)
	want := map[string]any{"awarded": map[string]any{"HKY|0|Ens|v0:e": true, "MM2|0||": true}, "qualified": map[string]any{"7": true}}
	if fields := compareValues("p", want, got, nil); len(fields) == 0 || !allEqual(fields) {
		t.Fatalf("planned %v, want %v", got, want)
	}
	pre.Qualified = append(pre.Qualified, 7)
	if q := plannedHumanPoints(ws, pre)["qualified"].(map[string]any); len(q) != 0 {
		t.Fatalf("already qualified: %v", q)
	}
	// SCB as the store decides it: the snapshot's qualified communities with this request's
	// own reaching BonusAt, whatever the plan's SCB row says
	ws.HumanPoints.BonusAt = 2
	pre = &HumanPointsRows{Qualified: []int64{3}}
	if a := plannedHumanPoints(ws, pre)["awarded"].(map[string]any); !a["SCB|0||"].(bool) {
		t.Fatalf("two communities with BonusAt 2: %v", a)
	}
	ws.HumanPoints.Rows = slices.DeleteFunc(ws.HumanPoints.Rows, func(r scoring.HumanPointsRow) bool { return r.Action == "SCB" })
	if a := plannedHumanPoints(ws, pre)["awarded"].(map[string]any); a["SCB|0||"] == nil {
		t.Fatalf("no SCB row planned, the count reaching BonusAt: %v", a)
	}
	ws.HumanPoints.BonusAt = 3
	ws.HumanPoints.Rows = append(ws.HumanPoints.Rows, scoring.HumanPointsRow{Action: "SCB", IfAbsent: true})
	if a := plannedHumanPoints(ws, pre)["awarded"].(map[string]any); a["SCB|0||"] != nil {
		t.Fatalf("an SCB row planned, the count short of BonusAt: %v", a)
	}
	ws.Score.LastScoreTimestamp = nil // an in-band error: the store writes no human points
	if a := plannedHumanPoints(ws, pre)["awarded"].(map[string]any); len(a) != 0 {
		t.Fatalf("no scored row: %v", a)
	}
}

func allEqual(fields []Field) bool {
	for _, f := range fields {
		if f.Class != Equal {
			return false
		}
	}
	return true
}
