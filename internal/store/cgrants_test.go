package store

import (
	"context"
	"fmt"
	"testing"
)

func TestContributorStatistics(t *testing.T) {
	db := newTestDB(t)
	db.exec(`INSERT INTO cgrants_profile (id, handle, data) VALUES (1, 'p', '{}')`)
	db.exec(`INSERT INTO cgrants_grant (id, hidden, active, is_clr_eligible, data, admin_profile_id) VALUES (1, false, true, true, '{}', 1), (2, false, true, true, '{}', 1)`)
	db.exec(`INSERT INTO cgrants_subscription (id, data, grant_id, is_mainnet) VALUES (1, '{}', 1, true)`)
	db.exec(`INSERT INTO cgrants_contribution (id, data, subscription_id, success, amount_per_period_usdt) VALUES (1, '{}', 1, true, 0), (2, '{}', 1, false, 0)`)
	// addrA: three successful index rows over grants 1 and 2, one on a failed contribution;
	// addrB: only a failed one.
	db.exec(`INSERT INTO cgrants_grantcontributionindex (amount, contribution_id, grant_id, profile_id, contributor_address) VALUES
 (10.125, 1, 1, 1, $1), (5, 1, 2, 1, $1), (1, 1, 1, 1, $1), (100, 2, 2, 1, $1), (7, 2, 1, 1, $2)`, addrA, addrB)
	db.exec(`INSERT INTO cgrants_squelchedaccounts (address, score_when_squelched, sybil_signal, round_number) VALUES ($1, 0, true, '18')`, addrA)
	db.exec(`INSERT INTO cgrants_roundmapping (round_number, round_eth_address) VALUES ('18', '0xsquelched')`)
	// Protocol: 0.949999999999999999 counts (the float 0.95's Decimal is below it), 0.94 does
	// not, nor does a round addrA is squelched in.
	db.exec(`INSERT INTO cgrants_protocolcontributions (ext_id, contributor, round, project, amount, data) VALUES
 ('e1', $1, '0xround', 'proj1', 2.0004, '{}'), ('e2', $1, '0xround', 'proj1', 1, '{}'), ('e3', $1, '0xround', 'proj2', 0.95, '{}'),
 ('e4', $1, '0xround', 'proj3', 0.949999999999999999, '{}'), ('e5', $1, '0xsquelched', 'proj4', 50, '{}'),
 ('e6', $1, '0xround', 'proj5', 0.94, '{}'), ('e7', $2, '0xsquelched', 'proj1', 3, '{}')`, addrA, addrB)
	show := func(tt ContributorTotals) string {
		amount, protocol := "nil", "nil"
		if tt.Amount != nil {
			amount = tt.Amount.String()
		}
		if tt.ProtocolAmount != nil {
			protocol = tt.ProtocolAmount.String()
		}
		return fmt.Sprintf("contributions=%d grants=%d amount=%s protocol=%s projects=%d", tt.Contributions, tt.Grants, amount, protocol, tt.ProtocolProjects)
	}
	for _, c := range []struct {
		address string
		want    string
		batches int // Django's statements: five with contributions, three without
	}{
		{addrA, "contributions=3 grants=2 amount=16.125000000000000000 protocol=4.900399999999999999 projects=3", 5},
		{addrB, "contributions=0 grants=0 amount=nil protocol=3.000000000000000000 projects=1", 3},
		{addrC, "contributions=0 grants=0 amount=nil protocol=nil projects=0", 3},
	} {
		q := &countingQuerier{Querier: db.pool}
		got, err := ContributorStatistics(context.Background(), q, c.address)
		if err != nil {
			t.Fatal(err)
		}
		if show(got) != c.want || q.batches != c.batches {
			t.Fatalf("%s: got %s in %d round trips\nwant %s in %d", c.address, show(got), q.batches, c.want, c.batches)
		}
	}
}
