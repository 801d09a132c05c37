package store

import (
	"context"
	"strings"
	"testing"
)

func TestOnAllowList(t *testing.T) {
	db := newTestDB(t)
	db.exec(`INSERT INTO account_addresslist (id, name) VALUES (1, 'round-7'), (2, 'round-8')`)
	db.exec(`INSERT INTO account_addresslistmember (address, list_id) VALUES ($1, 1), ($2, 2)`, addrA, addrB)
	for _, c := range []struct {
		name, list, address string
		want                bool
	}{
		{"member", "round-7", addrA, true},
		{"member of another list", "round-7", addrB, false},
		{"unknown list", "nope", addrA, false},
		{"compared as given: the caller lower-cases", "round-7", strings.ToUpper(addrA), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := OnAllowList(context.Background(), db.pool, c.list, c.address)
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}
