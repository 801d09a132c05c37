package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestStakes(t *testing.T) {
	db := newTestDB(t)
	db.exec(`INSERT INTO stake_stake (chain, lock_time, unlock_time, last_updated_in_block, staker, stakee, current_amount) VALUES
 (1, '2024-01-02T03:04:05Z', '2024-04-02T03:04:05.25Z', 123456789012345678901234567890, $1, $1, 5.5),
 (10, '2024-01-02T03:04:05Z', '2024-04-02T03:04:05Z', 7, $2, $1, 0.000000000000000001),
 (1, '2024-01-02T03:04:05Z', '2024-04-02T03:04:05Z', 8, $2, $3, 1)`, addrA, addrB, addrC)
	describe := func(s Stake) string {
		return fmt.Sprintf("%d %s>%s %s %s %s %s", s.Chain, s.Staker[:4], s.Stakee[:4], s.Amount.String(),
			s.LockTime.UTC().Format(time.RFC3339Nano), s.UnlockTime.UTC().Format(time.RFC3339Nano), s.LastUpdatedInBlock)
	}
	for _, c := range []struct {
		address string
		want    []string
	}{
		// Made or received; numeric(78,18) keeps its scale; the block number's 30 digits whole.
		{addrA, []string{
			"1 0x5a>0x5a 5.500000000000000000 2024-01-02T03:04:05Z 2024-04-02T03:04:05.25Z 123456789012345678901234567890",
			"10 0xfb>0x5a 1E-18 2024-01-02T03:04:05Z 2024-04-02T03:04:05Z 7"}},
		{addrB, []string{
			"1 0xfb>0xdb 1.000000000000000000 2024-01-02T03:04:05Z 2024-04-02T03:04:05Z 8",
			"10 0xfb>0x5a 1E-18 2024-01-02T03:04:05Z 2024-04-02T03:04:05Z 7"}},
		{"0x0000000000000000000000000000000000000001", nil},
	} {
		stakes, err := Stakes(context.Background(), db.pool, c.address)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range stakes {
			got = append(got, describe(s))
		}
		slices.Sort(got) // no ORDER BY
		if !slices.Equal(got, c.want) {
			t.Fatalf("%s: got %q\nwant %q", c.address, got, c.want)
		}
	}
}

func TestLegacyStakeEvents(t *testing.T) {
	db := newTestDB(t)
	db.exec(`INSERT INTO registry_gtcstakeevent (id, event_type, round_id, staker, address, amount, staked, block_number, tx_hash) VALUES
 (1, 'SelfStake', 3, $1, NULL, 12.5, true, 100, '0xtx1'),
 (2, 'Xstake', 3, $2, $1, 0.0000001, false, 101, '0xtx2'),
 (3, 'SelfStake', 4, $1, NULL, 1, true, 102, '0xtx3'),
 (4, 'Xstake', 3, $2, $3, 1, true, 103, '0xtx4')`, addrA, addrB, addrC)
	describe := func(e LegacyStakeEvent) string {
		address := "-"
		if e.Address != nil {
			address = (*e.Address)[:4]
		}
		return fmt.Sprintf("%d %s r%d %s>%s %s %v b%d %s", e.ID, e.EventType, e.RoundID, e.Staker[:4], address, e.Amount.String(), e.Staked, e.BlockNumber, e.TxHash)
	}
	for _, c := range []struct {
		round   int64
		address string
		want    []string
	}{
		// Staked or received in the round; str(Decimal) of the stored numeric(78,18).
		{3, addrA, []string{"1 SelfStake r3 0x5a>- 12.500000000000000000 true b100 0xtx1", "2 Xstake r3 0xfb>0x5a 1.00000000000E-7 false b101 0xtx2"}},
		{4, addrA, []string{"3 SelfStake r4 0x5a>- 1.000000000000000000 true b102 0xtx3"}},
		{3, addrB, []string{"2 Xstake r3 0xfb>0x5a 1.00000000000E-7 false b101 0xtx2", "4 Xstake r3 0xfb>0xdb 1.000000000000000000 true b103 0xtx4"}},
		{5, addrA, nil},
	} {
		events, err := LegacyStakeEvents(context.Background(), db.pool, c.round, c.address)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			got = append(got, describe(e))
		}
		slices.Sort(got) // no ORDER BY
		if !slices.Equal(got, c.want) {
			t.Fatalf("round %d %s: got %q\nwant %q", c.round, c.address, got, c.want)
		}
	}
}
