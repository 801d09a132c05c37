package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"shadowproxy/internal/scoring"
)

// pbkdf2Key is Django's PBKDF2PasswordHasher encoding of "pbkdf2ke.secretsecret" (salt
// "saltsaltsalt", 1000 iterations).
const pbkdf2Key = "pbkdf2_sha256$1000$saltsaltsalt$gnxqoWM0jazDQSZWwojJ1iHKnuvGgEtXTfRUKr/doWw="

// sqlAPIKey finds a key by prefix, revoked ones only when $2 (the Lambda's authentication).
func TestAPIKeyLookup(t *testing.T) {
	db := newTestDB(t)
	account := db.accountOf(db.community("WEIGHTED", `{}`))
	db.apiKey(account, "live0001", "unused", scoring.HashAPIKey("live0001.secret"), false, nil)
	db.apiKey(account, "revoked1", "pbkdf2", "", true, nil)
	for _, c := range []struct {
		prefix  string
		revoked bool
		want    string
	}{
		{"live0001", false, fmt.Sprintf("live0001.unused unused %s %d 125/15m", scoring.HashAPIKey("live0001.secret"), account)},
		{"revoked1", false, ""},
		{"revoked1", true, fmt.Sprintf("revoked1.pbkdf2 pbkdf2  %d 125/15m", account)},
		{"unknown1", true, ""},
	} {
		var got []string
		for _, r := range db.rows(sqlAPIKey, c.prefix, c.revoked) {
			got = append(got, fmt.Sprint(r[0], " ", r[1], " ", r[2], " ", r[3], " ", r[4]))
		}
		if want := []string{c.want}; c.want == "" && len(got) != 0 || c.want != "" && !slices.Equal(got, want) {
			t.Errorf("%s (revoked %v): got %q, want %q", c.prefix, c.revoked, got, c.want)
		}
	}
}

// CheckPartnerKey reads every key of the prefix, revoked ones too, verifies SHA-256 or PBKDF2
// and plans the SHA-256 back-fill of a PBKDF2 key; sqlMigrateKey writes it.
func TestCheckPartnerKeyAndMigration(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	account := db.accountOf(db.community("WEIGHTED", `{}`))
	db.apiKey(account, "sha25601", "unused", scoring.HashAPIKey("sha25601.secret"), true, "10/m")
	db.apiKey(account, "pbkdf2ke", pbkdf2Key, "", false, nil)
	k, err := CheckPartnerKey(ctx, db.pool, "sha25601.secret")
	if err != nil || !k.Accepted || k.EmbedRateLimit == nil || *k.EmbedRateLimit != "10/m" || k.Migration != nil {
		t.Fatalf("revoked SHA-256 key: %+v %v", k, err)
	}
	if k, err := CheckPartnerKey(ctx, db.pool, "sha25601.wrong"); err != nil || k.Accepted {
		t.Fatalf("wrong secret: %+v %v", k, err)
	}
	if k, err := CheckPartnerKey(ctx, db.pool, "unknown1.secret"); err != nil || k.Accepted {
		t.Fatalf("unknown prefix: %+v %v", k, err)
	}
	k, err = CheckPartnerKey(ctx, db.pool, "pbkdf2ke.secretsecret")
	if err != nil || !k.Accepted || k.EmbedRateLimit != nil || k.Migration == nil {
		t.Fatalf("PBKDF2 key: %+v %v", k, err)
	}
	q := &labelledBatch{}
	queueWrites(q, k.Migration, true)
	if err := db.runQueued(q); err != nil {
		t.Fatal(err)
	}
	if got := db.rows(`SELECT hashed_key_sha256 FROM account_accountapikey WHERE prefix = 'pbkdf2ke'`); got[0][0] != scoring.HashAPIKey("pbkdf2ke.secretsecret") {
		t.Fatalf("back-fill: %v", got)
	}
	if k, err := CheckPartnerKey(ctx, db.pool, "pbkdf2ke.secretsecret"); err != nil || !k.Accepted || k.Migration != nil {
		t.Fatalf("after the back-fill: %+v %v", k, err)
	}
}

// sqlAnalytics writes the row with its JSON columns as JSON and the payload NULL or JSON.
func TestAnalyticsRow(t *testing.T) {
	db := newTestDB(t)
	account := db.accountOf(db.community("WEIGHTED", `{}`))
	db.apiKey(account, "live0001", "unused", "", false, nil)
	at := time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	q := &labelledBatch{}
	q.queue(analyticsSection, sqlAnalytics, "live0001.unused", at, "/v2/stamps/1/score/0x1", `["v2", "stamps"]`, `{"a": ["1"]}`,
		`{"X-Api-Key": "***"}`, `"{\"score\": \"1\"}"`, nil, 200, nil)
	q.queue(analyticsSection, sqlAnalytics, "live0001.unused", at, "/p", `[]`, `{}`, `{}`, `{}`, "boom", 500, new(`{"b": 2}`))
	if err := db.runQueued(q); err != nil {
		t.Fatal(err)
	}
	got := db.rows(`SELECT api_key_id, created_at, path, base_path IS NULL, path_segments, query_params, payload, headers, response,
  response_skipped, error, status_code FROM account_accountapikeyanalytics ORDER BY id`)
	want := [][]string{
		{"live0001.unused", "2025-01-02 03:04:05.678+00", "/v2/stamps/1/score/0x1", "t", `["v2", "stamps"]`, `{"a": ["1"]}`, "",
			`{"X-Api-Key": "***"}`, `"{\"score\": \"1\"}"`, "f", "", "200"},
		{"live0001.unused", "2025-01-02 03:04:05.678+00", "/p", "t", `[]`, `{}`, `{"b": 2}`, `{}`, `{}`, "f", "boom", "500"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
