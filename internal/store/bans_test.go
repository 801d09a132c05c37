package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// describeBan is a ban as one comparable line.
func describeBan(b Ban) string {
	end, reason := "-", "-"
	if b.EndTime != nil {
		end = b.EndTime.UTC().Format(time.RFC3339Nano)
	}
	if b.Reason != nil {
		reason = *b.Reason
	}
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s", b.Type, b.Provider, b.Hash, b.Address, end, reason)
}

func TestActiveBans(t *testing.T) {
	db := newTestDB(t)
	upperB := "0x" + strings.ToUpper(addrB[2:])
	db.exec(`INSERT INTO ceramic_cache_ban (type, provider, hash, address, end_time, reason, created_at) VALUES
 ('account', '', '', $1, NULL, 'sybil', now()),
 ('single_stamp', 'Google', '', $2, '2099-01-01T00:00:00Z', NULL, now()),
 ('hash', '', 'h-banned', '', '2099-01-01T00:00:00.123456Z', 'shared hash', now()),
 ('hash', '', 'h-other', '', NULL, NULL, now()),
 ('account', '', '', $3, '2001-01-01T00:00:00Z', 'expired', now())`, addrA, upperB, addrC)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		now     time.Time
		address string
		hashes  []string
		want    []string
	}{
		{"account ban, no hashes (no IN list)", now, addrA, nil, []string{"account|||" + addrA + "|-|sybil"}},
		{"address compared upper-cased, and a hash", now, addrB, []string{"h-banned", "h-none"},
			[]string{"hash||h-banned||2099-01-01T00:00:00.123456Z|shared hash", "single_stamp|Google||" + upperB + "|2099-01-01T00:00:00Z|-"}},
		{"an ended ban is not read", now, addrC, nil, nil},
		{"ended at now: bans that end later only", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), addrB, []string{"h-banned", "h-other"},
			[]string{"hash||h-banned||2099-01-01T00:00:00.123456Z|shared hash", "hash||h-other||-|-"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := &countingQuerier{Querier: db.pool}
			bans, err := ActiveBans(context.Background(), q, c.now, c.address, c.hashes)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range bans {
				got = append(got, describeBan(b))
			}
			slices.Sort(got) // no ORDER BY: PostgreSQL's order is not asserted
			if !slices.Equal(got, c.want) || q.batches != 1 {
				t.Fatalf("got %q in %d round trips\nwant %q in 1", got, q.batches, c.want)
			}
		})
	}
}
